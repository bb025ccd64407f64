"""Training learners with TRL: SFT, DPO and DAPO on a course's dialogs.

- :mod:`agents.training.config`: ``StudentGymArguments`` + TRL configs, ``TrlParser``, recipes.
- :mod:`agents.training.sft`, :mod:`~agents.training.dpo`, :mod:`~agents.training.dapo`:
  ``train_sft/train_dpo/train_dapo(script_args, training_args, model_args) -> output dir``.
- :mod:`agents.training.env_reward`: DAPO rewards computed by StudentProgramming-v0.

Modules import torch/TRL lazily; ``student-gym train sft|dpo|dapo`` is the command line.
"""

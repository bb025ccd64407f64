"""Training learners with TRL: SFT, DPO and DAPO on a course's dialogs.

- :mod:`student_gym_agents.training.config`: ``StudentGymArguments`` + TRL configs, ``TrlParser``, recipes.
- :mod:`student_gym_agents.training.sft`, :mod:`~student_gym_agents.training.dpo`, :mod:`~student_gym_agents.training.dapo`:
  ``train_sft/train_dpo/train_dapo(script_args, training_args, model_args) -> output dir``.
- :mod:`student_gym_agents.training.env_reward`: DAPO rewards computed by StudentProgramming-v0.

Modules import torch/TRL lazily; ``student-gym train sft|dpo|dapo`` is the command line.
"""

"""Training configuration: our data arguments beside TRL's trainer configs and ``ModelConfig``.

A run is configured by three dataclasses, parsed together by TRL's ``TrlParser`` (command-line
flags, and YAML files through ``--config``):

- ``StudentGymArguments`` (below): which course, split and dialog style to train on, where
  DPO starts from, the DAPO reward.
- ``trl.SFTConfig`` / ``trl.DPOConfig`` / ``trl.GRPOConfig``: the trainer (lr, steps, lengths,
  checkpoints, logging, loss type...).
- ``trl.ModelConfig``: the model, LoRA (``use_peft``, ``lora_r``, ``lora_alpha``...) and
  QLoRA (``load_in_4bit``).

The paper's recipes are YAML files in ``agents/recipes/`` (``--recipe qwen3-4b-sft``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

METHODS = ("sft", "dpo", "dapo")


@dataclass
class StudentGymArguments:
    """What to train on: the course, the split and how dialogs are serialized."""

    course: str | None = field(
        default=None,
        metadata={"help": "Course to train on (native format directory or file); the bundled "
                  "sample course when omitted."},
    )
    split: str = field(
        default="train",
        metadata={"help": "Course split to train on ('train' terms; evaluation uses 'test')."},
    )
    validation_split: str = field(
        default="validation",
        metadata={"help": "SFT/DPO: split whose loss selects the checkpoint kept (lowest "
                  "validation loss, evaluated at every save); '' to train without it."},
    )
    feedback_level: str = field(
        default="summary",
        metadata={"help": "Grader feedback shown in the dialogs: none | grade | summary | detailed.",
                  "choices": ["none", "grade", "summary", "detailed"]},
    )
    para: bool = field(
        default=False,
        metadata={"help": "PARA baseline: neutral feedback turns and a system prompt saying no test "
                  "feedback is given."},
    )
    max_samples: int | None = field(
        default=None,
        metadata={"help": "Use at most this many training rows (after a seeded shuffle)."},
    )
    max_prompt_tokens: int | None = field(
        default=None,
        metadata={"help": "Prompt budget: longer dialogs lose their oldest (program, feedback) "
                  "turns, never the system prompt and statement. Default: max_length minus "
                  "room for the reply (SFT/DPO), or 3072 (DAPO)."},
    )
    init_from: str | None = field(
        default=None,
        metadata={"help": "DPO/DAPO start: an SFT output directory. A LoRA adapter is merged into "
                  "the base model first and a fresh LoRA is trained on top, so the reference "
                  "model is the SFT model; a full model directory is used as the base itself."},
    )
    reward: str = field(
        default="dapo+overlong",
        metadata={"help": "DAPO reward terms of student_gym.env.rewards.make_reward, joined by '+' "
                  "('dapo', 'overlong', 'grade', 'format', ...)."},
    )
    overlong_cache_tokens: int = field(
        default=256,
        metadata={"help": "DAPO soft over-length penalty: the last this many tokens before "
                  "max_completion_length are penalised linearly."},
    )
    grader_workers: int | None = field(
        default=None,
        metadata={"help": "Parallel grader workers for DAPO rewards (all cores when omitted)."},
    )
    enable_thinking: bool = field(
        default=False,
        metadata={"help": "Passed to the chat template; keep False for hybrid Qwen3 models so they "
                  "answer without a thinking block (Qwen3-8B)."},
    )


def trainer_config_class(method: str):
    """Return the TRL config dataclass of a training method."""
    from trl import DPOConfig, GRPOConfig, SFTConfig

    classes = {"sft": SFTConfig, "dpo": DPOConfig, "dapo": GRPOConfig}
    if method not in classes:
        raise ValueError(f"unknown training method {method!r}; choose one of {', '.join(METHODS)}")
    return classes[method]


# Our defaults where TRL's do not fit this project: LoRA on, no external loggers, regular
# checkpoints that can be resumed, and DAPO's loss settings from the paper.
COMMON_DEFAULTS: dict[str, object] = {
    "use_peft": True,
    "lora_r": 8,
    "lora_alpha": 16,
    "lora_dropout": 0.05,
    "report_to": "none",
    "logging_steps": 10,
    "save_strategy": "steps",
    "save_steps": 200,
    "save_total_limit": 2,
    "seed": 0,
}
METHOD_DEFAULTS: dict[str, dict[str, object]] = {
    "sft": {"output_dir": "runs/sft", "learning_rate": 1e-4, "completion_only_loss": True},
    "dpo": {"output_dir": "runs/dpo", "learning_rate": 1e-5, "beta": 0.5,
            "loss_type": ["sigmoid"]},
    "dapo": {"output_dir": "runs/dapo", "learning_rate": 1e-5, "loss_type": "dapo",
             "epsilon_high": 0.28, "mask_truncated_completions": True, "beta": 0.0,
             "num_generations": 4, "max_completion_length": 1024},
}


def build_parser(method: str):
    """Return a ``TrlParser`` for (StudentGymArguments, trainer config, ModelConfig) of ``method``."""
    from trl import ModelConfig, TrlParser

    parser = TrlParser(
        (StudentGymArguments, trainer_config_class(method), ModelConfig),
        prog=f"student-gym train {method}",
        description=f"Train a learner with {method.upper()} (TRL) on a course's dialogs. "
        "Flags come from StudentGymArguments, TRL's "
        f"{trainer_config_class(method).__name__} and ModelConfig; --config FILE.yaml or "
        "--recipe NAME set their defaults.",
    )
    parser.set_defaults(**COMMON_DEFAULTS, **METHOD_DEFAULTS[method])
    return parser


def recipes_dir() -> Path:
    """Directory of the shipped recipe files (``agents/recipes``)."""
    return Path(str(resources.files("student_gym_agents") / "recipes"))


def available_recipes() -> list[str]:
    """Names of the shipped recipes (file names without ``.yaml``)."""
    return sorted(p.stem for p in recipes_dir().glob("*.yaml"))


def recipe_path(name: str) -> Path:
    """Path of a shipped recipe, or of a YAML file given by path."""
    candidate = Path(name)
    if candidate.suffix in (".yaml", ".yml") and candidate.is_file():
        return candidate
    path = recipes_dir() / f"{name}.yaml"
    if not path.is_file():
        raise FileNotFoundError(
            f"no recipe {name!r}; shipped recipes: {', '.join(available_recipes())}"
        )
    return path


def parse_train_args(method: str, argv: list[str]):
    """Parse ``argv`` (flags after ``student-gym train METHOD``) into the three configs.

    ``--recipe NAME`` is turned into ``--config agents/recipes/NAME.yaml``; flags on the
    command line override the recipe, which overrides the defaults.

    Returns:
        ``(StudentGymArguments, trainer config, trl.ModelConfig)``.
    """
    argv = list(argv)
    if "--recipe" in argv:
        at = argv.index("--recipe")
        if at + 1 >= len(argv):
            raise ValueError(f"--recipe needs a name; shipped recipes: {', '.join(available_recipes())}")
        argv[at : at + 2] = ["--config", str(recipe_path(argv[at + 1]))]
    script_args, training_args, model_args = build_parser(method).parse_args_and_config(argv)
    warn_emulated_bf16(training_args)
    return script_args, training_args, model_args


def warn_emulated_bf16(training_args) -> bool:
    """Warn when a run would train under bf16 autocast on a CPU that only emulates bf16.

    TRL's configs default to ``bf16=True``. On a CPU without AVX512-BF16 or AMX (an AVX2
    laptop or VM) every matmul then runs in emulated bf16, ~40x slower than fp32
    (``benchmarks/demo_sft_step.py``). Returns whether it warned.
    """
    import torch

    on_cpu = training_args.use_cpu or not torch.cuda.is_available()
    if not (on_cpu and training_args.bf16):
        return False
    native = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    if any(getattr(torch.cpu, probe, lambda: False)() for probe in native):
        return False
    logging.getLogger("student_gym.training").warning(
        "training on a CPU without native bf16 (no AVX512-BF16/AMX) with bf16=True: every "
        "matmul is emulated, ~40x slower than fp32; pass --bf16 false"
    )
    return True

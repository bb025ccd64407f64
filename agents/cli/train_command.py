"""``student-gym train sft|dpo|dapo``: train a learner with TRL on a course's dialogs.

Everything after the method is parsed by TRL's ``TrlParser`` into our ``StudentGymArguments``,
TRL's ``SFTConfig``/``DPOConfig``/``GRPOConfig`` and ``ModelConfig``; ``--recipe NAME`` loads one
of the paper's recipes (``agents/recipes/NAME.yaml``), ``--config FILE.yaml`` any other file.
``student-gym train sft --help`` lists every flag with its help.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

METHODS = ("sft", "dpo", "dapo")


def add_parser(subparsers, help_text: str) -> None:
    """Register the ``train`` subcommand."""
    parser = subparsers.add_parser(
        "train",
        help=help_text,
        description="Train a learner with SFT, DPO or DAPO (TRL). Flags after the method are "
        "TRL's: see `student-gym train sft --help`. Recipes: --recipe qwen3-4b-sft, "
        "qwen3-4b-dpo, qwen3-4b-dapo, qwen3-8b-sft, ... (`student-gym train recipes` lists them).",
    )
    parser.add_argument(
        "method",
        choices=[*METHODS, "recipes"],
        help="training method, or 'recipes' to list the shipped recipes",
    )
    parser.add_argument(
        "options",
        nargs=argparse.REMAINDER,
        help="TrlParser flags: --model_name_or_path, --output_dir, --recipe, ...",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Parse the method's flags, train, and print where the result was written."""
    from student_gym_agents.training.config import available_recipes, parse_train_args

    if args.method == "recipes":
        for name in available_recipes():
            print(name)
        return 0
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        script_args, training_args, model_args = parse_train_args(args.method, args.options)
    except (ValueError, FileNotFoundError) as exc:
        print(f"student-gym train {args.method}: {exc}", file=sys.stderr)
        return 2
    if args.method == "dapo":
        # DAPO rewards come from the grader: refuse a course without tests before loading a model.
        from student_gym.course.model import require_tests
        from student_gym_agents.training.runs import load_course

        try:
            require_tests(load_course(script_args), "train dapo")
        except ValueError as exc:  # NoTestsError, or an unreadable course
            print(f"student-gym train dapo: {exc}", file=sys.stderr)
            return 2
    trainers = {"sft": "train_sft", "dpo": "train_dpo", "dapo": "train_dapo"}
    module = importlib.import_module(f"student_gym_agents.training.{args.method}")
    try:
        out = getattr(module, trainers[args.method])(script_args, training_args, model_args)
    except (ValueError, FileNotFoundError, RuntimeError) as exc:
        print(f"student-gym train {args.method}: {exc}", file=sys.stderr)
        return 1
    print(f"{args.method.upper()} model written to {out}")
    return 0

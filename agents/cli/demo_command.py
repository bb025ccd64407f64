"""``student-gym demo``: the whole method on the bundled course, offline, on CPU (``make demo``)."""

from __future__ import annotations

import argparse
from dataclasses import replace


def add_parser(subparsers, help_text: str) -> None:
    """Register the ``demo`` subcommand."""
    parser = subparsers.add_parser(
        "demo",
        help=help_text,
        description="Build a tiny Qwen3 learner, train it with PARA, SFT and DPO on the bundled "
        "course's training term, evaluate BASE/PARA/SFT/DPO/novice/replay on the held-out term "
        "with the 5-step rollout, print the table and save the plot. Offline, CPU, ~10 min on 2 cores.",
    )
    parser.add_argument("--out", default="runs/demo", help="output directory (default runs/demo)")
    parser.add_argument("--quick", action="store_true",
                        help="a seconds-long smoke run (tiny budget; numbers mean nothing)")
    parser.add_argument("--sft-steps", type=int, default=None, help="SFT/PARA training steps")
    parser.add_argument("--dpo-steps", type=int, default=None, help="DPO training steps")
    parser.add_argument("--eval-students", type=int, default=None,
                        help="held-out students to evaluate, drawn with --seed (0: all)")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (default: all cores but one, at least 1)")
    parser.add_argument("--seed", type=int, default=None, help="seed of model init and training")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the demo with the chosen budget."""
    import torch

    from student_gym_agents.demo import FULL, QUICK, run_demo

    torch.set_num_threads(args.threads or demo_threads(torch.get_num_threads()))
    settings = QUICK if args.quick else FULL
    overrides = {
        "sft_steps": args.sft_steps,
        "dpo_steps": args.dpo_steps,
        "seed": args.seed,
    }
    settings = replace(settings, **{k: v for k, v in overrides.items() if v is not None})
    if args.eval_students is not None:
        settings = replace(settings, eval_students=args.eval_students or None)
    run_demo(args.out, settings)
    return 0


def demo_threads(cores: int) -> int:
    """Torch threads for the demo: every core but one, which the grader and the OS keep.

    Torch's OpenMP threads wait for each other at the end of every op. When another process
    takes one of their cores they wait a whole scheduler slice each time: on a busy 2-core
    machine, evaluating BASE on 32 held-out trajectories took 366 s with two threads and
    111 s with one.
    """
    return max(1, cores - 1)

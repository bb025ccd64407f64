"""The ``student-gym`` command: the one composition root of student_gym and agents.

Each subcommand lives in its own module ``student_gym_agents.cli.<name>_command`` exposing
``add_parser(subparsers)`` (which registers the subcommand and sets ``func``) and is imported
lazily, so ``student-gym grade`` never imports torch. A command that needs an extra that is not
installed (``train`` needs ``train``, ``--agent api:...`` needs ``api``) fails with one line
naming the extra and exit status 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from student_gym.extras import missing_extra

# name -> one-line help; the module student_gym_agents.cli.<name>_command implements it.
COMMANDS: dict[str, str] = {
    "grade": "grade one program against an assignment and print the verdict/feedback",
    "import": "import course logs (FalconCode, ProgSnap2, native JSONL) into a course",
    "course": "course statistics (lengths, statuses, distinct programs), alone or compared",
    "regrade": "re-run every logged submission of a course through the grader",
    "serialize": "turn a course into SFT and DPO datasets (conversational or PARA)",
    "evaluate": "run the 5-step rollout evaluation of an agent on a course",
    "report": "write one static HTML page of evaluation runs (tables, plots, episodes)",
    "train": "train a learner with SFT, DPO or DAPO (TRL)",
    "demo": "the whole method on the bundled course, offline, on CPU",
    "bench": "run the throughput benchmarks",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="student-gym",
        description="Artificial programming students: grade programs, import course logs, "
        "serialize dialogs, train learners (SFT/DPO/DAPO) and evaluate them in "
        "StudentProgramming-v0.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    argv = sys.argv[1:]
    wanted = next((a for a in argv if not a.startswith("-")), None)
    for name, help_text in COMMANDS.items():
        if wanted is not None and wanted != name:
            # Only the chosen command's module is imported (keeps `grade` free of torch).
            sub.add_parser(name, help=help_text)
            continue
        importlib.import_module(f"student_gym_agents.cli.{name}_command").add_parser(sub, help_text)
    return parser


def main(argv: list[str] | None = None) -> int:
    if argv is not None:
        sys.argv = [sys.argv[0], *argv]
    parser = build_parser()
    args = parser.parse_args(sys.argv[1:])
    if not getattr(args, "func", None):
        parser.print_help()
        return 0 if args.command is None else 2
    try:
        return int(args.func(args) or 0)
    except ModuleNotFoundError as exc:
        if (line := missing_extra(exc)) is None:
            raise  # not an optional dependency: a real bug, shown as it is
        print(f"student-gym {args.command}: {line}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

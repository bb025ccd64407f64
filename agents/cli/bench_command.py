"""``student-gym bench``: run the throughput benchmarks in ``benchmarks/`` and print their ratios.

Examples::

    student-gym bench --list
    student-gym bench grader_throughput --bench-args "--no-course"
    student-gym bench                       # every benchmark, one after another
    student-gym bench --isolation           # only the grader's isolation report (JSON)

Each benchmark runs as its own ``python benchmarks/<name>.py`` process (so each gets its own
fork server and a clean memory footprint). Exit status: 0 when every selected benchmark
finished, 1 when one failed, 2 for an unknown name or a missing ``benchmarks/`` directory.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
from pathlib import Path

# The benchmarks live beside the packages in a source checkout (they are not installed).
BENCHMARKS_DIR = Path(__file__).resolve().parents[2] / "benchmarks"
KNOWN = ("grader_throughput", "env_overhead", "rollout_throughput")


def add_parser(subparsers: argparse._SubParsersAction, help_text: str) -> None:
    parser = subparsers.add_parser(
        "bench",
        help=help_text,
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "names",
        nargs="*",
        metavar="NAME",
        help=f"benchmarks to run (default: all present; known: {', '.join(KNOWN)})",
    )
    parser.add_argument("--list", action="store_true", help="list the benchmarks present and exit")
    parser.add_argument(
        "--bench-args",
        default="",
        metavar="ARGS",
        help="extra arguments passed to every selected benchmark (one string)",
    )
    parser.add_argument(
        "--isolation",
        action="store_true",
        help="print the grader's isolation report (active layers and why others "
        "are missing) as JSON and exit",
    )
    parser.set_defaults(func=run)


def available() -> dict[str, Path]:
    """Benchmarks present in ``benchmarks/``: name -> script path."""
    if not BENCHMARKS_DIR.is_dir():
        return {}
    return {p.stem: p for p in sorted(BENCHMARKS_DIR.glob("*.py")) if not p.stem.startswith("_")}


def run(args: argparse.Namespace) -> int:
    if args.isolation:
        from student_gym.grader import isolation_report

        print(json.dumps(isolation_report(), indent=2))
        return 0
    present = available()
    if not present:
        print(
            f"bench: no benchmarks found in {BENCHMARKS_DIR} (they ship with the source "
            "checkout, not the installed package)",
            file=sys.stderr,
        )
        return 2
    if args.list:
        for name, path in present.items():
            print(f"{name:<22}{path}")
        return 0
    names = args.names or list(present)
    unknown = [n for n in names if n not in present]
    if unknown:
        print(
            f"bench: unknown benchmark(s) {', '.join(unknown)}; present: {', '.join(present)}",
            file=sys.stderr,
        )
        return 2
    extra = shlex.split(args.bench_args)
    failed = []
    for name in names:
        print(f"== {name} ==", flush=True)
        done = subprocess.run([sys.executable, str(present[name]), *extra], check=False)
        if done.returncode != 0:
            print(f"bench: {name} exited with status {done.returncode}", file=sys.stderr)
            failed.append(name)
    return 1 if failed else 0

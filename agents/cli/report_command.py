"""``student-gym report RUN_DIR...``: one static, self-contained HTML page of evaluation runs.

Examples::

    student-gym report runs/eval/replay runs/eval/novice --out runs/eval/report.html
    student-gym report runs/demo/eval/* --out runs/demo/report.html

The page has the results table with CIs (pooled Coverage first), the behaviour table, paired
differences vs the first run when the runs are comparable, per-step curves with CI bands and n,
status-mix plots learner vs students, and the episodes: the student's real submissions and the
learner's side by side, with diffs and the feedback each got. Open it in any browser; it loads
nothing from the network.
"""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(subparsers: Any, help_text: str) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "report",
        help=help_text,
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("runs", nargs="+", metavar="RUN_DIR", help="OUT/<agent> of student-gym evaluate")
    p.add_argument("--out", default="report.html", help="the HTML file (default report.html)")
    p.add_argument(
        "--validity",
        default=None,
        choices=("paper", "strict"),
        help="re-aggregate under this validity rule (default: each run's own)",
    )
    p.add_argument(
        "--max-episodes", type=int, default=200, help="episodes listed on the page (default 200)"
    )
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    import sys

    from student_gym.evaluation.plots import plots_unavailable
    from student_gym.evaluation.report import write_report

    if args.max_episodes < 0:
        print("report: --max-episodes must be >= 0", file=sys.stderr)
        return 2
    try:
        path = write_report(args.runs, args.out, validity=args.validity,
                            max_episodes=args.max_episodes)
    except (OSError, ValueError) as exc:
        print(f"report: {exc}", file=sys.stderr)
        return 2
    print(f"report written to {path}")
    if (reason := plots_unavailable()) is not None:
        print(f"report: plots not drawn ({reason})", file=sys.stderr)
    return 0

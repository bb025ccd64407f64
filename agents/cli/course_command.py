"""``student-gym course stats``: statistics of a course, alone or beside another one.

Examples::

    student-gym course stats bundled
    student-gym course stats runs/itap --json runs/itap/stats.json
    student-gym course stats bundled --compare runs/itap

Prints trajectory lengths, first-try and ever-correct rates, the status mix, distinct
programs, how many held-out programs occur in the training split, error types and edit sizes
as a table (definitions: docs/course.md, "Course statistics"), and writes every figure,
including the status mix per submission index, as JSON with ``--json``. ``COURSE`` and
``--compare`` take a native course file or directory, or ``bundled``. Nothing is graded:
statuses come from the stored reports, or from the logged grades where a course has none (the
table says which).

Exit status: 0; 2 for an unreadable course or an unwritable ``--json`` path.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def add_parser(subparsers: argparse._SubParsersAction, help_text: str) -> None:
    parser = subparsers.add_parser("course", help=help_text, description=help_text)
    actions = parser.add_subparsers(dest="course_command", metavar="ACTION")
    stats = actions.add_parser(
        "stats",
        help="statistics of a course (and another beside it)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    stats.add_argument(
        "course", metavar="COURSE", help="native course file or directory, or 'bundled'"
    )
    stats.add_argument(
        "--compare", metavar="OTHER", help="a second course, shown in a column beside the first"
    )
    stats.add_argument("--json", type=Path, metavar="OUT", help="write every figure as JSON here")
    stats.set_defaults(func=run_stats)


def _load(spec: str) -> Any:
    from student_gym.course import BUNDLED_PATH, load_course
    from student_gym.course.native import course_file

    return load_course(BUNDLED_PATH if spec == "bundled" else course_file(spec))


def run_stats(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from student_gym.course import CourseFormatError
    from student_gym.course.stats import course_stats, merged_rows

    specs = [args.course] + ([args.compare] if args.compare else [])
    try:
        courses = [_load(spec) for spec in specs]
    except (CourseFormatError, OSError) as exc:
        print(f"student-gym course stats: {exc}", file=sys.stderr)
        return 2
    stats = [course_stats(c) for c in courses]
    table = Table(title="course statistics")
    table.add_column("figure", no_wrap=True)
    for spec, course in zip(specs, courses, strict=True):
        table.add_column(f"{course.name} ({spec})", justify="right")
    for row in merged_rows(stats):
        table.add_row(*row)
    Console().print(table)
    if args.json is not None:
        sourced = [{"source": spec, **s} for spec, s in zip(specs, stats, strict=True)]
        payload: dict[str, Any] = sourced[0] if len(sourced) == 1 else {"courses": sourced}
        try:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
        except OSError as exc:
            print(f"student-gym course stats: --json {args.json}: {exc}", file=sys.stderr)
            return 2
        print(f"statistics written to {args.json}")
    return 0

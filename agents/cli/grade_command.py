"""``student-gym grade``: grade one program against an assignment and print the verdict.

Examples::

    student-gym grade --assignment examples.json --assignment-id sum_list --code prog.py
    student-gym grade --assignment a.json --code prog.py --json
    student-gym grade --example sum_list --code prog.py --feedback detailed

Exit status: 0 when the program passed every test, 1 when it did not, 2 for bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from student_gym.grader.feedback import FEEDBACK_LEVELS


def add_parser(subparsers: argparse._SubParsersAction, help_text: str) -> None:
    parser = subparsers.add_parser(
        "grade",
        help=help_text,
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--assignment",
        type=Path,
        metavar="FILE",
        help="assignment-set JSON file (student-gym/assignments format)",
    )
    source.add_argument(
        "--example", metavar="ID", help="one of the example assignments shipped with the package"
    )
    parser.add_argument(
        "--assignment-id",
        metavar="ID",
        help="which assignment of FILE (needed when it holds several)",
    )
    parser.add_argument(
        "--code",
        type=Path,
        required=True,
        metavar="FILE",
        help="the program to grade ('-' reads standard input)",
    )
    parser.add_argument(
        "--json", action="store_true", help="print the GradeReport as JSON instead of feedback text"
    )
    parser.add_argument(
        "--feedback",
        default="detailed",
        metavar="LEVEL",
        choices=FEEDBACK_LEVELS,
        help="feedback level: none | grade | summary | detailed (default)",
    )
    parser.add_argument(
        "--runtime",
        action="store_true",
        help="with --json, keep the (non-deterministic) runtime field",
    )
    parser.add_argument(
        "--unsafe",
        action="store_true",
        help="grade even where the sandbox's isolation layers are incomplete "
        "(only for code you trust)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from student_gym.grader import grade
    from student_gym.grader.assignment_files import example_assignments, load_assignments
    from student_gym.grader.assignments import (
        AssignmentError,
    )
    from student_gym.grader.feedback import render_feedback

    try:
        if args.example:
            assignments, where = example_assignments(), "the example assignments"
            wanted = args.assignment_id or args.example
        else:
            assignments, where = load_assignments(args.assignment), str(args.assignment)
            wanted = args.assignment_id
    except AssignmentError as exc:
        print(f"student-gym grade: {exc}", file=sys.stderr)
        return 2
    if wanted is None:
        if len(assignments) != 1:
            print(
                f"student-gym grade: {where} holds {len(assignments)} assignments; choose one "
                f"with --assignment-id ({', '.join(sorted(assignments))})",
                file=sys.stderr,
            )
            return 2
        wanted = next(iter(assignments))
    if wanted not in assignments:
        print(
            f"student-gym grade: {where} has no assignment {wanted!r} "
            f"(it has: {', '.join(sorted(assignments))})",
            file=sys.stderr,
        )
        return 2
    try:
        code = sys.stdin.read() if str(args.code) == "-" else args.code.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"student-gym grade: {args.code}: cannot read the program: {exc}", file=sys.stderr)
        return 2
    try:
        report = grade(code, assignments[wanted], unsafe=args.unsafe)
    except RuntimeError as exc:  # incomplete sandbox without --unsafe, or no RestrictedPython
        print(f"student-gym grade: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report.to_dict(runtime=args.runtime), indent=1, ensure_ascii=False))
    else:
        print(render_feedback(report, args.feedback))
        if args.feedback != "none":
            score = "none (broken tests)" if report.score is None else f"{report.score:.3f}"
            print(f"Status: {report.status}    Score: {score}")
    return 0 if report.status == "passed" else 1

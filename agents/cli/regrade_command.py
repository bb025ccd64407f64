"""``student-gym regrade``: re-run every logged submission of a course through the grader.

Examples::

    student-gym regrade runs/falcon                      # store reports in place, print agreement
    student-gym regrade runs/falcon --drop-mismatched --out runs/falcon_agreeing
    student-gym regrade bundled --no-write --fail-under 1.0

Prints the agreement between logged and regraded scores per assignment and writes a JSON
report (``regrade_report.json`` beside the written course, or ``--report``). The course is
written back with every submission's regraded report stored, so later loads need no grading:
in place by default, to ``--out`` when given, not at all with ``--no-write``.
``--drop-mismatched`` writes only the trajectories whose every logged score agrees (needs
``--out``). ``COURSE`` may be ``bundled`` for the shipped course (never written in place).
Logs that record pass/fail are compared as pass/fail (``--compare auto``), and the mismatches
are summarised by kind. Only problems with tests (and Python code) are regraded; a course with
logged grades only is refused, with where its tests go.

Exit status: 0; 1 when agreement is below ``--fail-under``; 2 for an unreadable course, a
course without tests or a bad option.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def add_parser(subparsers: argparse._SubParsersAction, help_text: str) -> None:
    parser = subparsers.add_parser(
        "regrade",
        help=help_text,
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "course", metavar="COURSE", help="native course file or directory, or 'bundled'"
    )
    parser.add_argument(
        "--out", type=Path, help="write the regraded course here instead of in place"
    )
    parser.add_argument("--no-write", action="store_true", help="only report; write no course")
    parser.add_argument(
        "--drop-mismatched",
        action="store_true",
        help="leave out trajectories with any logged/regraded mismatch (needs --out)",
    )
    parser.add_argument(
        "--tolerance",
        type=float,
        default=None,
        help="largest |logged - regraded| counted as agreement (default 1e-5)",
    )
    parser.add_argument(
        "--compare",
        choices=("auto", "score", "passfail"),
        default="auto",
        help="score: within --tolerance; passfail: logged pass vs regraded passed; auto "
        "(default): passfail when every logged score is 0 or 1",
    )
    parser.add_argument("--workers", type=int, help="grader parallelism (default: all cores)")
    parser.add_argument("--report", type=Path, metavar="FILE", help="regrade report JSON path")
    parser.add_argument(
        "--fail-under",
        type=float,
        metavar="FRACTION",
        help="exit 1 when the overall agreement is below this",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from student_gym.course import BUNDLED_PATH, CourseFormatError, load_course, save_course
    from student_gym.course.model import NoTestsError, require_tests
    from student_gym.course.native import course_file
    from student_gym.course.regrade import (
        DEFAULT_TOLERANCE,
        drop_mismatched,
        print_regrade,
        regrade,
    )
    from student_gym.progress import progress_bar

    bundled = args.course == "bundled"
    if args.drop_mismatched and args.out is None:
        print(
            "student-gym regrade: --drop-mismatched needs --out (the original is kept)",
            file=sys.stderr,
        )
        return 2
    if args.tolerance is not None and not args.tolerance >= 0:
        print(f"student-gym regrade: --tolerance {args.tolerance}: must be >= 0", file=sys.stderr)
        return 2
    if args.workers is not None and args.workers < 1:
        print(f"student-gym regrade: --workers {args.workers}: must be >= 1", file=sys.stderr)
        return 2
    try:
        source = BUNDLED_PATH if bundled else course_file(args.course)
        course = load_course(source)
        require_tests(course, "regrade")
    except (CourseFormatError, NoTestsError) as exc:
        print(f"student-gym regrade: {exc}", file=sys.stderr)
        return 2
    tolerance = DEFAULT_TOLERANCE if args.tolerance is None else args.tolerance
    total = sum(len(t) for t in course.trajectories if course.gradable(t))
    with progress_bar("regrade", total) as update:
        result = regrade(
            course, tolerance=tolerance, workers=args.workers, compare=args.compare,
            progress=update,
        )
    console = Console()
    print_regrade(result, console)
    target = args.out if args.out is not None else (None if bundled else source)
    written = None
    if target is not None and not args.no_write:
        out_course = drop_mismatched(result) if args.drop_mismatched else result.course
        written = save_course(out_course, target)
        kept = len(out_course.trajectories)
        console.print(f"course with regraded reports written to {written} ({kept} trajectories)")
    report = args.report
    if report is None and written is not None:
        report = written.parent / "regrade_report.json"
    if report is not None:
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(json.dumps(result.to_dict(), indent=1) + "\n", encoding="utf-8")
        console.print(f"regrade report written to {report}")
    if args.fail_under is not None and (result.agreement or 0.0) < args.fail_under:
        return 1
    return 0

"""``student-gym import``: import course logs into the native course format.

Examples::

    student-gym import falconcode falconcode_tables/ --out runs/falcon --salt s3cret
    student-gym import falconcode falconcode_flat.csv --out runs/falcon.jsonl.gz --regrade
    student-gym import progsnap2 csedm/ --assignments problems.json --out runs/csedm
    student-gym import native old_course.jsonl --out runs/copy --regrade

Writes the course (a ``.jsonl``/``.jsonl.gz`` file, or a directory that gets ``course.jsonl``)
and an import report beside it (``import_report.json`` in the directory, or
``<name>.import_report.json`` next to the file): rows read, submissions kept, and every kind of
skip with its count and examples (file, row, reason). Student ids are pseudonymised with a
salted hash unless ``--keep-ids`` is given.

Exit status: 0 on success, 2 when the source cannot be imported (the error says what and where).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

FORMATS = ("falconcode", "progsnap2", "native")


def add_parser(subparsers: argparse._SubParsersAction, help_text: str) -> None:
    parser = subparsers.add_parser(
        "import",
        help=help_text,
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "format", choices=FORMATS, metavar="FORMAT", help="falconcode | progsnap2 | native"
    )
    parser.add_argument(
        "source",
        type=Path,
        metavar="SOURCE",
        help="FalconCode tables directory or flat CSV; ProgSnap2 directory; "
        "native course file or directory",
    )
    parser.add_argument(
        "--out",
        type=Path,
        required=True,
        help="output course: .jsonl / .jsonl.gz file or a directory",
    )
    parser.add_argument(
        "--assignments",
        type=Path,
        metavar="FILE",
        help="ProgSnap2: assignment-set JSON whose ids are the ProblemIDs",
    )
    parser.add_argument("--salt", help="salt for pseudonymous student ids (default: random)")
    parser.add_argument(
        "--keep-ids",
        action="store_true",
        help="keep the real student ids (opt out of pseudonymisation)",
    )
    parser.add_argument(
        "--keep-local-runs",
        action="store_true",
        help="FalconCode: keep score -1 local runs (without a logged score)",
    )
    parser.add_argument(
        "--types",
        nargs="+",
        metavar="TYPE",
        help="FalconCode: keep only problems of these types (e.g. lab)",
    )
    parser.add_argument(
        "--test-terms",
        nargs="+",
        metavar="TERM",
        help="terms held out as the test split (default: the latest term)",
    )
    parser.add_argument(
        "--term", default="all", help="ProgSnap2: term of events without a TermID (default: all)"
    )
    parser.add_argument("--encoding", default="utf-8", help="text encoding of the CSV files")
    parser.add_argument("--name", help="course name (default: the source's name)")
    parser.add_argument(
        "--report",
        type=Path,
        metavar="FILE",
        help="where to write the import report JSON (default: beside --out)",
    )
    parser.add_argument(
        "--regrade",
        action="store_true",
        help="grade every submission now and store the reports in the course",
    )
    parser.set_defaults(func=run)


def report_path(out: Path) -> Path:
    """The default import report location for a course written to ``out``."""
    if out.name.endswith((".jsonl", ".jsonl.gz")):
        stem = out.name.removesuffix(".gz").removesuffix(".jsonl")
        return out.with_name(f"{stem}.import_report.json")
    return out / "import_report.json"


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from student_gym.assignments import AssignmentError, load_assignments
    from student_gym.course import (
        CourseFormatError,
        ImportReport,
        import_falconcode,
        import_progsnap2,
        load_course,
        save_course,
    )

    console = Console()
    common = {"test_terms": args.test_terms, "encoding": args.encoding, "name": args.name}
    ids = {"salt": args.salt, "keep_ids": args.keep_ids}
    try:
        if args.format == "falconcode":
            course, report = import_falconcode(
                args.source,
                keep_local_runs=args.keep_local_runs,
                types=args.types,
                **ids,
                **common,
            )
        elif args.format == "progsnap2":
            assignments = load_assignments(args.assignments) if args.assignments else None
            if assignments is None:
                print(
                    "student-gym import: no --assignments given; ProgSnap2 has no tests, so "
                    "every event will be skipped as 'no tests for assignment'",
                    file=sys.stderr,
                )
            course, report = import_progsnap2(
                args.source, assignments=assignments, term=args.term, **ids, **common
            )
        else:
            course = load_course(args.source)
            report = ImportReport(format="native", source=str(args.source))
            report.submissions_kept = sum(len(t) for t in course.trajectories)
            report.trajectories = len(course.trajectories)
            report.assignments = len(course.assignments)
    except (CourseFormatError, AssignmentError) as exc:
        print(f"student-gym import: {exc}", file=sys.stderr)
        return 2
    if args.regrade and course.trajectories:
        from student_gym.course.regrade import print_regrade, regrade

        result = regrade(course)
        print_regrade(result, console)
        course = result.course
        report.settings["regrade_agreement"] = result.agreement
    path = save_course(course, args.out)
    written = report.write(args.report or report_path(args.out))
    report.print_summary(console)
    console.print(f"course written to {path}; import report to {written}")
    return 0

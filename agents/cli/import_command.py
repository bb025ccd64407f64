"""``student-gym import``: import course logs into the native course format.

Examples::

    student-gym import progsnap2 csedm2018/ --out runs/itap            # no tests needed
    student-gym import table cs1.csv --out runs/cs1 \\
        --columns student=user,problem=task,code=source,score=passed,tests=test
    student-gym import falconcode falconcode_tables/ --out runs/falcon --preset edm2026
    student-gym import native runs/itap --assignments itap_tests.json  # add tests later

Writes the course (a ``.jsonl``/``.jsonl.gz`` file, or a directory that gets ``course.jsonl``)
and an import report beside it (``import_report.json`` in the directory, or
``<name>.import_report.json`` next to the file): rows read, submissions kept, every kind of
skip with its count and examples (file, row, reason), warnings, selection rules and splits.
Logs without tests import as a course with logged grades; ``--assignments`` adds tests, at
import or later (``import native COURSE --assignments FILE`` upgrades the course in place).

Student ids are pseudonymised with a salted hash unless ``--keep-ids``; without ``--salt`` a
random salt is drawn and kept in a private file beside the course (``pseudonym_salt``, never
inside it), so re-importing with ``--force`` gives the same pseudonyms. An existing course is
not overwritten without ``--force``.

Exit status: 0 on success, 2 when the source cannot be imported (one line says what and where).
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from pathlib import Path

FORMATS = ("falconcode", "progsnap2", "table", "native")
SALT_FILE = "pseudonym_salt"


def add_parser(subparsers: argparse._SubParsersAction, help_text: str) -> None:
    parser = subparsers.add_parser(
        "import",
        help=help_text,
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "format", choices=FORMATS, metavar="FORMAT", help="falconcode | progsnap2 | table | native"
    )
    parser.add_argument(
        "source",
        type=Path,
        metavar="SOURCE",
        help="FalconCode tables directory or flat CSV; ProgSnap2 directory; a .csv/.parquet/"
        ".jsonl table; native course file or directory",
    )
    parser.add_argument(
        "--out",
        type=Path,
        help="output course: .jsonl / .jsonl.gz file or a directory (native: default in place)",
    )
    parser.add_argument("--force", action="store_true", help="overwrite an existing course")
    parser.add_argument(
        "--assignments",
        type=Path,
        metavar="FILE",
        help="assignment-set JSON giving tests, its ids the problem ids (any format)",
    )
    parser.add_argument(
        "--columns",
        metavar="FIELD=COLUMN,...",
        help="table: our fields -> its columns (student, problem, code required; order, "
        "timestamp, score, term, tests, language, feedback, statement, function, title, type, "
        "redacted, exam optional)",
    )
    parser.add_argument("--language", help="the code's language where the logs do not say it")
    parser.add_argument(
        "--score-column", help="ProgSnap2: column of the logged grade (default Score, else Correct)"
    )
    parser.add_argument(
        "--max-score", type=float, help="table: divide numeric scores by this (e.g. 100)"
    )
    parser.add_argument(
        "--tests-dir", type=Path, help="table: test file paths are relative to this folder"
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
        "--preset", choices=("edm2026",), help="selection preset: the EDM 2026 paper's rules"
    )
    parser.add_argument(
        "--drop-exam", action="store_true", help="with --preset: also drop rows flagged exam"
    )
    parser.add_argument(
        "--test-terms",
        nargs="+",
        metavar="TERM",
        help="terms held out as the test split (default: the latest term)",
    )
    parser.add_argument(
        "--term", default="all", help="term of rows without a term (default: all)"
    )
    parser.add_argument(
        "--validation-fraction", type=float, default=0.1,
        help="students of the training terms held out for validation (default 0.1)",
    )
    parser.add_argument(
        "--test-fraction", type=float, default=0.1,
        help="students held out for test when the course has one term (default 0.1)",
    )
    parser.add_argument("--split-seed", type=int, default=0, help="seed of the student split")
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
        help="grade every submission with tests now and store the reports in the course",
    )
    parser.set_defaults(func=run)


def report_path(out: Path) -> Path:
    """The default import report location for a course written to ``out``."""
    if out.name.endswith((".jsonl", ".jsonl.gz")):
        stem = out.name.removesuffix(".gz").removesuffix(".jsonl")
        return out.with_name(f"{stem}.import_report.json")
    return out / "import_report.json"


def salt_path(out: Path) -> Path:
    """Where the random pseudonym salt of a course written to ``out`` is kept."""
    if out.name.endswith((".jsonl", ".jsonl.gz")):
        stem = out.name.removesuffix(".gz").removesuffix(".jsonl")
        return out.with_name(f"{stem}.{SALT_FILE}")
    return out / SALT_FILE


def existing_course(out: Path) -> Path | None:
    from student_gym.course.native import FILE_NAMES

    if out.is_file():
        return out
    if out.is_dir():
        return next((out / n for n in FILE_NAMES if (out / n).is_file()), None)
    return None


def _salt(args: argparse.Namespace) -> tuple[str | None, str | None]:
    """The salt to use and how to describe it; a drawn salt is kept beside the course."""
    if args.keep_ids or args.salt is not None:
        return args.salt, None
    path = salt_path(args.out)
    if path.is_file():
        return path.read_text(encoding="utf-8").strip(), f"salt kept in {path.name}, not in the course"
    salt = secrets.token_hex(16)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(salt + "\n")
    return salt, f"random salt kept in {path.name} beside the course (never inside it)"


def _fail(message: object) -> int:
    print(f"student-gym import: {message}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from student_gym.course import (
        CourseFormatError,
        ImportReport,
        Selection,
        SplitOptions,
        import_falconcode,
        import_progsnap2,
        import_table,
        load_course,
        save_course,
    )
    from student_gym.course.csv_tables import check_encoding
    from student_gym.course.table import parse_columns
    from student_gym.grader.assignment_files import load_assignments
    from student_gym.grader.assignments import AssignmentError
    from student_gym.progress import progress_bar

    console = Console()
    if args.out is None:
        if args.format != "native":
            return _fail("--out is required (a course file or directory)")
        args.out = args.source  # in-place upgrade of a native course
    elif existing_course(args.out) is not None and not args.force:
        return _fail(f"--out {args.out}: a course is already there; pass --force to replace it "
                     "(its pseudonym salt is kept)")
    try:
        check_encoding(args.encoding)
        if args.format == "table" and not args.columns:
            return _fail("table: --columns is required, e.g. "
                         "--columns student=user,problem=task,code=source,score=passed")
        columns = parse_columns(args.columns) if args.columns else {}
        split = SplitOptions(args.validation_fraction, args.test_fraction, args.split_seed)
        selection = Selection.preset(args.preset, drop_exam=args.drop_exam) if args.preset else None
        assignments = load_assignments(args.assignments) if args.assignments else None
    except (CourseFormatError, AssignmentError, ValueError) as exc:
        return _fail(exc)
    salt, salt_note = (None, None) if args.format == "native" else _salt(args)
    common = {
        "test_terms": args.test_terms, "encoding": args.encoding, "name": args.name,
        "split_options": split, "selection": selection,
    }
    ids = {"salt": salt, "keep_ids": args.keep_ids}
    try:
        with progress_bar(f"import {args.source.name}", None) as update:
            common["progress"] = update
            if args.format == "falconcode":
                course, report = import_falconcode(
                    args.source, keep_local_runs=args.keep_local_runs, types=args.types,
                    **ids, **common,
                )
            elif args.format == "progsnap2":
                course, report = import_progsnap2(
                    args.source, assignments=assignments, term=args.term, language=args.language,
                    score_column=args.score_column, **ids, **common,
                )
            elif args.format == "table":
                course, report = import_table(
                    args.source, columns=columns, assignments=assignments, term=args.term,
                    language=args.language, max_score=args.max_score, tests_dir=args.tests_dir,
                    **ids, **common,
                )
            else:
                course = load_course(args.source)
                report = ImportReport(format="native", source=str(args.source))
    except (CourseFormatError, AssignmentError) as exc:
        return _fail(exc)
    if args.format == "native":
        if assignments:
            course, upgraded = course.with_tests(assignments)
            report.settings["tests_added"] = upgraded
            console.print(f"tests added for {len(upgraded)} problems: {', '.join(upgraded) or '-'}")
            if unused := sorted(set(assignments) - set(upgraded)):
                console.print(f"[yellow]not in the course (ignored): {', '.join(unused)}[/yellow]")
        report.submissions_kept = sum(len(t) for t in course.trajectories)
        report.trajectories = len(course.trajectories)
        report.assignments = len(course.assignments)
        report.problems_without_tests = len(course.problems)
        report.grading = course.grading
    if salt_note:
        report.settings["student_ids"] = course.metadata["student_ids"] = (
            f"salted SHA-256, {salt_note}")
    if args.format == "falconcode" and assignments:
        console.print("[yellow]--assignments is ignored for FalconCode (its scripts are the "
                      "tests)[/yellow]")
    if args.regrade and course.has_tests:
        from student_gym.course.regrade import print_regrade, regrade

        graded = sum(len(t) for t in course.trajectories if course.gradable(t))
        with progress_bar("regrade", graded) as update:
            result = regrade(course, progress=update)
        print_regrade(result, console)
        course = result.course
        report.settings["regrade_agreement"] = result.agreement
    path = save_course(course, args.out)
    written = report.write(args.report or report_path(args.out))
    report.print_summary(console)
    console.print(f"course written to {path}; import report to {written}")
    if not course.has_tests and course.trajectories:
        console.print(
            "[yellow]logged grades only: serialize works; regrade, evaluate and train dapo "
            "need tests (add them with: student-gym import native "
            f"{args.out} --assignments TESTS.json)[/yellow]"
        )
    return 0

"""``student-gym serialize``: a course -> SFT, DPO and DAPO datasets (conversational or PARA).

    student-gym serialize COURSE --out DIR [--format conversational|para]
        [--feedback-level none|grade|summary|detailed] [--split train] [--jsonl]
        [--include-first] [--score-source regraded|logged]

COURSE is a native course (file or directory) or the word ``bundled``. Writes ``DIR/sft``,
``DIR/dpo`` and ``DIR/dapo`` (Arrow, ``datasets.load_from_disk``) or ``DIR/sft.jsonl`` ...
with ``--jsonl``, plus ``DIR/serialize_report.json`` (style, counts, skips and their reasons),
and prints the counts.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

KINDS = ("sft", "dpo", "dapo")


def add_parser(subparsers: Any, help_text: str) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "serialize",
        help=help_text,
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "course",
        metavar="COURSE",
        help="native course file/directory, or 'bundled' for the sample course",
    )
    parser.add_argument("--out", required=True, type=Path, help="output directory")
    parser.add_argument(
        "--format",
        choices=("conversational", "para"),
        default="conversational",
        help="conversational: grader feedback turns; para: neutral turns (PARA)",
    )
    parser.add_argument(
        "--feedback-level",
        choices=("none", "grade", "summary", "detailed"),
        default="summary",
        help="feedback turns' level (conversational format)",
    )
    parser.add_argument("--split", default="train", help="split (train/test) or term name")
    parser.add_argument("--jsonl", action="store_true", help="write JSON Lines instead of Arrow")
    parser.add_argument(
        "--include-first",
        action="store_true",
        help="also make SFT/DAPO rows for the first submission of a trajectory",
    )
    parser.add_argument(
        "--score-source",
        choices=("regraded", "logged"),
        default="regraded",
        help="grade used by DPO pairs and DAPO targets (default: regraded)",
    )
    parser.set_defaults(func=run)
    return parser


def load_course_arg(name: str) -> Any:
    """The course named on the command line: ``bundled`` or a native course path."""
    if name == "bundled":
        try:
            from student_gym.course import bundled_course  # type: ignore[attr-defined]
        except ImportError:  # the package does not re-export it (yet)
            from student_gym.course.bundled import bundled_course

        return bundled_course()
    from student_gym.course.native import load_course

    return load_course(name)


def _write(dataset: Any, out: Path, kind: str, jsonl: bool) -> Path:
    if jsonl:
        path = out / f"{kind}.jsonl"
        with path.open("w", encoding="utf-8") as fh:
            for row in dataset:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        return path
    path = out / kind
    dataset.save_to_disk(str(path))
    return path


def run(args: argparse.Namespace) -> int:
    from student_gym.dialogs import DialogStyle, RowStats, rows_to_dataset
    from student_gym.dialogs.training_rows import dapo_rows, dpo_rows, sft_rows

    try:
        course = load_course_arg(args.course)
    except (OSError, ValueError, ImportError) as exc:
        print(f"serialize: cannot load course {args.course!r}: {exc}", file=sys.stderr)
        return 2
    if args.format == "para":
        style = DialogStyle.para_style()
    else:
        style = DialogStyle(feedback_level=args.feedback_level)
    try:
        course.split(args.split)
    except KeyError as exc:
        print(f"serialize: {exc.args[0]}", file=sys.stderr)
        return 2

    from datasets.utils.logging import disable_progress_bar

    disable_progress_bar()  # the counts below say what was written
    args.out.mkdir(parents=True, exist_ok=True)
    builders = {
        "sft": lambda stats: sft_rows(
            course, args.split, style, include_first=args.include_first, stats=stats
        ),
        "dpo": lambda stats: dpo_rows(
            course, args.split, style, score_source=args.score_source, stats=stats
        ),
        "dapo": lambda stats: dapo_rows(
            course,
            args.split,
            style,
            score_source=args.score_source,
            include_first=args.include_first,
            stats=stats,
        ),
    }
    report: dict[str, Any] = {
        "course": course.name,
        "split": args.split,
        "format": args.format,
        "feedback_level": style.feedback_level,
        "score_source": args.score_source,
        "datasets": {},
    }
    print(
        f"course {course.name!r}, split {args.split!r}, format {args.format}, "
        f"feedback {style.feedback_level}"
    )
    for kind in KINDS:
        stats = RowStats()
        rows = builders[kind](stats)
        path = _write(rows_to_dataset(rows, kind), args.out, kind, args.jsonl)
        report["datasets"][kind] = {
            "path": str(path),
            "rows": stats.rows,
            "trajectories": stats.trajectories,
            "skipped": dict(stats.skipped),
            "errors": stats.errors,
        }
        skipped = ", ".join(f"{n} {reason}" for reason, n in stats.skipped.items()) or "none"
        print(
            f"  {kind:4s} {stats.rows:6d} rows from {stats.trajectories} trajectories -> {path}"
            f"  (skipped: {skipped})"
        )
        for message in stats.errors if kind == "sft" else ():  # same trajectories each time
            print(f"       skipped: {message}", file=sys.stderr)
    (args.out / "serialize_report.json").write_text(json.dumps(report, indent=2) + "\n")
    return 0

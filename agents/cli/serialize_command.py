"""``student-gym serialize``: a course -> SFT, DPO and DAPO datasets (conversational or PARA).

    student-gym serialize COURSE --out DIR [--format conversational|para]
        [--feedback-level none|grade|summary|detailed] [--split SPLIT] [--jsonl]
        [--include-first] [--score-source regraded|logged] [--license ID]

COURSE is a native course (file or directory) or the word ``bundled``. Writes one Hugging Face
``DatasetDict`` per kind, ``DIR/sft``, ``DIR/dpo`` and ``DIR/dapo`` (``datasets.load_from_disk``),
each with ``train``, ``validation`` and ``test`` splits (only ``--split`` when given), or
``DIR/<kind>/<split>.jsonl`` with ``--jsonl``; plus ``DIR/README.md`` (the dataset card: source,
pseudonymisation, selection rules and counts, licence), ``DIR/submissions.csv`` (one row per
submission with its regraded status and the grade that counts) and
``DIR/serialize_report.json`` (style, counts, skips and their reasons).

The grade that counts is the regraded one where tests exist, else the logged one. Submissions
of problems with tests but no stored grader report are graded first, with a progress bar, and
the reports are stored back in the course (so this happens once, never silently).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

KINDS = ("sft", "dpo", "dapo")
SPLITS = ("train", "validation", "test")


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
    parser.add_argument(
        "--split",
        default=None,
        help="write only this split (train/validation/test) or term (default: all three splits)",
    )
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
        help="grade used by DPO pairs and DAPO targets where tests exist (default: regraded; "
        "problems without tests always use the logged grade)",
    )
    parser.add_argument(
        "--license", default=None, help="licence of the source logs, for the dataset card"
    )
    parser.set_defaults(func=run)
    return parser


def load_course_arg(name: str) -> Any:
    """The course named on the command line: ``bundled`` or a native course path."""
    if name == "bundled":
        from student_gym.course.bundled import bundled_course

        return bundled_course()
    from student_gym.course.native import load_course

    return load_course(name)


def _write(dataset: Any, out: Path, kind: str, jsonl: bool) -> Path:
    """Write one kind's DatasetDict (Arrow) or one JSON Lines file per split."""
    path = out / kind
    if jsonl:
        path.mkdir(parents=True, exist_ok=True)
        for split, rows in dataset.items():
            with (path / f"{split}.jsonl").open("w", encoding="utf-8") as fh:
                for row in rows:
                    fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        return path
    # datasets 5.2 writes no shard for an empty split and then cannot load it: ask for one.
    dataset.save_to_disk(str(path), num_shards={s: 1 for s, d in dataset.items() if not len(d)})
    return path


def _fill_reports(course: Any, name: str) -> Any:
    """Grade the gradable submissions without a stored report, visibly, and store them."""
    from student_gym.course.native import course_file, save_course
    from student_gym.course.regrade import fill_reports, missing_reports
    from student_gym.progress import progress_bar

    missing = missing_reports(course)
    if not missing:
        return course
    print(
        f"serialize: {missing} submissions of problems with tests have no stored grade report; "
        "grading them now (stored in the course, so this happens once)",
        file=sys.stderr,
    )
    with progress_bar("grading", missing) as update:
        course = fill_reports(course, progress=update)
    if name != "bundled":
        written = save_course(course, course_file(name))
        print(f"serialize: reports stored in {written}", file=sys.stderr)
    return course


def run(args: argparse.Namespace) -> int:
    # datasets is the `train` extra: imported first, so a core install stops before grading.
    from datasets import DatasetDict
    from datasets.utils.logging import disable_progress_bar

    from student_gym.course.export import write_submissions_csv
    from student_gym.dialogs import DialogStyle, RowStats
    from student_gym.dialogs.dataset_card import dataset_card
    from student_gym.dialogs.training_rows import dapo_rows, dpo_rows, rows_to_dataset, sft_rows
    from student_gym.progress import progress_bar

    if args.out.exists() and not args.out.is_dir():
        print(f"serialize: --out {args.out} is an existing file; give a directory",
              file=sys.stderr)
        return 2
    try:
        course = load_course_arg(args.course)
    except (OSError, ValueError, ImportError) as exc:
        print(f"serialize: cannot load course {args.course!r}: {exc}", file=sys.stderr)
        return 2
    if args.format == "para":
        style = DialogStyle.para_style()
    else:
        style = DialogStyle(feedback_level=args.feedback_level)
    splits = SPLITS if args.split is None else (args.split,)
    try:
        for split in splits:
            course.split(split)
    except KeyError as exc:
        print(f"serialize: {exc.args[0]}", file=sys.stderr)
        return 2
    course = _fill_reports(course, args.course)
    disable_progress_bar()  # ours below counts what matters
    args.out.mkdir(parents=True, exist_ok=True)
    builders = {
        "sft": lambda split, stats: sft_rows(
            course, split, style, include_first=args.include_first, stats=stats
        ),
        "dpo": lambda split, stats: dpo_rows(
            course, split, style, score_source=args.score_source, stats=stats
        ),
        "dapo": lambda split, stats: dapo_rows(
            course, split, style, score_source=args.score_source,
            include_first=args.include_first, stats=stats,
        ),
    }
    report: dict[str, Any] = {
        "course": course.name,
        "splits": list(splits),
        "format": args.format,
        "feedback_level": style.feedback_level,
        "score_source": args.score_source,
        "grade_sources": course.grade_sources(),
        "datasets": {},
    }
    print(
        f"course {course.name!r} ({course.grading} grades), format {args.format}, "
        f"feedback {style.feedback_level}"
    )
    errors: list[str] = []
    with progress_bar("serialize", len(KINDS) * len(splits)) as update:
        for kind in KINDS:
            per_split: dict[str, Any] = {}
            report["datasets"][kind] = {}
            for split in splits:
                stats = RowStats()
                per_split[split] = rows_to_dataset(builders[kind](split, stats), kind)
                report["datasets"][kind][split] = {
                    "rows": stats.rows,
                    "trajectories": stats.trajectories,
                    "grade_sources": dict(stats.grade_sources),
                    "skipped": dict(stats.skipped),
                    "errors": stats.errors,
                }
                if kind == "sft":
                    errors += stats.errors
                update()
            path = _write(DatasetDict(per_split), args.out, kind, args.jsonl)
            counts = ", ".join(f"{s} {report['datasets'][kind][s]['rows']}" for s in splits)
            print(f"  {kind:4s} rows: {counts} -> {path}")
    for message in errors[:20]:
        print(f"       skipped: {message}", file=sys.stderr)
    card = dataset_card(course, report, args.license)
    (args.out / "README.md").write_text(card, encoding="utf-8")
    for kind in KINDS:
        (args.out / kind / "README.md").write_text(card, encoding="utf-8")
    csv_path = write_submissions_csv(course, args.out / "submissions.csv")
    (args.out / "serialize_report.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"  dataset card {args.out / 'README.md'}; submissions table {csv_path}")
    return 0

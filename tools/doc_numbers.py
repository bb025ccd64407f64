"""Compute the numbers the docs quote about the bundled course and rewrite them in place.

Counts in the docs (trajectories, submissions, SFT rows, DPO pairs, episodes, ...) are not typed
by hand: each sits between two markers, inline or as a block::

    <!-- numbers:NAME -->29 assignments, 877 trajectories<!-- /numbers:NAME -->

and this script recomputes it from the bundled course with the same code the toolkit runs
(the serializer's row builders, the evaluation's protocol starts). Measured timings and results
stay quoted measurements with their date and command; they are not generated here.

    python -m tools.doc_numbers            # rewrite every marked block in README.md and docs/*.md
    python -m tools.doc_numbers --check    # exit 1 and name each stale block, change nothing

Exit status: 0 up to date (or rewritten), 1 stale (``--check``), 2 a marker names no known block
or is not closed.
"""

from __future__ import annotations

import argparse
import functools
import re
import statistics
import sys
import textwrap
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MARKER = re.compile(r"<!-- numbers:([\w-]+) -->(.*?)<!-- /numbers:\1 -->", re.DOTALL)
OPENING = re.compile(r"<!-- numbers:([\w-]+) -->")


def doc_files(root: Path = ROOT) -> list[Path]:
    """The files whose marked blocks this script owns: README.md and docs/*.md."""
    return [root / "README.md", *sorted((root / "docs").glob("*.md"))]


@dataclass(frozen=True)
class SplitNumbers:
    """What one split of the bundled course gives (summary feedback, conversational format)."""

    name: str  # "train" / "test"
    terms: tuple[str, ...]
    students: int
    trajectories: int
    submissions: int
    effective: int  # effective submissions (collapsed, cut at the first correct one)
    single_effective: int  # trajectories with one effective submission (no SFT row)
    sft_rows: int
    dpo_pairs: int
    dpo_too_short: int  # trajectories with fewer than 3 effective submissions
    dpo_no_other_grade: int  # candidate t without a later submission of another grade
    dapo_prompts: int
    episodes: int  # evaluation starts k in 2..N (the 5-step protocol)
    student_steps: int  # real submissions those episodes pair with


def _split_numbers(course, split: str) -> SplitNumbers:
    from student_gym.dialogs import (
        DialogStyle,
        RowStats,
        course_assignment,
        dapo_rows,
        dpo_rows,
        effective_submissions,
        sft_rows,
    )
    from student_gym.evaluation.episodes import protocol_starts

    trajectories = course.split(split)
    style = DialogStyle()
    sft, dpo, dapo = RowStats(), RowStats(), RowStats()
    sft_count = len(sft_rows(course, split, style, stats=sft))
    dpo_count = len(dpo_rows(course, split, style, stats=dpo))
    dapo_count = len(dapo_rows(course, split, style, stats=dapo))
    lengths = [
        len(effective_submissions(t, course_assignment(course, t))) for t in trajectories
    ]
    starts = protocol_starts(course, split=split, steps=5)

    def skipped(stats, prefix: str) -> int:  # reasons are sentences; match their start
        return sum(n for reason, n in stats.skipped.items() if reason.startswith(prefix))

    return SplitNumbers(
        name=split,
        terms=tuple(sorted({t.term for t in trajectories})),
        students=len({t.student for t in trajectories}),
        trajectories=len(trajectories),
        submissions=sum(len(t.submissions) for t in trajectories),
        effective=sum(lengths),
        single_effective=sum(1 for n in lengths if n == 1),
        sft_rows=sft_count,
        dpo_pairs=dpo_count,
        dpo_too_short=skipped(dpo, "fewer than 3"),
        dpo_no_other_grade=skipped(dpo, "no later submission"),
        dapo_prompts=dapo_count,
        episodes=len(starts),
        student_steps=sum(s.student_steps for s in starts),
    )


@dataclass(frozen=True)
class CourseNumbers:
    """Everything the docs quote about the bundled course."""

    assignments: int
    call_assignments: int  # graded by call tests
    io_assignments: int  # graded by stdin/stdout tests
    students: int
    trajectories: int
    submissions: int
    file_kb: int
    lengths: dict[int, int]  # submissions per trajectory -> trajectories
    mean_length: float
    median_length: float
    solved: float  # share of trajectories whose last submission passed
    statuses: dict[str, int]  # regraded status of every submission
    splits: dict[str, SplitNumbers]


@functools.lru_cache(maxsize=1)  # the bundled course does not change within a process
def compute() -> CourseNumbers:
    """Load the bundled course and count (a few seconds; no grading, no model)."""
    from student_gym.course import bundled_course
    from student_gym.course.bundled import BUNDLED_PATH

    course = bundled_course()
    trajectories = course.trajectories
    kinds = Counter(
        "+".join(sorted({test.kind for test in a.tests})) for a in course.assignments.values()
    )
    lengths = [len(t.submissions) for t in trajectories]
    statuses = Counter(s.report.status for t in trajectories for s in t.submissions if s.report)
    last = [t.submissions[-1].report for t in trajectories]
    solved = sum(1 for report in last if report is not None and report.status == "passed")
    return CourseNumbers(
        assignments=len(course.assignments),
        call_assignments=kinds.get("call", 0),
        io_assignments=kinds.get("io", 0),
        students=len({t.student for t in trajectories}),
        trajectories=len(trajectories),
        submissions=sum(lengths),
        file_kb=round(BUNDLED_PATH.stat().st_size / 1000),
        lengths=dict(sorted(Counter(lengths).items())),
        mean_length=statistics.mean(lengths),
        median_length=statistics.median(lengths),
        solved=solved / len(trajectories),
        statuses=dict(statuses.most_common()),
        splits={split: _split_numbers(course, split) for split in ("train", "test")},
    )


# -- the blocks: name -> text (inline blocks have no newline; block ones start and end with one)


LINE = 96  # the docs' line width


def _n(value: int) -> str:
    return f"{value:,}"


def _block(text: str) -> str:
    """A block of its own: blank lines around it, so Markdown renders it whatever surrounds it."""
    return f"\n\n{text}\n\n"


def _course_summary(c: CourseNumbers) -> str:
    train, test = c.splits["train"], c.splits["test"]
    return (
        f"{c.assignments} assignments, {_n(c.trajectories)} trajectories of {c.students} "
        f"students ({_n(train.trajectories)} in the training term, {_n(test.trajectories)} in the "
        f"held-out one), {_n(c.submissions)} submissions"
    )


def _assignments(c: CourseNumbers) -> str:
    return (
        f"{c.assignments}: {c.call_assignments} functions graded by call tests and "
        f"{c.io_assignments} stdin/stdout programs graded by io tests"
    )


def _students_terms(c: CourseNumbers) -> str:
    train, test = c.splits["train"], c.splits["test"]
    share = round(100 * test.trajectories / c.trajectories)
    return (
        f"{train.students} students in `{', '.join(train.terms)}` (train) and {test.students} "
        f"in `{', '.join(test.terms)}` (test): {_n(c.trajectories)} trajectories "
        f"({_n(train.trajectories)} train, {_n(test.trajectories)} test = {share}%), "
        f"{_n(c.submissions)} submissions"
    )


def _course_shape(c: CourseNumbers) -> str:
    lengths = ", ".join(f"{k}:{v}" for k, v in c.lengths.items())
    statuses = ", ".join(f"{k} {_n(v)}" for k, v in c.statuses.items())
    solved = round(100 * c.solved)
    return _block(textwrap.fill(
        f"Submissions per trajectory (length:trajectories) {lengths} (mean "
        f"{c.mean_length:.2f}, median {c.median_length:g}); {solved}% end solved, "
        f"{100 - solved}% unsolved; statuses of all submissions: {statuses}.", width=LINE))


def _serialized(c: CourseNumbers) -> str:
    rows = [
        "| split | trajectories | submissions | effective | SFT rows | DPO pairs | DAPO prompts |",
        "|---|---|---|---|---|---|---|",
    ]
    for s in c.splits.values():
        rows.append(
            f"| {s.name} ({', '.join(s.terms)}) | {_n(s.trajectories)} | {_n(s.submissions)} | "
            f"{_n(s.effective)} | {_n(s.sft_rows)} | {_n(s.dpo_pairs)} | {_n(s.dapo_prompts)} |"
        )
    train = c.splits["train"]
    note = (
        f"In the training term {_n(train.single_effective)} trajectories have a single effective "
        f"submission (no SFT row); for DPO {_n(train.dpo_too_short)} have fewer than 3 effective "
        f"submissions and {_n(train.dpo_no_other_grade)} candidate t had no later submission "
        f"with a different grade."
    )
    return _block("\n".join(rows) + "\n\n" + textwrap.fill(note, width=LINE))


def _effective_programs(c: CourseNumbers) -> str:
    return (
        f"train {_n(c.splits['train'].effective)} programs, "
        f"test {_n(c.splits['test'].effective)}"
    )


def _protocol_test(c: CourseNumbers) -> str:
    test = c.splits["test"]
    return (
        f"{_n(test.trajectories)} trajectories, {_n(test.episodes)} episodes, "
        f"{_n(test.student_steps)} student steps, {test.students} students"
    )


def _demo_data(c: CourseNumbers) -> str:
    train = c.splits["train"]
    return (
        f"{', '.join(train.terms)}, {_n(train.trajectories)} trajectories, "
        f"{_n(train.sft_rows)} SFT rows, {_n(train.dpo_pairs)} DPO pairs"
    )


def _course_file(c: CourseNumbers) -> str:
    return f"{c.file_kb} KB"


BLOCKS: dict[str, Callable[[CourseNumbers], str]] = {
    "course-summary": _course_summary,
    "assignments": _assignments,
    "students-terms": _students_terms,
    "course-shape": _course_shape,
    "course-file": _course_file,
    "serialized": _serialized,
    "effective-programs": _effective_programs,
    "protocol-test": _protocol_test,
    "demo-data": _demo_data,
}


class MarkerError(ValueError):
    """A marker names no known block, or is opened and never closed."""


def rewrite(text: str, numbers: CourseNumbers, where: str) -> str:
    """``text`` with every marked block replaced by its current value.

    Raises:
        MarkerError: an unknown block name, or an opening marker without its closing one.
    """
    closed = {m.start() for m in MARKER.finditer(text)}
    for m in OPENING.finditer(text):
        line = text.count("\n", 0, m.start()) + 1
        if m.group(1) not in BLOCKS:
            raise MarkerError(f"{where}:{line}: unknown numbers block {m.group(1)!r} "
                              f"(known: {', '.join(sorted(BLOCKS))})")
        if m.start() not in closed:
            raise MarkerError(f"{where}:{line}: numbers block {m.group(1)!r} is not closed "
                              f"(<!-- /numbers:{m.group(1)} -->)")

    def replace(m: re.Match[str]) -> str:
        name = m.group(1)
        return f"<!-- numbers:{name} -->{BLOCKS[name](numbers)}<!-- /numbers:{name} -->"

    return MARKER.sub(replace, text)


def stale_blocks(before: str, after: str) -> list[str]:
    """Names of the blocks whose text differs between two versions of a document."""
    old = {m.group(1): m.group(2) for m in MARKER.finditer(before)}
    return [m.group(1) for m in MARKER.finditer(after) if old.get(m.group(1)) != m.group(2)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.doc_numbers", description=__doc__.split(
        "\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="change nothing; exit 1 when a marked block is stale")
    parser.add_argument("--root", type=Path, default=ROOT, help="the repository root")
    args = parser.parse_args(argv)
    numbers = compute()
    stale = 0
    for path in doc_files(args.root):
        if not path.exists():
            continue
        text = path.read_text(encoding="utf-8")
        where = str(path.relative_to(args.root))
        try:
            new = rewrite(text, numbers, where)
        except MarkerError as err:
            print(f"doc_numbers: {err}", file=sys.stderr)
            return 2
        if new == text:
            continue
        names = ", ".join(stale_blocks(text, new))
        if args.check:
            print(f"{where}: stale numbers ({names}); run `python -m tools.doc_numbers`")
            stale += 1
        else:
            path.write_text(new, encoding="utf-8")
            print(f"{where}: rewrote {names}")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())

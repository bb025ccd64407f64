"""Turning importer rows into a Course: ordering, trajectory ids, terms and splits.

Importers produce :class:`RawSubmission` rows (and :class:`RawEvent` tutor events);
:func:`assemble_course` groups them into one trajectory per (term, student, assignment), orders
each by timestamp with the source's own order (or row number) breaking ties, applies a
selection preset when one is given, and splits the course:

* several terms: the latest term (or the named ``test_terms``) is ``test``; a seeded fraction of
  the training terms' students (default 10%) is ``validation``;
* one term: a seeded split by students, default 80/10/10 train / validation / test.
"""

from __future__ import annotations

import random
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from student_gym.course.import_report import ImportReport
from student_gym.course.model import PYTHON, Course, Problem, Submission, Trajectory, TutorEvent
from student_gym.course.native import CourseFormatError
from student_gym.grader.assignments import Assignment

if TYPE_CHECKING:
    from student_gym.course.selection import Selection

BOM = "\ufeff"

_FORMATS = (
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%m/%d/%y %H:%M",
    "%d.%m.%Y %H:%M:%S",
)
_SEASONS = {"winter": 0, "spring": 1, "summer": 2, "fall": 3, "autumn": 3}


@dataclass(frozen=True, slots=True)  # millions of them in a large import
class RawSubmission:
    """One kept log row, before grouping."""

    student: str
    assignment: str
    term: str
    when: datetime | None  # None: the log has no (parseable) time; tie-breaker orders it
    tie_breaker: tuple[float, ...]  # source order / row number
    code: str
    timestamp: str | None
    logged_score: float | None
    feedback: str | None = None
    language: str = PYTHON
    redacted: bool | None = None  # None: the log has no such column
    exam: bool | None = None
    row: int | None = None  # source row, for selection examples


@dataclass(frozen=True, slots=True)  # millions of them in a large import
class RawEvent:
    """One kept tutor event (hint, intervention), before it is placed on its trajectory."""

    student: str
    assignment: str
    term: str
    when: datetime | None
    tie_breaker: tuple[float, ...]
    kind: str
    timestamp: str | None
    text: str | None


@dataclass(frozen=True)
class SplitOptions:
    """How a course is split by students (seeded, so the same import gives the same split).

    Attributes:
        validation: fraction of the training terms' students held out for validation.
        test: fraction of the students held out for test when the course has one term.
        seed: the shuffle seed.
    """

    validation: float = 0.1
    test: float = 0.1
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("validation", "test"):
            value = getattr(self, name)
            if not 0 <= value < 1:
                raise CourseFormatError(f"split fraction {name}={value!r} must be in [0, 1)")
        if self.validation + self.test >= 1:
            raise CourseFormatError("split fractions validation + test must be below 1")


def clean_code(code: str) -> tuple[str, bool]:
    """Code as Python reads it: CRLF as LF, a leading BOM dropped (as CPython's loader does).

    Returns:
        ``(code, had_bom)``.
    """
    code = code.replace("\r\n", "\n")
    if code.startswith(BOM):
        return code[len(BOM) :], True
    return code, False


def parse_timestamp(text: str) -> datetime | None:
    """Parse a log timestamp (ISO 8601, US or European forms, or epoch seconds) as naive UTC."""
    text = text.strip()
    if not text:
        return None
    when: datetime | None = None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        for fmt in _FORMATS:
            try:
                when = datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
    if when is None and re.fullmatch(r"\d{9,11}(\.\d+)?", text):
        when = datetime.fromtimestamp(float(text), tz=UTC)
    if when is not None and when.tzinfo is not None:
        when = when.astimezone(UTC).replace(tzinfo=None)
    return when


def term_name(semester: str, year: str) -> str:
    """``("Spring", "2021")`` -> ``"2021-spring"``; anything unusual is kept readable."""
    sem = re.sub(r"[^a-z0-9]+", "-", semester.strip().lower()).strip("-") or "term"
    yr = year.strip()
    if yr.endswith(".0"):
        yr = yr[:-2]
    return f"{yr}-{sem}" if yr else sem


def term_sort_key(term: str) -> tuple[int, int, str]:
    """Chronological order of term names like ``2021-spring`` (unknown shapes sort last)."""
    m = re.match(r"(\d{4})-([a-z]+)", term)
    if not m:
        return (9999, 9, term)
    return (int(m.group(1)), _SEASONS.get(m.group(2), 9), term)


def default_splits(terms: set[str], test_terms: list[str] | None) -> dict[str, str]:
    """Map terms to splits: named test terms, else the latest of several terms, is "test"."""
    ordered = sorted(terms, key=term_sort_key)
    if test_terms:
        chosen = set(test_terms)
    else:
        chosen = {ordered[-1]} if len(ordered) > 1 else set()
    return {t: ("test" if t in chosen else "train") for t in ordered}


def student_splits(
    trajectories: Iterable[Trajectory], splits: dict[str, str], options: SplitOptions
) -> dict[str, str]:
    """Held-out students of the training terms: ``validation`` (and ``test`` with one term).

    Students are sorted, then shuffled with ``options.seed``; a non-zero fraction holds out at
    least one student while at least two remain for training.
    """
    students = sorted({t.student for t in trajectories if splits.get(t.term) == "train"})
    random.Random(options.seed).shuffle(students)
    has_test_term = "test" in splits.values()
    out: dict[str, str] = {}
    at = 0
    for split, fraction in (("test", 0.0 if has_test_term else options.test),
                            ("validation", options.validation)):
        n = round(len(students) * fraction)
        if fraction > 0 and n == 0 and len(students) - at >= 3:
            n = 1
        for student in students[at : at + n]:
            out[student] = split
        at += n
    return dict(sorted(out.items()))


def _place_events(
    events: list[RawEvent], trajectories: dict[tuple[str, str, str], list[RawSubmission]],
    report: ImportReport,
) -> dict[tuple[str, str, str], tuple[TutorEvent, ...]]:
    """Tutor events per trajectory key, each placed after the submissions that preceded it."""
    by_key: dict[tuple[str, str, str], list[RawEvent]] = defaultdict(list)
    for e in events:
        key = (e.term, e.student, e.assignment)
        if key not in trajectories:
            report.note("tutor events of a trajectory without submissions (left out)")
            continue
        by_key[key].append(e)
    placed = {}
    for key, items in by_key.items():
        subs = trajectories[key]
        out = []
        for e in sorted(items, key=lambda e: (e.when or datetime.max, e.tie_breaker)):
            before = sum(1 for s in subs if _before(s.when, s.tie_breaker, e.when, e.tie_breaker))
            out.append(TutorEvent(kind=e.kind, order=before, timestamp=e.timestamp, text=e.text))
        placed[key] = tuple(out)
    return placed


def _before(
    when: datetime | None, tie: tuple[float, ...], other: datetime | None, other_tie: tuple
) -> bool:
    return (when or datetime.max, tie) < (other or datetime.max, other_tie)


def _trajectory_language(items: list[RawSubmission], report: ImportReport) -> str:
    first = items[0].language
    if all(r.language == first for r in items):
        return first
    languages = Counter(r.language for r in items)
    if len(languages) > 1:
        report.note("trajectories mixing languages (the most common kept)")
    return languages.most_common(1)[0][0]


def assemble_course(
    name: str,
    assignments: dict[str, Assignment],
    rows: list[RawSubmission],
    report: ImportReport,
    *,
    test_terms: list[str] | None = None,
    metadata: dict[str, object] | None = None,
    problems: dict[str, Problem] | None = None,
    events: list[RawEvent] | None = None,
    split_options: SplitOptions | None = None,
    selection: Selection | None = None,
) -> Course:
    """Group rows into ordered trajectories and build the course; fills the report's totals.

    Args:
        name: the course name.
        assignments: problems with tests, by id.
        rows: the kept submission rows.
        report: filled with totals, notes and the selection's counts.
        test_terms: terms held out as test (default: the latest of several).
        metadata: more header metadata.
        problems: problems without tests that rows refer to (statement, title).
        events: tutor events to place on their trajectories.
        split_options: fractions and seed of the split by students.
        selection: a selection preset (e.g. the paper's), applied before splitting.
    """
    problems = dict(problems or {})
    if selection is not None:
        rows = selection.filter_rows(rows, assignments, problems, report)
    groups: dict[tuple[str, str, str], list[RawSubmission]] = defaultdict(list)
    for r in rows:
        groups[(r.term, r.student, r.assignment)].append(r)
    for items in groups.values():
        # Rows without a time keep their place by tie-breaker after timed rows of equal rank.
        items.sort(key=lambda r: (r.when or datetime.max, r.tie_breaker))
    placed = _place_events(events or [], groups, report)
    trajectories = []
    boms = 0
    for (term, student, aid), items in sorted(groups.items()):
        times = [r.when for r in items if r.when is not None]
        ties = len(times) - len(set(times))
        if ties:
            report.note("duplicate timestamps (ordered by source order)", ties)
        subs = []
        for i, r in enumerate(items):
            code, had_bom = clean_code(r.code)
            boms += had_bom
            subs.append(
                Submission(
                    student=student,
                    assignment=aid,
                    order=i,
                    code=code,
                    timestamp=r.timestamp,
                    logged_score=r.logged_score,
                    feedback=r.feedback,
                )
            )
        trajectories.append(
            Trajectory(
                id=f"{term}/{student}/{aid}",
                student=student,
                assignment=aid,
                term=term,
                submissions=tuple(subs),
                language=_trajectory_language(items, report),
                events=placed.get((term, student, aid), ()),
            )
        )
    if boms:
        report.note("leading byte-order mark dropped from code (as Python's loader does)", boms)
    if selection is not None:
        trajectories = selection.filter_trajectories(trajectories, report)
    used = {t.assignment for t in trajectories}
    kept = {aid: a for aid, a in assignments.items() if aid in used}
    if unused := len(assignments) - len(kept):
        report.note("assignments without any kept submission (left out)", unused)
    untested = {
        aid: problems.get(aid) or Problem(id=aid, title=aid)
        for aid in sorted(used - set(kept))
    }
    report.submissions_kept = sum(len(t) for t in trajectories)
    report.trajectories = len(trajectories)
    report.assignments = len(kept)
    report.problems_without_tests = len(untested)
    terms = {t.term for t in trajectories}
    unknown = sorted(set(test_terms or ()) - terms)
    if unknown:
        raise CourseFormatError(
            f"test terms {unknown} have no kept submissions; the terms are {sorted(terms)}"
        )
    splits = default_splits(terms, test_terms) if terms else {}
    options = split_options or SplitOptions()
    held_out = student_splits(trajectories, splits, options)
    course = Course(
        name=name,
        assignments=kept,
        trajectories=trajectories,
        splits=splits,
        metadata={"source_format": report.format, **(metadata or {})},
        problems=untested,
        student_splits=held_out,
    )
    course.metadata["grades"] = course.grading
    course.metadata["split_by_students"] = {
        "validation": options.validation, "test": 0.0 if "test" in splits.values() else options.test,
        "seed": options.seed,
    }
    # What a dataset card needs to say about where the data came from (never the salt).
    course.metadata["source"] = report.source.rsplit("/", 1)[-1]
    course.metadata["student_ids"] = report.settings.get("student_ids", "")
    if report.selection:
        course.metadata["selection"] = report.selection
    report.splits = {s: len(course.split(s)) for s in ("train", "validation", "test")}
    report.grading = course.grading
    return course

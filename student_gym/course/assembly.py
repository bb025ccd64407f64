"""Turning importer rows into a Course: ordering, trajectory ids, terms and splits.

Importers produce :class:`RawSubmission` rows; :func:`assemble_course` groups them into one
trajectory per (term, student, assignment), orders each by timestamp with the source's own
order (or row number) breaking ties, and maps terms to splits (the latest term is held out
for testing unless the user names the test terms).
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime

from student_gym.assignments import Assignment
from student_gym.course.import_report import ImportReport
from student_gym.course.model import Course, Submission, Trajectory
from student_gym.course.native import CourseFormatError

_FORMATS = (
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%m/%d/%y %H:%M",
    "%d.%m.%Y %H:%M:%S",
)
_SEASONS = {"winter": 0, "spring": 1, "summer": 2, "fall": 3, "autumn": 3}


@dataclass(frozen=True)
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


def assemble_course(
    name: str,
    assignments: dict[str, Assignment],
    rows: list[RawSubmission],
    report: ImportReport,
    *,
    test_terms: list[str] | None = None,
    metadata: dict[str, object] | None = None,
) -> Course:
    """Group rows into ordered trajectories and build the course; fills the report's totals."""
    groups: dict[tuple[str, str, str], list[RawSubmission]] = defaultdict(list)
    for r in rows:
        groups[(r.term, r.student, r.assignment)].append(r)
    trajectories = []
    for (term, student, aid), items in sorted(groups.items()):
        # Rows without a time keep their place by tie-breaker after timed rows of equal rank.
        items.sort(key=lambda r: (r.when or datetime.max, r.tie_breaker))
        times = [r.when for r in items if r.when is not None]
        ties = len(times) - len(set(times))
        if ties:
            report.note("duplicate timestamps (ordered by source order)", ties)
        subs = tuple(
            Submission(
                student=student,
                assignment=aid,
                order=i,
                code=r.code,
                timestamp=r.timestamp,
                logged_score=r.logged_score,
                feedback=r.feedback,
            )
            for i, r in enumerate(items)
        )
        trajectories.append(
            Trajectory(
                id=f"{term}/{student}/{aid}",
                student=student,
                assignment=aid,
                term=term,
                submissions=subs,
            )
        )
    used = {t.assignment for t in trajectories}
    kept = {aid: a for aid, a in assignments.items() if aid in used}
    if unused := len(assignments) - len(kept):
        report.note("assignments without any kept submission (left out)", unused)
    report.submissions_kept = sum(len(t) for t in trajectories)
    report.trajectories = len(trajectories)
    report.assignments = len(kept)
    terms = {t.term for t in trajectories}
    unknown = sorted(set(test_terms or ()) - terms)
    if unknown:
        raise CourseFormatError(
            f"test terms {unknown} have no kept submissions; the terms are {sorted(terms)}"
        )
    return Course(
        name=name,
        assignments=kept,
        trajectories=trajectories,
        splits=default_splits(terms, test_terms) if terms else {},
        metadata={"source_format": report.format, **(metadata or {})},
    )

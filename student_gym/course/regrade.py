"""Regrading a course: re-run every logged submission through the grader and compare.

The paper dropped whole trajectories on any mismatch between the logged and the recomputed
score. Here the comparison is reported per assignment and the user chooses: keep everything
(metrics use the regraded score anyway), or drop the trajectories with a mismatch
(:func:`drop_mismatched`). Either way each submission's regraded report is stored in the
course, so later loads (and ``serialize``) need no grading.

Only trajectories our grader can grade are regraded: problems with tests, Python code. Others
keep their logged grades and are counted. Logs that record pass/fail (every logged score 0 or
1) are compared as pass/fail (``compare="auto"``): a partial regraded score is a fail, not a
mismatch of 0.75 against 1.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from student_gym.course.model import PYTHON, Course, Trajectory, require_tests
from student_gym.grader.assignments import Assignment
from student_gym.grader.report import GRADE_TOLERANCE, GradeReport

DEFAULT_TOLERANCE = 1e-5  # scores are fractions; the grader rounds them to 6 decimals
MAX_EXAMPLES = 20
COMPARE_MODES = ("auto", "score", "passfail")
CHUNK = 256  # submissions graded per batch, so that progress can be shown


@dataclass
class AssignmentAgreement:
    """Agreement of logged and regraded scores on one assignment."""

    submissions: int = 0
    compared: int = 0  # submissions with a logged score
    agree: int = 0

    @property
    def mismatched(self) -> int:
        return self.compared - self.agree

    @property
    def agreement(self) -> float | None:
        return self.agree / self.compared if self.compared else None


@dataclass
class RegradeResult:
    """What a regrade found; ``course`` carries the regraded reports."""

    course: Course
    tolerance: float
    compare: str = "score"  # the mode used: "score" or "passfail"
    per_assignment: dict[str, AssignmentAgreement] = field(default_factory=dict)
    mismatched_trajectories: list[str] = field(default_factory=list)
    examples: list[dict[str, Any]] = field(default_factory=list)  # first mismatches
    mismatch_kinds: Counter[str] = field(default_factory=Counter)
    not_regraded: Counter[str] = field(default_factory=Counter)  # reason -> submissions

    @property
    def compared(self) -> int:
        return sum(a.compared for a in self.per_assignment.values())

    @property
    def agree(self) -> int:
        return sum(a.agree for a in self.per_assignment.values())

    @property
    def agreement(self) -> float | None:
        return self.agree / self.compared if self.compared else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "course": self.course.name,
            "compare": self.compare,
            "tolerance": self.tolerance,
            "submissions": sum(a.submissions for a in self.per_assignment.values()),
            "compared": self.compared,
            "agree": self.agree,
            "agreement": self.agreement,
            "per_assignment": {
                aid: {
                    "submissions": a.submissions,
                    "compared": a.compared,
                    "agree": a.agree,
                    "mismatched": a.mismatched,
                    "agreement": a.agreement,
                }
                for aid, a in sorted(self.per_assignment.items())
            },
            "mismatch_kinds": dict(self.mismatch_kinds.most_common()),
            "not_regraded": dict(self.not_regraded),
            "mismatched_trajectories": self.mismatched_trajectories,
            "examples": self.examples,
        }


GradeMany = Callable[[Iterable[tuple[str, Assignment]]], list[GradeReport]]


def grade_in_chunks(
    pairs: list[tuple[str, Assignment]],
    grade_many: GradeMany | None,
    workers: int | None,
    progress: Callable[[int], None] | None,
) -> list[GradeReport]:
    """Grade ``pairs`` in batches of CHUNK, calling ``progress(done)`` after each."""
    if grade_many is None:
        from student_gym.grader import grade_many as real_grade_many

        def grade_many(batch: Iterable[tuple[str, Assignment]]) -> list[GradeReport]:
            return real_grade_many(batch, workers=workers)

    graded: list[GradeReport] = []
    for at in range(0, len(pairs), CHUNK):
        graded.extend(grade_many(pairs[at : at + CHUNK]))
        if progress is not None:
            progress(min(at + CHUNK, len(pairs)))
    return graded


def compare_mode(course: Course, compare: str = "auto") -> str:
    """The comparison a regrade uses: pass/fail when every logged score is 0 or 1 (auto)."""
    if compare not in COMPARE_MODES:
        raise ValueError(f"compare must be one of {COMPARE_MODES}, got {compare!r}")
    if compare != "auto":
        return compare
    logged = {s.logged_score for t in course.trajectories if course.gradable(t)
              for s in t.submissions if s.logged_score is not None}
    return "passfail" if logged and logged <= {0.0, 1.0} else "score"


def _mismatch_kind(logged: float, report: GradeReport, mode: str) -> str | None:
    """None when the grades agree, else a short description of how they differ."""
    regraded_pass = report.status == "passed"
    if mode == "passfail":
        logged_pass = logged >= 1 - GRADE_TOLERANCE
        if logged_pass == regraded_pass:
            return None
        if logged_pass:
            return f"logged pass, regraded {report.status}"
        return "logged fail, regraded passed"
    return "score differs, regraded " + report.status


def regrade(
    course: Course,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    workers: int | None = None,
    grade_many: GradeMany | None = None,
    compare: str = "auto",
    progress: Callable[[int], None] | None = None,
) -> RegradeResult:
    """Grade every gradable submission of ``course`` and compare with its logged score.

    Args:
        course: the course (left unchanged).
        tolerance: largest |logged - regraded| that still counts as agreement (score mode).
        workers: grader parallelism (default: all cores).
        grade_many: the batch grader (default :func:`student_gym.grader.grade_many`).
        compare: "auto" (pass/fail for binary logs, else score), "score" or "passfail".
        progress: called with the number of submissions graded after each batch.

    Returns:
        The result; its ``course`` is a copy whose gradable submissions carry their reports.

    Raises:
        NoTestsError: the course has logged grades only.
    """
    require_tests(course, "regrade")
    if not tolerance >= 0:
        raise ValueError(f"tolerance must be >= 0, got {tolerance!r}")
    mode = compare_mode(course, compare)

    pairs = [
        (s.code, course.assignments[t.assignment])
        for t in course.trajectories
        if course.gradable(t)
        for s in t.submissions
    ]
    reports = iter(grade_in_chunks(pairs, grade_many, workers, progress))
    result = RegradeResult(course=course, tolerance=tolerance, compare=mode)
    trajectories: list[Trajectory] = []
    for t in course.trajectories:
        if not course.gradable(t):
            why = f"{t.language} code" if t.language != PYTHON else "no tests"
            result.not_regraded[why] += len(t.submissions)
            trajectories.append(t)
            continue
        stats = result.per_assignment.setdefault(t.assignment, AssignmentAgreement())
        subs = []
        mismatch = False
        for s in t.submissions:
            report = replace(next(reports), runtime=0.0)  # runtime would make files differ
            subs.append(replace(s, report=report))
            stats.submissions += 1
            if s.logged_score is None:
                continue
            stats.compared += 1
            if report.score is None:  # every test of the assignment is broken
                kind = "tests broken (test_error)"
            elif mode == "score" and abs(s.logged_score - report.score) <= tolerance:
                kind = None
            else:
                kind = _mismatch_kind(s.logged_score, report, mode)
            if kind is None:
                stats.agree += 1
                continue
            mismatch = True
            result.mismatch_kinds[kind] += 1
            if len(result.examples) < MAX_EXAMPLES:
                result.examples.append(
                    {
                        "trajectory": t.id,
                        "order": s.order,
                        "logged": s.logged_score,
                        "regraded": report.score,
                        "status": report.status,
                    }
                )
        if mismatch:
            result.mismatched_trajectories.append(t.id)
        trajectories.append(replace(t, submissions=tuple(subs)))
    result.course = replace(course, trajectories=trajectories, metadata=dict(course.metadata))
    return result


def missing_reports(course: Course) -> int:
    """Gradable submissions that have no stored grader report."""
    return sum(
        1 for t in course.trajectories if course.gradable(t)
        for s in t.submissions if s.report is None
    )


def fill_reports(
    course: Course,
    *,
    workers: int | None = None,
    grade_many: GradeMany | None = None,
    progress: Callable[[int], None] | None = None,
) -> Course:
    """``course`` with a report on every gradable submission (only the missing ones graded)."""

    todo = [
        (i, j) for i, t in enumerate(course.trajectories) if course.gradable(t)
        for j, s in enumerate(t.submissions) if s.report is None
    ]
    pairs = [
        (course.trajectories[i].submissions[j].code,
         course.assignments[course.trajectories[i].assignment]) for i, j in todo
    ]
    graded = grade_in_chunks(pairs, grade_many, workers, progress)
    trajectories = list(course.trajectories)
    subs_of: dict[int, list] = {}
    for (i, j), report in zip(todo, graded, strict=True):
        subs = subs_of.setdefault(i, list(trajectories[i].submissions))
        subs[j] = replace(subs[j], report=replace(report, runtime=0.0))
    for i, subs in subs_of.items():
        trajectories[i] = replace(trajectories[i], submissions=tuple(subs))
    return replace(course, trajectories=trajectories, metadata=dict(course.metadata))


def drop_mismatched(result: RegradeResult) -> Course:
    """The regraded course without the trajectories that had any score mismatch."""
    bad = set(result.mismatched_trajectories)
    course = result.course
    kept = [t for t in course.trajectories if t.id not in bad]
    used = {t.assignment for t in kept}
    return replace(
        course,
        assignments={aid: a for aid, a in course.assignments.items() if aid in used},
        problems={aid: p for aid, p in course.problems.items() if aid in used},
        trajectories=kept,
        metadata={**course.metadata, "dropped_mismatched_trajectories": len(bad)},
    )


def print_regrade(result: RegradeResult, console: Any | None = None) -> None:
    """Print per-assignment agreement, and the mismatches by kind, as rich tables."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    how = "pass/fail" if result.compare == "passfail" else f"tolerance {result.tolerance:g}"
    table = Table(title=f"regrade of {result.course.name} ({how})")
    for col in ("assignment", "submissions", "with logged score", "agree", "agreement"):
        table.add_column(col, justify="left" if col == "assignment" else "right")
    for aid, a in sorted(result.per_assignment.items()):
        pct = "-" if a.agreement is None else f"{a.agreement:.1%}"
        table.add_row(aid, str(a.submissions), str(a.compared), str(a.agree), pct)
    overall = "-" if result.agreement is None else f"{result.agreement:.1%}"
    table.add_row(
        "all",
        str(sum(a.submissions for a in result.per_assignment.values())),
        str(result.compared),
        str(result.agree),
        overall,
        style="bold",
    )
    console.print(table)
    if result.mismatch_kinds:
        kinds = Table(title="mismatches")
        kinds.add_column("logged vs regraded")
        kinds.add_column("submissions", justify="right")
        for kind, n in result.mismatch_kinds.most_common():
            kinds.add_row(kind, str(n))
        console.print(kinds)
        console.print(
            f"{len(result.mismatched_trajectories)} trajectories have a mismatch; "
            f"first: {result.examples[0]}"
        )
    for why, n in result.not_regraded.items():
        console.print(f"not regraded ({why}): {n} submissions keep their logged grade")

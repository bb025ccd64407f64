"""Regrading a course: re-run every logged submission through the grader and compare.

The paper dropped whole trajectories on any mismatch between the logged and the recomputed
score. Here the comparison is reported per assignment and the user chooses: keep everything
(metrics use the regraded score anyway, DESIGN.md "Which grade counts"), or drop the
trajectories with a mismatch (:func:`drop_mismatched`). Either way each submission's regraded
report is stored in the course, so later loads need no grading.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from student_gym.assignments import Assignment
from student_gym.course.model import Course, Trajectory
from student_gym.grader.report import GradeReport

DEFAULT_TOLERANCE = 1e-5  # scores are fractions; the grader rounds them to 6 decimals
MAX_EXAMPLES = 20


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
    per_assignment: dict[str, AssignmentAgreement] = field(default_factory=dict)
    mismatched_trajectories: list[str] = field(default_factory=list)
    examples: list[dict[str, Any]] = field(default_factory=list)  # first mismatches

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
            "mismatched_trajectories": self.mismatched_trajectories,
            "examples": self.examples,
        }


GradeMany = Callable[[Iterable[tuple[str, Assignment]]], list[GradeReport]]


def regrade(
    course: Course,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    workers: int | None = None,
    grade_many: GradeMany | None = None,
) -> RegradeResult:
    """Grade every submission of ``course`` and compare with its logged score.

    Args:
        course: the course (left unchanged).
        tolerance: largest |logged - regraded| that still counts as agreement.
        workers: grader parallelism (default: all cores).
        grade_many: the batch grader (default :func:`student_gym.grader.grade_many`).

    Returns:
        The result; its ``course`` is a copy whose submissions carry the regraded reports.
    """
    if grade_many is None:
        from student_gym.grader import grade_many as real_grade_many

        def grade_many(pairs: Iterable[tuple[str, Assignment]]) -> list[GradeReport]:
            return real_grade_many(pairs, workers=workers)

    pairs = [
        (s.code, course.assignments[t.assignment])
        for t in course.trajectories
        for s in t.submissions
    ]
    reports = iter(grade_many(pairs))
    result = RegradeResult(course=course, tolerance=tolerance)
    trajectories: list[Trajectory] = []
    for t in course.trajectories:
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
            if abs(s.logged_score - report.score) <= tolerance:
                stats.agree += 1
                continue
            mismatch = True
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
    result.course = Course(
        name=course.name,
        assignments=dict(course.assignments),
        trajectories=trajectories,
        splits=dict(course.splits),
        metadata=dict(course.metadata),
    )
    return result


def drop_mismatched(result: RegradeResult) -> Course:
    """The regraded course without the trajectories that had any score mismatch."""
    bad = set(result.mismatched_trajectories)
    course = result.course
    kept = [t for t in course.trajectories if t.id not in bad]
    used = {t.assignment for t in kept}
    return Course(
        name=course.name,
        assignments={aid: a for aid, a in course.assignments.items() if aid in used},
        trajectories=kept,
        splits=dict(course.splits),
        metadata={**course.metadata, "dropped_mismatched_trajectories": len(bad)},
    )


def print_regrade(result: RegradeResult, console: Any | None = None) -> None:
    """Print per-assignment agreement as a rich table."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    table = Table(title=f"regrade of {result.course.name} (tolerance {result.tolerance:g})")
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
    if result.mismatched_trajectories:
        console.print(
            f"{len(result.mismatched_trajectories)} trajectories have a mismatch; "
            f"first: {result.examples[0]}"
        )

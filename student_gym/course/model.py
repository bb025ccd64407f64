"""The course data model: Submission, Trajectory, Course.

A *trajectory* is one student's ordered submissions to one assignment. A *course* is a set of
assignments plus trajectories, each tagged with a term; terms map to splits (``train`` /
``test``), so the env can default to the held-out term.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from student_gym.assignments import Assignment
from student_gym.grader.report import GradeReport


@dataclass(frozen=True)
class Submission:
    """One logged program.

    Attributes:
        student: pseudonymised student id.
        assignment: assignment id.
        order: position within the trajectory (0-based, strictly increasing).
        code: the program text.
        timestamp: ISO-8601 text, or None when the log has none.
        logged_score: the score recorded in the log, scaled to 0..1 (None if unknown).
        feedback: the feedback text the student saw, when the log has it.
        report: our grader's report on this program (the *regraded* verdict), when computed.
    """

    student: str
    assignment: str
    order: int
    code: str
    timestamp: str | None = None
    logged_score: float | None = None
    feedback: str | None = None
    report: GradeReport | None = None

    def score(self, source: str = "regraded") -> float | None:
        """The grade that counts (DESIGN.md: regraded by default, logged on request)."""
        if source == "logged":
            return self.logged_score
        if source != "regraded":
            raise ValueError(f"score source must be 'regraded' or 'logged', got {source!r}")
        return self.report.score if self.report is not None else None


@dataclass(frozen=True)
class Trajectory:
    """One student's ordered submissions to one assignment within one term."""

    id: str  # unique within the course, e.g. "S21/3f9a2c/sum_list"
    student: str
    assignment: str
    term: str
    submissions: tuple[Submission, ...]

    def __len__(self) -> int:
        return len(self.submissions)


@dataclass
class Course:
    """Assignments, trajectories and the split each term belongs to."""

    name: str
    assignments: dict[str, Assignment]
    trajectories: list[Trajectory]
    splits: dict[str, str] = field(default_factory=dict)  # term -> "train" | "test"
    metadata: dict[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._by_id = {t.id: t for t in self.trajectories}

    def trajectory(self, tid: str) -> Trajectory:
        try:
            return self._by_id[tid]
        except KeyError:
            raise KeyError(f"course {self.name!r} has no trajectory {tid!r}") from None

    def split(self, split: str) -> list[Trajectory]:
        """Trajectories whose term belongs to ``split`` ("train"/"test"), or to a term name."""
        terms = {t for t, s in self.splits.items() if s == split} or {split}
        out = [t for t in self.trajectories if t.term in terms]
        if not out and split not in self.splits.values() and split not in self.splits:
            raise KeyError(f"course {self.name!r} has no split or term {split!r}; has {self.splits}")
        return out

    def submissions(self) -> Iterator[Submission]:
        for t in self.trajectories:
            yield from t.submissions

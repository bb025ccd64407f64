"""The course data model: Submission, TutorEvent, Trajectory, Problem, Course.

A *trajectory* is one student's ordered submissions to one assignment. A *course* is a set of
problems plus trajectories, each tagged with a term. Problems with tests are
:class:`~student_gym.grader.assignments.Assignment` objects (``course.assignments``: our grader can
regrade them); problems without tests are :class:`Problem` objects (``course.problems``: only
the grade the log recorded is known). Which grade counts for a trajectory: the regraded one
where its problem has tests and its code is Python, else the logged one
(:meth:`Course.grade_source`).

Splits: each term maps to ``train`` or ``test`` (``splits``); within training terms,
``student_splits`` moves held-out students to ``validation`` (or ``test`` when the course has a
single term), so every course has a held-out split whatever its logs recorded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from student_gym.course.program_ast import same_program
from student_gym.grader.assignments import Assignment
from student_gym.grader.report import GRADE_TOLERANCE, GradeReport

SPLITS = ("train", "validation", "test")
PYTHON = "python"


@dataclass(frozen=True, slots=True)  # millions of them in a large import
class Submission:
    """One logged program.

    Attributes:
        student: pseudonymised student id.
        assignment: assignment (problem) id.
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
        """The grade from ``source``: "regraded" (our grader) or "logged" (the log's)."""
        if source == "logged":
            return self.logged_score
        if source != "regraded":
            raise ValueError(f"score source must be 'regraded' or 'logged', got {source!r}")
        return self.report.score if self.report is not None else None


class NoTestsError(ValueError):
    """A command that needs tests (regrade, evaluate, DAPO) got a course with logged grades only."""


def require_tests(course: Course, command: str) -> None:
    """Raise :class:`NoTestsError`, saying where tests go, when no trajectory can be graded.

    Args:
        course: the course.
        command: what needs the tests (``"evaluate"``, ``"regrade"``, ``"train dapo"``).
    """
    if course.has_tests:
        return
    raise NoTestsError(
        f"course {course.name!r} has logged grades only (no problem has tests our grader can "
        f"run), so {command} cannot run; tests go in an assignment-set JSON whose ids are the "
        "problem ids: add them with `student-gym import native COURSE --assignments "
        "TESTS.json` (docs/course.md, 'Adding tests later')"
    )


def collapse(
    submissions: Sequence[Submission], passed: Callable[[Submission], bool]
) -> list[Submission]:
    """The submissions a dialog shows: cut after the first that ``passed``, then each run of
    consecutive submissions with the same normalized AST collapsed to its first."""
    cut = next((i for i, s in enumerate(submissions) if passed(s)), len(submissions) - 1)
    out: list[Submission] = []
    for sub in submissions[: cut + 1]:
        if out and same_program(out[-1].code, sub.code):
            continue
        out.append(sub)
    return out


def logged_pass(sub: Submission) -> bool:
    """A submission the log graded fully correct."""
    return sub.logged_score is not None and sub.logged_score >= 1 - GRADE_TOLERANCE


@dataclass(frozen=True, slots=True)  # millions of them in a large import
class TutorEvent:
    """Something the learning environment did besides grading: a hint, an intervention.

    Attributes:
        kind: the event type as the log names it (``X-HintRequest``, ``Intervention``, ...).
        order: how many of the trajectory's submissions came before it (0: before the first).
        timestamp: ISO-8601 text, or None.
        text: what the student was shown, where the log has it.
    """

    kind: str
    order: int
    timestamp: str | None = None
    text: str | None = None


@dataclass(frozen=True, slots=True)  # millions of them in a large import
class Trajectory:
    """One student's ordered submissions to one assignment within one term."""

    id: str  # unique within the course, e.g. "S21/3f9a2c/sum_list"
    student: str
    assignment: str
    term: str
    submissions: tuple[Submission, ...]
    language: str = PYTHON  # the programming language of its code (lower case)
    events: tuple[TutorEvent, ...] = ()

    def __len__(self) -> int:
        return len(self.submissions)


@dataclass(frozen=True)
class Problem:
    """A problem the logs name but no tests exist for (yet): statement only.

    It has the fields of :class:`Assignment` that dialogs read, so it serializes the same way.
    """

    id: str
    title: str = ""
    statement: str = ""
    entry_point: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "title": self.title, "statement": self.statement}
        if self.entry_point:
            out["entry_point"] = self.entry_point
        return out


@dataclass
class Course:
    """Problems (with tests or not), trajectories, and the split of each term and student."""

    name: str
    assignments: dict[str, Assignment]  # problems with tests
    trajectories: list[Trajectory]
    splits: dict[str, str] = field(default_factory=dict)  # term -> "train" | "test"
    metadata: dict[str, object] = field(default_factory=dict)
    problems: dict[str, Problem] = field(default_factory=dict)  # problems without tests
    student_splits: dict[str, str] = field(default_factory=dict)  # held-out students

    def __post_init__(self) -> None:
        self._by_id = {t.id: t for t in self.trajectories}

    def trajectory(self, tid: str) -> Trajectory:
        try:
            return self._by_id[tid]
        except KeyError:
            raise KeyError(f"course {self.name!r} has no trajectory {tid!r}") from None

    def split_of(self, trajectory: Trajectory) -> str:
        """The split a trajectory belongs to: its term's, unless its student is held out."""
        split = self.splits.get(trajectory.term, "train")
        if split == "train":
            return self.student_splits.get(trajectory.student, "train")
        return split

    def split(self, split: str) -> list[Trajectory]:
        """Trajectories of ``split`` ("train"/"validation"/"test"), or of a term name.

        Raises:
            KeyError: ``split`` is neither a split name nor a term of the course.
        """
        if split in SPLITS:
            return [t for t in self.trajectories if self.split_of(t) == split]
        if split in self.splits or any(t.term == split for t in self.trajectories):
            return [t for t in self.trajectories if t.term == split]
        raise KeyError(
            f"course {self.name!r} has no split or term {split!r}; splits are "
            f"{list(SPLITS)}, terms {sorted(self.splits)}"
        )

    def submissions(self) -> Iterator[Submission]:
        for t in self.trajectories:
            yield from t.submissions

    # -- which grade counts ------------------------------------------------------------------

    def problem(self, aid: str) -> Assignment | Problem:
        """The assignment (with tests) or problem (without) of id ``aid``."""
        if aid in self.assignments:
            return self.assignments[aid]
        if aid in self.problems:
            return self.problems[aid]
        raise KeyError(f"course {self.name!r} has no assignment or problem {aid!r}")

    def gradable(self, trajectory: Trajectory) -> bool:
        """Whether our grader can regrade it: its problem has tests and its code is Python."""
        return trajectory.assignment in self.assignments and trajectory.language == PYTHON

    def grade_source(self, trajectory: Trajectory) -> str:
        """"regraded" where tests exist (and the code is Python), else "logged"."""
        return "regraded" if self.gradable(trajectory) else "logged"

    @property
    def has_tests(self) -> bool:
        """Whether any trajectory can be regraded (else the course is "logged grades")."""
        return any(self.gradable(t) for t in self.trajectories)

    @property
    def grading(self) -> str:
        """"regraded" (every trajectory has tests), "logged" (none) or "mixed"."""
        sources = {self.grade_source(t) for t in self.trajectories}
        if len(sources) == 1:
            return sources.pop()
        return "mixed" if sources else ("regraded" if self.assignments else "logged")

    def grade_sources(self) -> dict[str, int]:
        """Trajectories per grade source, for provenance blocks."""
        out = {"regraded": 0, "logged": 0}
        for t in self.trajectories:
            out[self.grade_source(t)] += 1
        return out

    def gradable_only(self) -> Course:
        """This course restricted to the trajectories our grader can regrade."""
        kept = [t for t in self.trajectories if self.gradable(t)]
        left_out = len(self.trajectories) - len(kept)
        return Course(
            name=self.name,
            assignments=dict(self.assignments),
            trajectories=kept,
            splits=dict(self.splits),
            metadata={**self.metadata, "logged_trajectories_left_out": left_out},
            problems={},
            student_splits=dict(self.student_splits),
        )

    def with_tests(self, assignments: dict[str, Assignment]) -> tuple[Course, list[str]]:
        """This course with tests added (or replaced) for the problems ``assignments`` names.

        Problems without tests become assignments (keeping their statement when the new one
        has none); stored reports of the upgraded problems are dropped, since they graded
        other tests. Ids the course does not use are ignored.

        Returns:
            ``(course, upgraded problem ids)``.
        """
        used = {t.assignment for t in self.trajectories} | set(self.problems)
        upgraded = sorted(aid for aid in assignments if aid in used)
        new_assignments = dict(self.assignments)
        for aid in upgraded:
            a = assignments[aid]
            old = self.problems.get(aid)
            if old is not None and not a.statement.strip() and old.statement:
                a = Assignment(id=a.id, title=a.title, statement=old.statement, tests=a.tests,
                               entry_point=a.entry_point or old.entry_point,
                               solution=a.solution, limits=a.limits)
            new_assignments[aid] = a
        changed = set(upgraded)
        trajectories = [
            t if t.assignment not in changed else Trajectory(
                id=t.id, student=t.student, assignment=t.assignment, term=t.term,
                submissions=tuple(
                    Submission(s.student, s.assignment, s.order, s.code, s.timestamp,
                               s.logged_score, s.feedback, None) for s in t.submissions),
                language=t.language, events=t.events)
            for t in self.trajectories
        ]
        course = Course(
            name=self.name,
            assignments=new_assignments,
            trajectories=trajectories,
            splits=dict(self.splits),
            metadata=dict(self.metadata),
            problems={k: v for k, v in self.problems.items() if k not in changed},
            student_splits=dict(self.student_splits),
        )
        course.metadata["grades"] = course.grading
        return course, upgraded

    # -- flat views --------------------------------------------------------------------------

    def submission_records(self) -> Iterator[dict[str, Any]]:
        """One flat dict per submission, with its split, both grades and the one that counts."""
        for t in self.trajectories:
            split = self.split_of(t)
            source = self.grade_source(t)
            for s in t.submissions:
                regraded = s.report.score if s.report is not None else None
                yield {
                    "trajectory_id": t.id,
                    "term": t.term,
                    "split": split,
                    "student": t.student,
                    "assignment": t.assignment,
                    "language": t.language,
                    "order": s.order,
                    "timestamp": s.timestamp,
                    "logged_score": s.logged_score,
                    "regraded_score": regraded,
                    "regraded_status": s.report.status if s.report is not None else None,
                    "grade_source": source,
                    "score": regraded if source == "regraded" else s.logged_score,
                    "feedback": s.feedback,
                    "code": s.code,
                }

    def to_pandas(self) -> Any:
        """The submissions as a ``pandas.DataFrame`` (needs the ``tables`` extra)."""
        try:
            import pandas as pd
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise ImportError(
                "Course.to_pandas needs pandas: pip install 'student-gym[tables]'"
            ) from exc
        columns = list(RECORD_COLUMNS)
        return pd.DataFrame(list(self.submission_records()), columns=columns)


RECORD_COLUMNS = (
    "trajectory_id", "term", "split", "student", "assignment", "language", "order",
    "timestamp", "logged_score", "regraded_score", "regraded_status", "grade_source", "score",
    "feedback", "code",
)  # fmt: skip

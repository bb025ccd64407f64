"""What the evaluation rollout produces: one record per (trajectory, start), stored as JSONL.

The protocol (docs/env.md): for a trajectory with N effective submissions and every start
k in 2..N, the learner sees real submissions 1..k-1 (``prefix = k - 1``) and writes up to
``steps`` programs (the horizon), stopping once its program is fully correct; its step j is
paired with the student's real submission k+j-1. The student has
``student_steps = min(steps, N - prefix)`` steps to pair with, which is the coverage
denominator. Steps beyond the student's last submission pair with nothing and do not enter the
pair metrics; they are still generated, so that a learner that finishes *later* than the
student is seen as such (finish-step agreement, :mod:`student_gym.evaluation.behaviour`).

Whether a learner's step counts as a program is decided when results are aggregated, by one of
two rules (:data:`VALIDITY_RULES`), so one run can be read either way:

* ``paper`` (the default, as the paper ran it): the reply holds a non-empty python block, or,
  with no block, is non-empty text (then the whole text is the program and got an honest
  verdict from the grader);
* ``strict``: as ``paper``, but unfenced text that does not parse is not a program.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from student_gym.course.model import Course

VALIDITY_RULES = ("paper", "strict")
# Bumped when records change meaning; run.json carries it and resuming across versions is refused.
PROTOCOL_VERSION = 2


@dataclass(frozen=True)
class Start:
    """One episode of the protocol: a trajectory and how many real submissions it shows."""

    trajectory: str
    student: str
    assignment: str
    prefix: int  # k - 1
    student_steps: int  # real submissions the learner's steps can be paired with (<= steps)
    student_remaining: int = 0  # real submissions after the prefix, N - prefix
    student_passed: bool = False  # whether the student's last effective submission passed

    @property
    def key(self) -> str:
        return f"{self.trajectory}#{self.prefix}"


@dataclass
class StepRecord:
    """The learner's step j and the real submission it is paired with."""

    j: int
    reply: str
    code: str
    format_ok: bool
    score: float | None  # None: every test of the assignment is broken
    status: str
    target_code: str | None = None
    target_score: float | None = None
    # Pair metrics, filled whenever both sides have a non-empty program (a superset of the
    # pairs either validity rule keeps; the rule is applied when aggregating).
    grade_proximity: float | None = None
    codebleu: float | None = None
    codebleu_fixed: float | None = None
    feedback: str = ""  # what the environment answered the learner's program

    def has_program(self, validity: str = "paper") -> bool:
        """Whether the learner produced a program at this step, under a validity rule.

        ``paper``: any non-empty program text (a python block's body, or the whole reply when
        it has no block). ``strict``: the same, but unfenced text must also parse, so free
        text that the grader took as the program is not paired with the student's code.
        """
        if validity not in VALIDITY_RULES:
            raise ValueError(f"validity must be one of {VALIDITY_RULES}, got {validity!r}")
        if not self.code.strip():
            return False
        if validity == "paper":
            return True
        return self.format_ok or self.status not in ("syntax_error", "too_large")

    def valid(self, validity: str = "paper") -> bool:
        """Both the learner and the student produced a program at this step."""
        return self.target_code is not None and self.has_program(validity)


@dataclass
class EpisodeRecord:
    """A finished episode: its start, the learner's steps and why it ended."""

    trajectory: str
    student: str
    assignment: str
    prefix: int
    student_steps: int
    steps: list[StepRecord] = field(default_factory=list)
    end: str = ""  # "correct" | "horizon" (the step limit was reached without a pass)
    # CodeBLEU of each real submission paired with a step against itself (the ceiling), per
    # student step j = 1..student_steps: {"codebleu": ..., "codebleu_fixed": ...}.
    target_self: list[dict[str, float]] = field(default_factory=list)
    horizon: int = 0  # the step limit the learner ran under
    # Real submissions left after the prefix (N - prefix, may exceed the horizon) and whether
    # the last of them passed: the student's finish step is student_remaining when it did.
    student_remaining: int = 0
    student_passed: bool = False
    # The student's real submissions j = 1..student_steps: code, score, status, feedback.
    student_submissions: list[dict[str, Any]] = field(default_factory=list)

    @property
    def student_finish(self) -> int | None:
        """The step at which the student's program passed, or None when not within the
        horizon (the log goes on past it, or the student never passed)."""
        if self.student_passed and self.student_remaining <= self.horizon:
            return self.student_remaining
        return None

    @property
    def learner_finish(self) -> int | None:
        """The step at which the learner's program passed, or None when it did not."""
        return next((s.j for s in self.steps if s.status == "passed"), None)

    @property
    def key(self) -> str:
        return f"{self.trajectory}#{self.prefix}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EpisodeRecord:
        d = dict(data)
        d["steps"] = [StepRecord(**s) for s in d.get("steps", [])]
        return cls(**d)


def sample_students(students: Sequence[str], limit: int | None, seed: int = 0) -> list[str]:
    """``limit`` of ``students`` drawn with ``seed`` (all of them, sorted, when None).

    The draw is a seeded permutation of the sorted ids, cut at ``limit``: the same seed gives
    the same students whatever the course order, and a larger limit keeps the smaller
    sample's students (it only adds more).
    """
    ids = sorted(set(students))
    if limit is None or limit >= len(ids):
        return ids
    if limit < 1:
        raise ValueError(f"the student limit must be at least 1, got {limit}")
    order = np.random.default_rng(seed).permutation(len(ids))
    return sorted(ids[int(i)] for i in order[:limit])


def protocol_starts(
    course: Course,
    split: str = "test",
    steps: int = 5,
    limit: int | None = None,
    seed: int = 0,
) -> list[Start]:
    """Every (trajectory, start k in 2..N) of the split, in course order.

    Args:
        course: the course.
        split: "train"/"test" or a term name.
        steps: the step limit (5 in the paper).
        limit: evaluate ``limit`` students, drawn with ``seed`` among the split's students
            with at least one start, with all their trajectories (all students when None).
        seed: the draw's seed.
    """
    from student_gym.dialogs import course_assignment, effective_submissions

    if steps < 1:
        raise ValueError(f"protocol_starts: steps must be at least 1, got {steps}")
    candidates = []
    for trajectory in course.split(split):
        effective = effective_submissions(trajectory, course_assignment(course, trajectory))
        if len(effective) >= 2:  # else no start k in 2..N
            candidates.append((trajectory, effective))
    chosen = set(sample_students([t.student for t, _ in candidates], limit, seed))
    starts: list[Start] = []
    for trajectory, effective in candidates:
        if trajectory.student not in chosen:
            continue
        n = len(effective)
        for prefix in range(1, n):
            starts.append(
                Start(
                    trajectory=trajectory.id,
                    student=trajectory.student,
                    assignment=trajectory.assignment,
                    prefix=prefix,
                    student_steps=min(steps, n - prefix),
                    student_remaining=n - prefix,
                    student_passed=effective[-1].report.status == "passed",
                )
            )
    return starts


def write_episode(handle: Any, record: EpisodeRecord) -> None:
    """Append one record as a JSON line and flush it (an interrupted run keeps it)."""
    handle.write(json.dumps(record.to_dict(), ensure_ascii=False) + "\n")
    handle.flush()


def read_episodes(path: str | Path) -> tuple[list[EpisodeRecord], int]:
    """Read an episodes JSONL file, skipping broken lines (e.g. the last line of a killed run).

    Returns:
        The records, and how many lines were skipped.
    """
    records: list[EpisodeRecord] = []
    skipped = 0
    path = Path(path)
    if not path.exists():
        return records, 0
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if not line.strip():
                continue
            try:
                records.append(EpisodeRecord.from_dict(json.loads(line)))
            except (json.JSONDecodeError, TypeError, KeyError):
                skipped += 1
    return records, skipped

"""What the evaluation rollout produces: one record per (trajectory, start), stored as JSONL.

The protocol (DESIGN.md): for a trajectory with N effective submissions and every start
k in 2..N, the learner sees real submissions 1..k-1 (``prefix = k - 1``) and writes up to
``steps`` programs; its step j is paired with the student's real submission k+j-1. The student
has ``student_steps = min(steps, N - prefix)`` steps to pair with, which is the coverage
denominator; steps beyond the student's last submission pair with nothing, so the rollout does
not generate them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from student_gym.course.model import Course


@dataclass(frozen=True)
class Start:
    """One episode of the protocol: a trajectory and how many real submissions it shows."""

    trajectory: str
    student: str
    assignment: str
    prefix: int  # k - 1
    student_steps: int  # real submissions the learner's steps can be paired with (<= steps)

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
    # Pair metrics, filled when the pair is valid (both produced a program).
    grade_proximity: float | None = None
    codebleu: float | None = None
    codebleu_fixed: float | None = None

    @property
    def has_program(self) -> bool:
        """Whether the learner produced a program at this step.

        A fenced code block is a program even with a syntax error (students submit those
        too); an unfenced reply counts only when it parses, so free text that the grader took
        as the program (DESIGN.md "Code in a reply") is not paired with the student's code.
        """
        if not self.code.strip():
            return False
        return self.format_ok or self.status not in ("syntax_error", "too_large")

    @property
    def valid(self) -> bool:
        """Both the learner and the student produced a program at this step."""
        return self.has_program and self.target_code is not None


@dataclass
class EpisodeRecord:
    """A finished episode: its start, the learner's steps and why it ended."""

    trajectory: str
    student: str
    assignment: str
    prefix: int
    student_steps: int
    steps: list[StepRecord] = field(default_factory=list)
    end: str = ""  # "correct" | "student_done" (no more real submissions to pair with)
    # CodeBLEU of each real submission paired with a step against itself (the ceiling), per
    # student step j = 1..student_steps: {"codebleu": ..., "codebleu_fixed": ...}.
    target_self: list[dict[str, float]] = field(default_factory=list)

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


def protocol_starts(
    course: Course,
    split: str = "test",
    steps: int = 5,
    limit: int | None = None,
) -> list[Start]:
    """Every (trajectory, start k in 2..N) of the split, in course order.

    Args:
        course: the course.
        split: "train"/"test" or a term name.
        steps: the step limit (5 in the paper).
        limit: evaluate only the first ``limit`` trajectories that have a start (all when None).
    """
    from student_gym.dialogs import course_assignment, effective_submissions

    if steps < 1:
        raise ValueError(f"protocol_starts: steps must be at least 1, got {steps}")
    starts: list[Start] = []
    used = 0
    for trajectory in course.split(split):
        if limit is not None and used >= limit:
            break
        n = len(effective_submissions(trajectory, course_assignment(course, trajectory)))
        if n < 2:
            continue  # no start k in 2..N
        used += 1
        for prefix in range(1, n):
            starts.append(
                Start(
                    trajectory=trajectory.id,
                    student=trajectory.student,
                    assignment=trajectory.assignment,
                    prefix=prefix,
                    student_steps=min(steps, n - prefix),
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


def iter_keys(records: Iterable[EpisodeRecord]) -> Iterator[str]:
    for record in records:
        yield record.key

"""In-context few-shot learners: real training-term trajectories in the prompt.

:class:`FewShotAgent` wraps any chat agent (API, LM). Before each dialog reaches the inner agent
it adds to the system message ``k`` trajectories of *other* students on the same
assignment from the training term, serialized by the shared serializer (their programs and the
feedback they got, at the same feedback level as the dialog), so the learner sees how real
novices progress.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from student_gym.course.model import Course, Trajectory
from student_gym.dialogs import (
    DialogStyle,
    effective_submissions,
    prefix_messages,
    statement_text,
)
from student_gym.learners.contract import Info, Observation, agent_name, request_replies

INTRO = (
    "Here is how other students in the course worked on this same assignment: their "
    "submissions in order and the feedback each one received."
)


def render_example(course: Course, trajectory: Trajectory, style: DialogStyle, number: int) -> str:
    """One training trajectory as text: each program and the feedback it got."""
    assignment = course.assignments[trajectory.assignment]
    n = len(effective_submissions(trajectory, assignment))
    messages = prefix_messages(course, trajectory, n, style)[2:]  # without system + statement
    parts = [f"### Example student {number}"]
    for i in range(0, len(messages), 2):
        parts.append(f"Submission {i // 2 + 1}:\n{messages[i]['content']}")
        parts.append(f"Feedback:\n{messages[i + 1]['content']}")
    return "\n\n".join(parts)


class FewShotAgent:
    """Prepends ``k`` serialized training-term trajectories of the same assignment.

    Args:
        inner: the chat agent that answers (anything with ``act``).
        course: the course holding the training term.
        k: examples per dialog (fewer when the term has fewer for the assignment).
        split: where examples come from (never the evaluated students: use "train").
        style: serializer style of the examples (default: summary feedback).
        seed: which trajectories are picked (fixed per assignment, so prompts are stable).
    """

    def __init__(
        self,
        inner: Any,
        course: Course,
        k: int = 2,
        split: str = "train",
        style: DialogStyle | None = None,
        seed: int = 0,
    ) -> None:
        if k < 1:
            raise ValueError(f"FewShotAgent: k must be at least 1, got {k}")
        self.inner = inner
        self.k = k
        self.style = style or DialogStyle()
        self.name = f"{agent_name(inner)}+fewshot{k}"
        by_assignment: dict[str, list[Trajectory]] = {}
        for t in course.split(split):
            if t.submissions:
                by_assignment.setdefault(t.assignment, []).append(t)
        rng = np.random.default_rng(seed)
        self._examples: dict[str, str] = {}
        for aid, trajectories in sorted(by_assignment.items()):
            picks = rng.permutation(len(trajectories))[:k]
            blocks = [
                render_example(course, trajectories[int(p)], self.style, i + 1)
                for i, p in enumerate(picks)
            ]
            self._examples[aid] = INTRO + "\n\n" + "\n\n".join(blocks)
        self._by_statement = {statement_text(a): aid for aid, a in course.assignments.items()}

    def examples_for(self, observation: Sequence[Mapping[str, str]]) -> str | None:
        """The examples block for the dialog's assignment (None when there are none)."""
        statement = next((m["content"] for m in observation if m["role"] == "user"), None)
        aid = self._by_statement.get(statement or "")
        return self._examples.get(aid) if aid is not None else None

    def augment(self, observation: Sequence[Mapping[str, str]]) -> tuple[dict[str, str], ...]:
        """The dialog with the examples appended to the system message (unchanged when the
        assignment has no training examples).

        The system message, not an extra turn: agents truncate dialogs by dropping the oldest
        (assistant, user) pairs after system + statement, which must never take the statement.
        """
        messages = [{"role": m["role"], "content": m["content"]} for m in observation]
        block = self.examples_for(observation)
        if block is None:
            return tuple(messages)
        if messages and messages[0]["role"] == "system":
            messages[0]["content"] = messages[0]["content"] + "\n\n" + block
        else:
            messages.insert(0, {"role": "system", "content": block})
        return tuple(messages)

    def act(self, observations: Sequence[Observation], infos: Sequence[Info]) -> list[str]:
        return request_replies(self.inner, [self.augment(o) for o in observations], infos)

    def reset(self) -> None:
        if hasattr(self.inner, "reset"):
            self.inner.reset()

    def provenance(self) -> dict[str, Any]:
        inner = getattr(self.inner, "provenance", None)
        return {"fewshot_k": self.k, "inner": inner() if callable(inner) else None}

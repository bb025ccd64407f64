"""The Agent protocol: a learner acts on a *batch* of observations at once.

An observation is a dialog (a tuple of ``{"role", "content"}`` dicts ending with a user turn);
an action is the reply text. Batching is part of the protocol so that an LM generates for every
live episode together; agents that answer one dialog at a time just loop.

Some agents need more than the dialog: the replay agent answers with the real student's next
submission, which the env states in ``info["next_target"]``. Such agents set
``needs_info = True`` and receive the infos as a keyword: ``act(observations, infos=infos)``.
:func:`act` (the rollout's own dispatcher) calls either form.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from student_gym.evaluation.rollout import StopEvaluation
from student_gym.evaluation.rollout import act_batch as act

Observation = Sequence[Mapping[str, str]]

__all__ = ["Agent", "Observation", "StopEvaluation", "act", "agent_name"]


@runtime_checkable
class Agent(Protocol):
    """Anything with ``act(observations) -> replies`` (``reset()`` and ``name`` optional)."""

    def act(self, observations: Sequence[Observation]) -> list[str]:
        """One reply per observation, in order."""
        ...


def agent_name(agent: Any) -> str:
    """The label of an agent in results tables: its ``name`` or its class name."""
    return str(getattr(agent, "name", None) or type(agent).__name__)

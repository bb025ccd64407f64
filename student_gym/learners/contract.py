"""The agent contract: one signature for everything that answers the env.

A learner acts on a *batch* of observations at once, with the env's info for each::

    replies = agent.act(observations, infos)

An observation is a dialog (a tuple of ``{"role", "content"}`` dicts ending with a user turn),
its info the env's info dict for that episode (from ``reset`` or the last ``step``), and a reply
the learner's text (usually one fenced python block). Batching is part of the contract so that
an LM generates for every live episode together; agents that answer one dialog at a time loop.
Infos always come: most agents ignore them; the replay agent reads the real student's next
submission from ``info["next_target"]``.

Optional members: ``name`` (the label in results tables and provenance; :func:`agent_name`),
``reset()`` (called once before a run) and ``provenance() -> dict`` (settings that change
results, written to the results file). An agent raises :class:`StopEvaluation` to end a run
cleanly (a cost cap): finished episodes are kept and the run can be resumed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

Observation = Sequence[Mapping[str, str]]
Info = Mapping[str, Any]


class StopEvaluation(Exception):  # noqa: N818 - it is a signal, not an error
    """Raised by an agent to stop the evaluation cleanly (e.g. an API cost cap was reached).

    Finished episodes are kept; the run can be resumed later.
    """


class Agent(Protocol):
    """Anything with ``act(observations, infos) -> replies``."""

    def act(self, observations: Sequence[Observation], infos: Sequence[Info]) -> list[str]:
        """One reply per observation, in order (``infos[i]`` belongs to ``observations[i]``)."""
        ...


def agent_name(agent: Any) -> str:
    """The label of an agent in results tables: its ``name``, else its class name."""
    name = getattr(agent, "name", None)
    return name if isinstance(name, str) and name else type(agent).__name__


def request_replies(
    agent: Agent, observations: Sequence[Observation], infos: Sequence[Info]
) -> list[str]:
    """Ask ``agent`` for one reply per observation and check what comes back.

    Raises:
        ValueError: observations and infos differ in number, or the agent returned a different
            number of replies, or one that is not a string.
    """
    if len(infos) != len(observations):
        raise ValueError(f"{len(observations)} observations but {len(infos)} infos")
    replies = list(agent.act(observations, infos))
    name = agent_name(agent)
    if len(replies) != len(observations):
        raise ValueError(
            f"agent {name} returned {len(replies)} replies for {len(observations)} observations"
        )
    for i, reply in enumerate(replies):
        if not isinstance(reply, str):
            raise ValueError(f"agent {name}: reply {i} is {type(reply).__name__}, not str")
    return replies

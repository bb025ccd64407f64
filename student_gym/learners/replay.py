"""ReplayAgent: answers with the real student's next submission (the reference upper bound).

The env knows which real submission the next step is paired with and says so in
``info["next_target"]`` (at reset and after every step), so the replay agent reads it from the
infos rather than guessing the student from the dialog, which is ambiguous: two students often
share their first programs.
"""

from __future__ import annotations

from collections.abc import Sequence

from student_gym.dialogs import format_program
from student_gym.learners.contract import Info, Observation


class ReplayAgent:
    """Replies with ``info["next_target"]["code"]`` as a fenced python block.

    Args:
        missing: the reply when an episode has no real next submission (free mode, or past the
            end of the trajectory); an empty reply is an honest "no program".
    """

    name = "replay"

    def __init__(self, missing: str = "") -> None:
        self.missing = missing

    def act(self, observations: Sequence[Observation], infos: Sequence[Info]) -> list[str]:
        """One reply per observation: the real next submission named in its info."""
        if len(infos) != len(observations):
            raise ValueError("ReplayAgent.act needs one env info per observation")
        replies = []
        for info in infos:
            target = info.get("next_target")
            replies.append(format_program(target["code"]) if target else self.missing)
        return replies

    def reset(self) -> None:
        """Stateless: nothing to reset."""

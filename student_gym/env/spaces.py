"""Observation and action spaces of StudentProgramming-v0.

An observation is a dialog: a tuple of ``{"role", "content"}`` message dicts ending with a
user turn. An action is the learner's reply text (usually a fenced python block). Gymnasium's
``Text`` space cannot hold either: its default charset has no newlines, brackets or quotes, so
it rejects ordinary code. These custom spaces implement ``contains``, ``sample`` and ``__eq__``
(vector envs compare the spaces of their sub-envs) and say they cannot be flattened.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium.spaces import Space

from student_gym.dialogs.serializer import format_program

ROLES = ("system", "user", "assistant")

# Sampled programs are built from these templates: every sample is a valid reply (a fenced
# python block that compiles) so that `action_space.sample()` exercises the grader honestly.
_PROGRAM_TEMPLATES = (
    "def solve(x):\n    return x + {n}\n",
    "print({n})\n",
    "total = 0\nfor i in range({n}):\n    total += i\nprint(total)\n",
    "def solve(xs):\n    return [v * {n} for v in xs]\n",
    "x = int(input())\nprint(x * {n})\n",
)
_WORDS = ("the", "test", "failed", "passed", "expected", "got", "line", "error", "score", "ok")


class ReplySpace(Space[str]):
    """Any reply text up to ``max_length`` characters; samples are fenced python programs.

    Every string is a valid action: a reply without a program still gets an honest verdict
    (usually a syntax error) and ``info["format_ok"] = False``.
    """

    def __init__(self, max_length: int = 65536, seed: int | np.random.Generator | None = None):
        if max_length < 1:
            raise ValueError(f"ReplySpace: max_length must be positive, got {max_length}")
        self.max_length = int(max_length)
        super().__init__(shape=None, dtype=None, seed=seed)

    @property
    def is_np_flattenable(self) -> bool:
        return False

    def sample(self, mask: Any = None, probability: Any = None) -> str:
        """A fenced python block holding one of a few small valid programs."""
        if mask is not None or probability is not None:
            raise ValueError("ReplySpace.sample takes no mask or probability")
        template = _PROGRAM_TEMPLATES[int(self.np_random.integers(len(_PROGRAM_TEMPLATES)))]
        return format_program(template.format(n=int(self.np_random.integers(0, 100))))[: self.max_length]

    def contains(self, x: Any) -> bool:
        return isinstance(x, str) and len(x) <= self.max_length

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ReplySpace) and other.max_length == self.max_length

    def __hash__(self) -> int:
        return hash(("ReplySpace", self.max_length))

    def __repr__(self) -> str:
        return f"ReplySpace(max_length={self.max_length})"

    def to_jsonable(self, sample_n: Any) -> list[str]:
        return list(sample_n)

    def from_jsonable(self, sample_n: list[str]) -> list[str]:
        return list(sample_n)


class DialogSpace(Space[tuple]):
    """Tuples of ``{"role", "content"}`` dicts: system/user/assistant turns, ending with user.

    Args:
        max_messages: the longest dialog accepted (the env's dialogs grow by two per step).
        max_length: the longest message content accepted, in characters.
    """

    def __init__(
        self,
        max_messages: int = 512,
        max_length: int = 1_000_000,
        seed: int | np.random.Generator | None = None,
    ):
        if max_messages < 1 or max_length < 1:
            raise ValueError("DialogSpace: max_messages and max_length must be positive")
        self.max_messages = int(max_messages)
        self.max_length = int(max_length)
        super().__init__(shape=None, dtype=None, seed=seed)

    @property
    def is_np_flattenable(self) -> bool:
        return False

    def _text(self, words: int) -> str:
        picks = self.np_random.integers(len(_WORDS), size=words)
        return " ".join(_WORDS[int(i)] for i in picks)

    def sample(self, mask: Any = None, probability: Any = None) -> tuple[dict[str, str], ...]:
        """A random dialog: system, statement, then 0-2 (program, feedback) pairs."""
        if mask is not None or probability is not None:
            raise ValueError("DialogSpace.sample takes no mask or probability")
        messages = [
            {"role": "system", "content": self._text(8)},
            {"role": "user", "content": self._text(12)},
        ]
        pairs = int(self.np_random.integers(0, 3))
        for _ in range(min(pairs, (self.max_messages - 2) // 2)):
            n = int(self.np_random.integers(0, 100))
            messages.append({"role": "assistant", "content": format_program(f"print({n})")})
            messages.append({"role": "user", "content": self._text(6)})
        return tuple(messages[: self.max_messages])

    def contains(self, x: Any) -> bool:
        if not isinstance(x, tuple) or not 1 <= len(x) <= self.max_messages:
            return False
        for message in x:
            if not isinstance(message, dict) or message.keys() != {"role", "content"}:
                return False
            if message["role"] not in ROLES:
                return False
            content = message["content"]
            if not isinstance(content, str) or len(content) > self.max_length:
                return False
        return x[-1]["role"] == "user"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, DialogSpace)
            and other.max_messages == self.max_messages
            and other.max_length == self.max_length
        )

    def __hash__(self) -> int:
        return hash(("DialogSpace", self.max_messages, self.max_length))

    def __repr__(self) -> str:
        return f"DialogSpace(max_messages={self.max_messages}, max_length={self.max_length})"

    def to_jsonable(self, sample_n: Any) -> list[list[dict[str, str]]]:
        return [[dict(m) for m in dialog] for dialog in sample_n]

    def from_jsonable(self, sample_n: list[list[dict[str, str]]]) -> list[tuple]:
        return [tuple(dict(m) for m in dialog) for dialog in sample_n]

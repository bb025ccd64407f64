"""Reply text -> the program it submits, and whether the reply kept the format.

The rule (docs/dialogs.md): the program is the first fenced python block; with no fence the whole reply is
taken as the program (and gets an honest verdict from the grader). Whether the reply followed
the format is a separate fact, ``format_ok``, used by format rewards.

Parsing, in order:

1. Reasoning is removed: every closed ``<think>...</think>`` block (Qwen3 and similar); a
   stray ``</think>`` (the opening tag was in the prompt) drops everything before it; an
   unclosed ``<think>`` (generation stopped while thinking) drops everything after it.
2. The first fenced block whose info string is ``python``, ``py``, ``python3`` (any case) or
   empty is the program. Fences are 3 or more backticks (or tildes) at the start of a line, up
   to 3 spaces indented, closed by a line with at least as many of the same character (as in
   CommonMark, so a program holding a ``` string can be fenced with ````). Blocks in other
   languages (```text, ```console) are skipped.
3. A block whose closing fence never comes (the model ran out of tokens) still gives its
   program, everything after the opening fence, with ``format_ok=False``.
4. No python block at all: the whole reply (after step 1), stripped, with ``format_ok=False``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# An opening fence: up to 3 spaces, 3+ backticks or tildes, then an optional info string.
_OPEN = re.compile(r"^ {0,3}(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^\n`]*?)[ \t]*$", re.MULTILINE)
_PYTHON_INFO = {"", "python", "py", "python3", "py3"}
_THINK_BLOCK = re.compile(r"<think>.*?</think>", re.DOTALL)


@dataclass(frozen=True)
class ParsedReply:
    """The program a reply submits.

    Attributes:
        code: the program text (may be empty).
        format_ok: True when the program came from a closed fenced python block.
    """

    code: str
    format_ok: bool


def strip_reasoning(reply: str) -> str:
    """Remove ``<think>`` reasoning from a reply (see the module docstring, step 1)."""
    text = _THINK_BLOCK.sub("", reply)
    if "</think>" in text:
        text = text.rsplit("</think>", 1)[1]
    if "<think>" in text:
        text = text.split("<think>", 1)[0]
    return text


def _info_language(info: str) -> str:
    """The language word of a fence's info string: "```Python title=x" -> "python"."""
    words = info.strip().split()
    return words[0].lower().lstrip("{.").rstrip("}") if words else ""


class ReplyParser:
    """Turns a model's reply into a :class:`ParsedReply` (stateless, safe to share)."""

    def parse(self, reply: str) -> ParsedReply:
        """Extract the submitted program from ``reply``.

        Args:
            reply: the raw reply text of a learner.

        Returns:
            The program and whether the reply kept the one-fenced-block format.
        """
        text = strip_reasoning(reply)
        pos = 0
        while (match := _OPEN.search(text, pos)) is not None:
            fence = match.group("fence")
            body_start = match.end() + 1  # past the newline that ends the opening line
            close = re.compile(
                rf"^ {{0,3}}{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$", re.MULTILINE
            )
            end = close.search(text, body_start) if body_start <= len(text) else None
            if _info_language(match.group("info")) not in _PYTHON_INFO:
                if end is None:
                    break  # an unclosed block in another language swallows the rest
                pos = end.end()  # skip the whole block, its closing fence included
                continue
            if end is None:
                return ParsedReply(code=text[body_start:].rstrip(), format_ok=False)
            return ParsedReply(code=text[body_start : end.start()].rstrip(), format_ok=True)
        return ParsedReply(code=text.strip(), format_ok=False)

    __call__ = parse


def parse_reply(reply: str) -> ParsedReply:
    """Shorthand for ``ReplyParser().parse(reply)``."""
    return ReplyParser().parse(reply)

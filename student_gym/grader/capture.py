"""Output capture and error text: what both the sandboxed child and the judge need.

The child runs the program with ``sys.stdout``/``sys.stderr`` replaced by a capped in-memory
buffer and ``sys.stdin`` by the test's input; the judge captures what a FalconCode script
prints the same way. Errors read as CPython prints the last line of a traceback, with the line
of the student's program where it happened (never a line of the harness or the test code).
"""

from __future__ import annotations

import builtins
import io
import re
import traceback
from typing import Any

# The builtins as they were in the fork server, before any submission or test code ran:
# test code and exception rebuilding use these, never a name a program may have replaced.
PRISTINE_BUILTINS = dict(vars(builtins))
_MAX_REPR = 400  # characters of a returned value's repr kept for feedback
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")  # "<X object at 0x7f...>": not deterministic


class OutputLimitExceeded(BaseException):
    """Raised inside the program when it prints more than the output cap."""


class ForbiddenResult(BaseException):
    """Raised when the candidate returns an object of a type the submission defined."""


class CappedText(io.TextIOBase):
    """A text stream that keeps what the program prints, up to a budget, then stops it.

    The ``exceeded`` flag stays set even if the program catches the exception, so the verdict
    cannot be escaped with a bare ``except``.
    """

    def __init__(self, budget: list[int]) -> None:
        super().__init__()
        self._parts: list[str] = []
        self._budget = budget  # shared one-element list: stdout and stderr draw from it
        self.exceeded = False

    def write(self, text: str) -> int:
        if type(text) is not str:
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        if self.exceeded or len(text) > self._budget[0]:
            self.exceeded = True
            self._budget[0] = 0
            raise OutputLimitExceeded("output limit exceeded")
        self._budget[0] -= len(text)
        self._parts.append(text)
        return len(text)

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    @property
    def encoding(self) -> str:
        return "utf-8"

    def getvalue(self) -> str:
        return "".join(self._parts)

    @property
    def buffer(self) -> _BinaryWriter:
        """``sys.stdout.buffer``: bytes written here count as UTF-8 text."""
        return _BinaryWriter(self)


class _BinaryWriter:
    def __init__(self, text: CappedText) -> None:
        self._text = text

    def write(self, data: bytes) -> int:
        self._text.write(bytes(data).decode("utf-8", "replace"))
        return len(data)

    def flush(self) -> None:
        return None


def text_stdin(data: str) -> io.TextIOWrapper:
    """A ``sys.stdin`` reading ``data``, with ``.buffer`` for programs that read bytes."""
    return io.TextIOWrapper(io.BytesIO(data.encode("utf-8", "replace")), encoding="utf-8")


# -- errors as CPython prints them ----------------------------------------------------------------


def error_fields(exc: BaseException, student_files: frozenset[str]) -> dict[str, Any]:
    """``error_type``, ``error`` (CPython's last traceback line) and the student's line."""
    line = None
    if isinstance(exc, SyntaxError) and exc.filename in student_files:
        line = exc.lineno
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename in student_files:
            line = tb.tb_lineno
        tb = tb.tb_next
    try:
        text = traceback.format_exception_only(type(exc), exc)[-1].strip()
    except BaseException:  # noqa: BLE001 - a hostile exception must not break the harness
        text = type(exc).__name__
    return {"error_type": type(exc).__name__, "error": text[:1000], "line": line}


def student_traceback(exc: BaseException, student_files: frozenset[str]) -> str:
    """The traceback CPython would print, limited to frames of the student's program."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename in student_files]
    head = "Traceback (most recent call last):\n" if frames else ""
    body = "".join(traceback.StackSummary.from_list(frames).format())
    last = "".join(traceback.format_exception_only(type(exc), exc))
    return head + body + last


def safe_repr(value: Any) -> str:
    try:
        text = repr(value)
    except BaseException:  # noqa: BLE001 - hostile __repr__
        text = f"<{type(value).__name__} object>"
    text = _ADDRESS.sub("", text)
    return text if len(text) <= _MAX_REPR else text[: _MAX_REPR - 3] + "..."

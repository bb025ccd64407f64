"""The judge's side of its conversation with the child: the program as test code sees it.

Each function of the program is a stub (:meth:`Child.stub`): calling it sends the child one
request (see :mod:`.harness`) and turns the answer into a value, an exception or an in-place
change of the caller's own argument objects. The answers are hostile: they are read with the
bounds of :mod:`.wire` and :mod:`student_gym.grader.tagged_json`, a few stray lines are skipped
(sequence numbers), an unreadable one ends the conversation as the program's fault, and
exceptions are rebuilt as grader types, never looked up by a name the child chose (a
``StopIteration``, ``SystemExit``, ``GeneratorExit`` or ``KeyboardInterrupt`` arrives as
:class:`ProgramError`, so it cannot end a test's loop early).
"""

from __future__ import annotations

import functools
import signal
import time
from collections.abc import Callable
from typing import Any

from student_gym.grader import tagged_json, wire
from student_gym.grader.capture import PRISTINE_BUILTINS

_MAX_SKIPPED = 8  # lines without the expected sequence number skipped per answer
_MAX_ANSWER = (1 << 20) + (64 << 10)  # bytes of one answer line (a value is at most 1 MiB)
_MUTABLE = (list, dict, set, bytearray)
# Exceptions that would change the test code's control flow if they arrived as themselves.
_CONTROL_FLOW = ("StopIteration", "StopAsyncIteration", "GeneratorExit", "SystemExit",
                 "KeyboardInterrupt", "BaseException")


class ProgramError(Exception):
    """An exception the program raised, as test code sees it (see the module docstring)."""

    student_fields: dict[str, Any] = {}


class ChildGone(BaseException):  # noqa: N818 - control flow, not an error of the test
    """The child stopped answering (it ended, was killed, or sent something unreadable)."""


class Forbidden(BaseException):  # noqa: N818
    """The program returned an object of a type it defined itself."""


class ChildFlag(BaseException):  # noqa: N818
    """The child ran out of memory or output while answering."""

    def __init__(self, flags: dict[str, bool]) -> None:
        super().__init__()
        self.flags = flags


class JudgeTimeout(BaseException):  # noqa: N818
    """The judge ran out of CPU time (``wall``: the test code out of wall-clock time)."""

    def __init__(self, wall: bool = False, budget: float = 0.0) -> None:
        super().__init__()
        self.wall = wall
        self.budget = budget
        self.cpu = time.process_time()


class Child:
    """The judge's side of the conversation with the child."""

    def __init__(self, to_child: int, from_child: int) -> None:
        self.send_channel = wire.Channel(to_child)
        self.replies = wire.LineReader(from_child, max_line=_MAX_ANSWER)
        self.answers = 0  # answers the current test got from the program
        self.sequence = 0
        self.waited = 0.0  # CPU seconds the judge spent reading the program's answers

    def ask(self, request: dict[str, Any]) -> dict[str, Any]:
        """One request, its answer. Each carries a sequence number the child echoes; a line
        the program wrote to the pipe itself (a forged answer, which it could have given
        honestly) is skipped, a few at most, and an unreadable line ends the conversation:
        the program's fault. The time spent here is the program's, not the test code's."""
        self.sequence += 1
        request["q"] = self.sequence
        started = time.process_time()
        wall = signal.setitimer(signal.ITIMER_REAL, 0)[0]  # the test code's clock stops
        try:
            self.send_channel.send(request)
            for _ in range(_MAX_SKIPPED):
                reply = self.replies.next()
                if reply is None or reply.get("op") == "invalid":
                    raise ChildGone("the program stopped answering, or its answer was unreadable")
                if type(reply.get("q")) is int and reply["q"] == self.sequence:
                    break
            else:
                raise ChildGone("the program's answers could not be read")
        except OSError:
            raise ChildGone("the program stopped answering") from None
        finally:
            self.waited += time.process_time() - started
            if wall:
                signal.setitimer(signal.ITIMER_REAL, wall)
        self.answers += 1
        if reply.get("forbidden"):
            raise Forbidden()
        flags = {k: True for k in ("memory", "output_limit") if reply.get(k) is True}
        if flags:
            raise ChildFlag(flags)
        return reply

    def stub(self, name: str, module: str | None = None) -> Callable[..., Any]:
        """A function of the program, as test code calls it."""

        def stub(*args: Any, **kwargs: Any) -> Any:
            request: dict[str, Any] = {"op": "call", "f": name, "a": tagged_json.to_tagged(list(args))}
            if kwargs:
                request["k"] = tagged_json.to_tagged(kwargs)
            if module is not None:
                request["mod"] = module
            reply = self.ask(request)
            if "m" in reply:
                _apply_mutations(args, _decode(reply["m"]))
            if "x" in reply:
                raise program_exception(reply["x"])
            value = _decode(reply.get("r"))
            if isinstance(value, tagged_json.Opaque) and value.type in ("TooLarge", "TooLong"):
                raise _too_large(name, value)
            return iter(value) if reply.get("it") and isinstance(value, list) else value

        stub.__name__ = stub.__qualname__ = name
        return stub

    def scope(self, listing: Any, module: str | None = None) -> dict[str, Any]:
        """The program's names as test code sees them (never one shadowing a builtin)."""
        scope: dict[str, Any] = {}
        if not isinstance(listing, dict):
            return scope
        for name, entry in list(listing.items())[:2000]:
            if not (isinstance(name, str) and name.isidentifier() and isinstance(entry, dict)):
                continue
            if name in PRISTINE_BUILTINS or (name.startswith("__") and name.endswith("__")):
                continue
            if "callable" in entry:
                scope[name] = self.stub(name, module)
            elif "module" in entry:
                scope[name] = tagged_json.Opaque("module", f"<module {name}>")
            elif "value" in entry:
                scope[name] = _decode(entry["value"])
        return scope


def _too_large(name: str, value: tagged_json.Opaque) -> ProgramError:
    exc = ProgramError(f"{name}() returned a value too large to check")
    exc.student_fields = {"error_type": "AnswerTooLarge", "line": None,
                          "error": f"AnswerTooLarge: {name}() returned {value.repr}"}
    return exc


def _decode(tagged: Any) -> Any:
    try:
        return tagged_json.from_tagged(tagged)
    except tagged_json.TaggedValueError:
        return tagged_json.Opaque("Undecodable", "<undecodable value>")


def _apply_mutations(args: tuple[Any, ...], after: Any) -> None:
    """Arguments the program changed in place (e.g. sorted a list) change here too."""
    if not isinstance(after, list):
        return
    for arg, new in zip(args, after, strict=False):
        if type(arg) is not type(new) or not isinstance(arg, _MUTABLE):
            continue
        if isinstance(arg, (list, bytearray)):
            arg[:] = new
        else:
            arg.clear()
            arg.update(new)


def program_exception(record: Any) -> BaseException:
    """The program's exception as test code can catch it: its builtin base and message, a
    grader type for control-flow exceptions."""
    record = record if isinstance(record, dict) else {}
    base_name = str(record.get("base"))[:100]
    base = PRISTINE_BUILTINS.get(base_name)
    if base_name in _CONTROL_FLOW or not (isinstance(base, type) and issubclass(base, Exception)):
        base = ProgramError
    kind = _exception_class(str(record.get("type") or base.__name__)[:100], base)
    try:
        exc = kind(str(record.get("text", ""))[:1000])
    except BaseException:  # noqa: BLE001 - a base whose constructor wants other arguments
        exc = kind()
    exc.student_fields = {  # type: ignore[attr-defined]
        "error_type": _short(record.get("error_type"), 200) or kind.__name__,
        "error": _short(record.get("error"), 2000),
        "line": record.get("line") if type(record.get("line")) is int else None}
    return exc


def _short(value: Any, limit: int) -> str | None:
    return value[:limit] if isinstance(value, str) else None


@functools.lru_cache(maxsize=256)
def _exception_class(name: str, base: type[BaseException]) -> type[BaseException]:
    if PRISTINE_BUILTINS.get(name) is base:
        return base
    return type(name if name.isidentifier() else base.__name__, (base,), {})

"""The judge: runs check and script test code outside the sandbox and asks the child for answers.

A judge is a process of its own, forked (like a child) from the grader's zygote for a job with
check or script tests, with the same isolation layers as the child (its own uid, no writes, no
reads beyond the standard library, seccomp) and its own CPU limit. It is never the caller's
process: test code that hangs or crashes ends the judge, not the caller. It holds the test
code, the assignment's ``provided_code`` and the seeds; the child holds only the program. When
test code calls into the program, the judge sends the child that one request (see
:mod:`.harness`) and turns the answer into a value, an exception or an in-place change of the
test's own argument objects. So the test's expected values, its helper functions and its
control flow never exist in the program's process, and the program's redefinitions of helper
names are invisible to the test.

What the child answers is hostile: it is read with the bounds of :mod:`.wire` and
:mod:`student_gym.tagged_json` (never an import or lookup by a name it chose; a module of the
program is an opaque value), and exceptions are rebuilt as grader types: a ``StopIteration``,
``SystemExit``, ``GeneratorExit`` or ``KeyboardInterrupt`` from the program arrives as
:class:`ProgramError`, so it cannot end a test's loop (``zip(map(candidate, ...))``) early.

Per test, the judge reports: passed (check) or points (script), the error and the failing line
of the test code, what a script printed, and whether the test itself is broken (its own code
failed before the program had answered anything, a name it uses exists nowhere, or a script's
``test_passed()`` returned no number): a broken test is the assignment's fault, never the
program's.
"""

from __future__ import annotations

import builtins
import functools
import io
import math
import random
import signal
import sys
import traceback
import types
from collections.abc import Callable
from typing import Any

from student_gym import tagged_json
from student_gym.grader import wire
from student_gym.grader.capture import CappedText, OutputLimitExceeded, error_fields, safe_repr
from student_gym.grader.cs110.autograder import Autograder
from student_gym.grader.harness import Channel, Requests

_PRISTINE_BUILTINS = dict(vars(builtins))
_MAX_SHOWN = 400
_MAX_SKIPPED = 1000  # lines without the expected sequence number skipped per answer
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
    """The test code used up the judge's CPU time."""


class Child:
    """The judge's side of the conversation with the child."""

    def __init__(self, to_child: int, from_child: int) -> None:
        self.send_channel = Channel(to_child)
        self.replies = Requests(from_child)
        self.answers = 0  # answers the current test got from the program
        self.sequence = 0

    def ask(self, request: dict[str, Any]) -> dict[str, Any]:
        """One request, its answer. Each carries a sequence number the child echoes, so a
        line the program wrote to the pipe itself is skipped (a forged line with the right
        number is an answer the program chose, which it could have given anyway)."""
        self.sequence += 1
        request["q"] = self.sequence
        try:
            self.send_channel.send(request)
        except OSError:
            raise ChildGone("the program stopped answering") from None
        for _ in range(_MAX_SKIPPED):
            reply = self.replies.next()
            if reply is None:
                raise ChildGone("the program stopped answering")
            if reply.get("q") == self.sequence:
                break
        else:
            raise ChildGone("the program's answers could not be read")
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
            if name in _PRISTINE_BUILTINS or (name.startswith("__") and name.endswith("__")):
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


def _as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


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
    base = _PRISTINE_BUILTINS.get(base_name)
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
    if _PRISTINE_BUILTINS.get(name) is base:
        return base
    return type(name if name.isidentifier() else base.__name__, (base,), {})


def private_random(seed: int, child: Child | None = None) -> types.ModuleType:
    """A ``random`` module of the test's own, seeded. With ``child``, ``random.seed(x)`` also
    seeds the program's ``random`` (FalconCode scripts seed, run the program, seed again)."""
    module = types.ModuleType("random")
    generator = random.Random(seed)
    for name in random.__all__:
        value = getattr(generator, name, None)
        setattr(module, name, value if callable(value) else getattr(random, name))
    module.Random, module.SystemRandom = random.Random, random.SystemRandom
    if child is not None:
        def seed_both(a: Any = None, *args: Any, **kwargs: Any) -> None:
            generator.seed(a, *args, **kwargs)
            if type(a) is int:
                child.ask({"op": "seed", "seed": a})

        module.seed = seed_both  # type: ignore[attr-defined]
    return module


def test_builtins(modules: dict[str, types.ModuleType],
                  importer: Callable[[str], types.ModuleType | None] | None = None,
                  **overrides: Any) -> dict[str, Any]:
    """Builtins for test code: pristine, with ``import`` of ``modules`` served from the dict."""
    real_import = _PRISTINE_BUILTINS["__import__"]

    def test_import(name: str, globals_: Any = None, locals_: Any = None,
                    fromlist: Any = (), level: int = 0) -> Any:
        top = name.partition(".")[0]
        if level == 0 and top in modules:
            return modules[name] if fromlist and name in modules else modules[top]
        if level == 0 and importer is not None:
            served = importer(top)
            if served is not None:
                return served
        return real_import(name, globals_, locals_, fromlist, level)

    return dict(_PRISTINE_BUILTINS, __import__=test_import, **overrides)


class Judge:
    """Runs one job's check and script tests."""

    def __init__(self, job: dict[str, Any], channel: Channel, child: Child) -> None:
        self.job = job
        self.channel = channel
        self.child = child
        self.entry_point: str | None = job.get("entry_point")
        self.provided = job.get("provided_code") or ""
        self.output_cap = int(job.get("output_bytes", 64 * 1024))
        self.program_names = {*job.get("program_names", ()), self.entry_point}
        self.cpu = float(job.get("cpu_seconds", 2.0))

    def run(self) -> None:
        signal.signal(signal.SIGXCPU, _on_cpu_limit)
        try:
            for test in self.job["tests"]:
                self.child.answers = 0
                try:
                    result = self.check(test) if test["kind"] == "check" else self.script(test)
                except ChildGone:
                    return  # the parent decides from how the child ended
                self.channel.send({"ev": "judged", "i": test["i"], **result})
        finally:
            try:
                self.child.send_channel.send({"op": "end"})
            except OSError:
                pass
            self.channel.send({"ev": "end"})

    def check(self, test: dict[str, Any]) -> dict[str, Any]:
        seed = int(self.job.get("seed", 0))
        filename = "<test>"
        _remember(filename, test["code"])
        try:
            listing = self.child.ask({"op": "names", "seed": seed})
            if "names" not in listing:  # the program could not be loaded
                return {"passed": False, **wire.error_of(listing)}
            scope = self.child.scope(listing["names"])
            scope.update(__name__="__test__",
                         __builtins__=test_builtins({"random": private_random(seed)},
                                                    print=_discard))
            exec(compile(self.provided, "<provided>", "exec", dont_inherit=True), scope)
            # The program's data values are answers already; its function names are not.
            self.child.answers = int(any(isinstance(e, dict) and "value" in e
                                         for e in _as_dict(listing["names"]).values()))
            exec(compile(test["code"], filename, "exec", dont_inherit=True), scope)
            if self.entry_point is not None and callable(scope.get("check")):
                if self.entry_point not in scope:
                    raise NameError(f"name {self.entry_point!r} is not defined")
                scope["check"](scope[self.entry_point])
        except ChildGone:
            raise
        except BaseException as exc:  # noqa: BLE001 - classified below
            return self.failure(exc, filename)
        return {"passed": True}

    def script(self, test: dict[str, Any]) -> dict[str, Any]:
        filename = "test_script.py"
        _remember(filename, test["script"])
        out = CappedText([self.output_cap])
        program_module = test["filename"][:-3] if test["filename"].endswith(".py") else None
        child = self.child

        def execute(name: str, inputs: list[Any]) -> tuple[str, str]:
            reply = child.ask({"op": "run", "file": name, "inputs": [str(i) for i in inputs]})
            if "x" in reply:
                raise program_exception(reply["x"])
            stdout, tb = reply.get("stdout"), reply.get("tb", "")
            return (stdout if isinstance(stdout, str) else "", tb if isinstance(tb, str) else "")

        def compiles(name: str) -> bool:
            return child.ask({"op": "compiles", "file": name}).get("r") is True

        def import_program(name: str) -> types.ModuleType | None:
            if name != program_module:
                return None
            reply = child.ask({"op": "import", "name": name})
            if "x" in reply:
                raise program_exception(reply["x"])
            module = types.ModuleType(name)
            vars(module).update(child.scope(reply.get("names"), module=name))
            return module

        def script_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
            """Reads come from the program's directory; writes go nowhere."""
            if set(str(mode)) <= {"r", "t"}:
                reply = child.ask({"op": "read", "file": str(file)})
                if "x" in reply:
                    raise program_exception(reply["x"])
                return io.StringIO(reply.get("text") if isinstance(reply.get("text"), str) else "")
            return io.BytesIO() if "b" in str(mode) else io.StringIO()

        def script_print(*args: Any, sep: str | None = " ", end: str | None = "\n",
                         file: Any = None, flush: bool = False) -> None:
            del flush
            if file is None or file is sys.stdout:  # what a script sends to stderr is not shown
                out.write((" " if sep is None else sep).join(map(str, args))
                          + ("\n" if end is None else end))

        grader = Autograder(execute, compiles, out.write)
        modules = {"random": private_random(int(test.get("seed", 0)), child), **grader.modules()}
        scope: dict[str, Any] = {
            "__name__": "__autograder__", "__file__": filename,
            "__builtins__": test_builtins(modules, import_program, open=script_open,
                                          print=script_print)}
        result: dict[str, Any] = {}
        try:
            child.ask({"op": "seed", "seed": int(test.get("seed", 0))})
            child.answers = 0
            exec(compile(test["script"], filename, "exec", dont_inherit=True), scope)
            points = scope["test_passed"]()
            out.write(f"Unit Test Returned: {points}\n")
            if type(points) in (int, float) and math.isfinite(points):
                result["points"] = float(points)
            else:
                result.update(broken=True, error_type="TypeError",
                              error=f"TypeError: test_passed() returned {safe_repr(points)}")
        except ChildGone:
            raise
        except BaseException as exc:  # noqa: BLE001 - classified below
            result = self.failure(exc, filename)
        result["output"] = out.getvalue()[: self.output_cap]
        return result

    def failure(self, exc: BaseException, test_file: str) -> dict[str, Any]:
        """A test that did not pass: the program's fault, or the test's own (``broken``)."""
        lines = [f.line for f in traceback.extract_tb(exc.__traceback__)
                 if f.filename == test_file and f.line]
        result: dict[str, Any] = {"passed": False,
                                  "call": lines[-1][:_MAX_SHOWN] if lines else None}
        if isinstance(exc, Forbidden):
            return {**result, "forbidden": True}
        if isinstance(exc, ChildFlag):
            return {**result, **exc.flags}
        if isinstance(exc, OutputLimitExceeded):
            return {**result, "output_limit": True}
        if isinstance(exc, JudgeTimeout):
            return {**result, "broken": True, "error_type": "TestTimeout",
                    "error": f"the test code used more than {self.cpu * 2 + 1:g} s of CPU time"}
        fields = getattr(exc, "student_fields", None)
        if isinstance(fields, dict):  # the program raised in a call the test made
            return {**result, **fields}
        fields = error_fields(exc, frozenset())
        if not isinstance(exc, AssertionError) and self._test_fault(exc):
            fields["broken"] = True
        return {**result, **fields}

    def _test_fault(self, exc: BaseException) -> bool:
        """Whether the test code failed on its own, whatever the program did: before the
        program answered anything, or for want of a name no correct program defines (the
        entry point, or a top-level name of the reference solution, is the program's to
        define). A program cannot make a test look broken: a correct one would meet the same."""
        if isinstance(exc, NameError):
            name = getattr(exc, "name", None)
            return name is not None and name not in self.program_names
        return self.child.answers == 0


def _on_cpu_limit(signum: int, frame: Any) -> None:
    raise JudgeTimeout()


def _remember(filename: str, source: str) -> None:
    import linecache

    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)


def _discard(*args: Any, **kwargs: Any) -> None:
    """``print`` for check tests: test code prints nowhere."""


def judge_main(job: dict[str, Any], channel: Channel, to_child: int, from_child: int) -> None:
    """Run a judge job (called in the judge process after its sandbox is set up)."""
    Judge(job, channel, Child(to_child, from_child)).run()

"""The judge: runs check and script test code outside the sandbox and asks the child for answers.

A judge is a process of its own, forked from the grader's zygote, with the child's isolation
layers and a uid of its own. The fork server keeps one per slot (:func:`serve_judge`): each job
arrives with its own pipes, and its test code runs in fresh scopes with fresh modules and its
own CPU and wall-clock budgets. It is never the caller's process: test code that hangs or
crashes ends the judge, not the caller. It holds the test code, the assignment's
``provided_code`` and the seeds; the child holds only the program. When test code calls into
the program, the judge asks the child for that one call (:mod:`.program_proxy`), so the test's
expected values, its helper functions and its control flow never exist in the program's
process, and the program's redefinitions of helper names are invisible to the test.

Per test, the judge reports: passed (check) or points (script), the error and the failing line
of the test code, what a script printed, and whether the test itself is broken (see
:meth:`Judge._test_fault`: only what no program could have caused): a broken test is the
assignment's fault, never the program's.
"""

from __future__ import annotations

import io
import math
import os
import random
import signal
import socket
import sys
import time
import traceback
import types
from collections.abc import Callable
from typing import Any

from student_gym.grader import wire
from student_gym.grader.capture import (
    PRISTINE_BUILTINS,
    CappedText,
    OutputLimitExceeded,
    error_fields,
    safe_repr,
)
from student_gym.grader.cs110.autograder import Autograder
from student_gym.grader.program_proxy import (
    Child,
    ChildFlag,
    ChildGone,
    Forbidden,
    JudgeTimeout,
    program_exception,
)

_MAX_SHOWN = 400


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
    real_import = PRISTINE_BUILTINS["__import__"]

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

    return dict(PRISTINE_BUILTINS, __import__=test_import, **overrides)


class Judge:
    """Runs one job's check and script tests."""

    def __init__(self, job: dict[str, Any], channel: wire.Channel, child: Child) -> None:
        self.job = job
        self.channel = channel
        self.child = child
        self.entry_point: str | None = job.get("entry_point")
        self.provided = job.get("provided_code") or ""
        self.output_cap = int(job.get("output_bytes", 64 * 1024))
        self.program_names = {*job.get("program_names", ()), self.entry_point}
        self.has_solution = bool(job.get("program_names"))
        self.wall_budget = float(job.get("wall_seconds", 8.0)) / 2
        self.cpu = float(job.get("cpu_seconds", 2.0))

    def run(self) -> None:
        cpu_budget = self.cpu * 2 + 1
        self.started_cpu = time.process_time()
        # The judge is kept from job to job: each job gets its own CPU budget.
        signal.signal(signal.SIGPROF, lambda *_: _raise(JudgeTimeout(budget=cpu_budget)))
        signal.setitimer(signal.ITIMER_PROF, cpu_budget)
        # Test code that blocks (sleeps, waits) is stopped by the judge itself, before the
        # caller's wall clock would end the job and blame the program; the clock is paused
        # while the judge waits for the program's answers.
        signal.signal(signal.SIGALRM, lambda *_: _raise(JudgeTimeout(wall=True)))
        try:
            for test in self.job["tests"]:
                signal.setitimer(signal.ITIMER_REAL, self.wall_budget)
                self.child.answers = 0
                try:
                    result = self.check(test) if test["kind"] == "check" else self.script(test)
                except ChildGone:
                    return  # the parent decides from how the child ended
                signal.setitimer(signal.ITIMER_REAL, 0)
                self.channel.send({"ev": "judged", "i": test["i"], **result})
        finally:
            signal.setitimer(signal.ITIMER_PROF, 0)
            signal.setitimer(signal.ITIMER_REAL, 0)
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
            # What does not depend on the program comes first: a failure here is the test's.
            provided = compile(self.provided, "<provided>", "exec", dont_inherit=True)
            code = compile(test["code"], filename, "exec", dont_inherit=True)
            helpers: dict[str, Any] = {"__builtins__": test_builtins({})}
            exec(provided, helpers)
            listing = self.child.ask({"op": "names", "seed": seed})  # the program's answer
            if "names" not in listing:  # the program could not be loaded
                return {"passed": False, **wire.error_of(listing)}
            scope = self.child.scope(listing["names"])
            scope.update(__name__="__test__",
                         __builtins__=test_builtins({"random": private_random(seed)},
                                                    print=_discard))
            exec(provided, scope)  # the assignment's helpers win over the program's names
            # A listing of functions only is not yet an answer: every stub looks alike until
            # it is called. Data values and modules are the program's answers already.
            entries = listing["names"].values() if isinstance(listing["names"], dict) else ()
            self.child.answers = int(any(not (isinstance(e, dict) and set(e) == {"callable"})
                                         for e in entries))
            exec(code, scope)
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
            else:  # the script's fault, unless the program's output made it so
                result.update(broken=child.answers == 0, error_type="TypeError",
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
            # Broken only when the test code itself used the time (reading the program's
            # answers is the program's cost: flooding the judge must not launder a test).
            mine = exc.cpu - self.started_cpu - self.child.waited
            return {**result, "broken": exc.wall or mine > exc.budget / 2,
                    "error_type": "TestTimeout",
                    "error": "the test code ran out of time" if exc.wall or mine > exc.budget / 2
                    else "the program's answers took the test's time"}
        fields = getattr(exc, "student_fields", None)
        if isinstance(fields, dict):  # the program raised in a call the test made
            return {**result, **fields}
        fields = error_fields(exc, frozenset())
        if not isinstance(exc, AssertionError) and self._test_fault(exc):
            fields["broken"] = True
        return {**result, **fields}

    def _test_fault(self, exc: BaseException) -> bool:
        """Whether the test code failed on its own, whatever the program did.

        Only what no program can influence counts: a failure before the program answered
        anything (the assignment's helper code, the test's own set-up: the program's
        functions are stubs that all look alike until called), or a ``NameError`` for a name
        the reference solution does not define either (without a reference solution, any
        missing name may be one the program should have defined: its fault). Everything
        after the program's first answer (a data value or module among its names included)
        may depend on the program, so it is the program's: a program cannot make a test look
        broken and have it left out of its score.
        """
        if isinstance(exc, NameError):  # a program may leave a name out on purpose
            name = getattr(exc, "name", None)
            return self.has_solution and name is not None and name not in self.program_names
        return self.child.answers == 0


def _raise(exc: BaseException) -> None:
    raise exc


def _remember(filename: str, source: str) -> None:
    import linecache

    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)


def _discard(*args: Any, **kwargs: Any) -> None:
    """``print`` for check tests: test code prints nowhere."""


def serve_judge(sock_fd: int) -> None:
    """A kept judge's loop: one job after another, until the fork server closes the socket.

    Each job arrives as four fds (its job pipe, its result channel, the child's answers, the
    child's requests); each job's test code runs in fresh scopes with fresh modules of its
    own, and nothing a program sent survives the job.
    """
    sock = socket.socket(fileno=sock_fd)
    while True:
        try:
            data, fds, _, _ = socket.recv_fds(sock, 16, 4)
        except OSError:
            return
        if not data or len(fds) != 4:
            return
        job_fd, channel_fd, from_child, to_child = fds
        try:
            job = wire.read_job(job_fd)
            Judge(job, wire.Channel(channel_fd), Child(to_child, from_child)).run()
        finally:
            for fd in fds[1:]:  # the job pipe was closed once read
                try:
                    os.close(fd)
                except OSError:
                    pass

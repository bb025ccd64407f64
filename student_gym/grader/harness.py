"""The in-child test harness: runs one submission's tests and reports over the result channel.

This module is imported by the fork server *before* it forks, so a child starts with it (and
the modules it needs) already loaded. It runs only in the child, after the sandbox is set up
(see :mod:`student_gym.grader.child`). It never sees expected values: call tests send back the
value the function returned, IO tests the text the program printed, and the parent decides.

Messages are newline-delimited JSON objects written to a private pipe fd, each carrying the
job's token; anything the program writes to fd 1/2 goes to /dev/null and anything it prints
through ``sys.stdout`` lands in a capped in-memory buffer, so nothing it prints can forge a
verdict.
"""

from __future__ import annotations

import builtins
import functools
import importlib.util
import io
import json
import linecache
import os
import random
import re
import sys
import traceback
from collections.abc import Callable
from typing import Any

from student_gym import tagged_json
from student_gym.grader import policy, replay, submission_types

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


class Channel:
    """Writes tagged messages to the private result fd."""

    def __init__(self, fd: int, token: str) -> None:
        self._fd = fd
        self._token = token
        self._write = os.write  # captured now: the program may patch the os module later
        self._dumps = json.dumps

    def send(self, message: dict[str, Any]) -> None:
        message["k"] = self._token
        data = ("\n" + self._dumps(message, separators=(",", ":")) + "\n").encode("utf-8", "replace")
        view = memoryview(data)
        while view:
            written = self._write(self._fd, view)
            view = view[written:]


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


# -- running ---------------------------------------------------------------------------------


class Runner:
    """Runs one job inside the child. ``job`` is the JSON the parent sent (no expected values)."""

    def __init__(self, job: dict[str, Any], channel: Channel) -> None:
        self.job = job
        self.channel = channel
        self.filename: str = job.get("filename") or "main.py"
        self.student_files = frozenset({self.filename})
        self.output_cap = int(job["limits"]["output_bytes"])
        self.forbidden = False
        self.last_error: BaseException | None = None
        # Assignment policy (grader/policy.py): the program's builtins and compile under it.
        self.runtime = policy.ProgramRuntime(job["policy"], lambda v: channel.send(
            {"ev": "policy", **v})) if job.get("policy") else None
        self.program_builtins = self.runtime.builtins if self.runtime else builtins

    # A fresh capture of stdout/stderr/stdin around one run of student code.
    def capture(self, stdin: str) -> tuple[CappedText, CappedText]:
        budget = [self.output_cap]
        out, err = CappedText(budget), CappedText(budget)
        sys.stdout, sys.stderr, sys.stdin = out, err, text_stdin(stdin)
        return out, err

    def guarded(self, fn: Callable[[], Any], stdin: str = "", exit_ok: bool = True) -> dict[str, Any]:
        """Run ``fn`` with captured output; return its value or error as message fields.

        ``exit_ok``: a ``SystemExit`` ends a whole-program run normally (as in CPython), but
        inside a tested call it is an error (the function never returned).
        """
        out, err = self.capture(stdin)
        self.last_error = None
        result: dict[str, Any] = {}
        try:
            result["value"] = fn()
        except SystemExit as exc:
            if not exit_ok:
                result.update(error_fields(exc, self.student_files))
        except OutputLimitExceeded:
            result["output_limit"] = True
        except ForbiddenResult:
            self.forbidden = True
        except MemoryError as exc:
            result.update(error_fields(exc, self.student_files), memory=True)
        except BaseException as exc:  # noqa: BLE001 - whatever the program raises is a verdict
            result.update(error_fields(exc, self.student_files))
            self.last_error = exc
        if out.exceeded or err.exceeded:
            result["output_limit"] = True
        if self.forbidden:
            result["forbidden"] = True
        result["stdout"] = out.getvalue()
        return result

    def run(self) -> None:
        code: str = self.job["code"]
        linecache.cache[self.filename] = (len(code), None, code.splitlines(True), self.filename)
        try:
            compiled = self.runtime.compile(code, self.filename) if self.runtime else compile(
                code, self.filename, "exec", dont_inherit=True)
        except SyntaxError as exc:
            self.channel.send({"ev": "syntax", **error_fields(exc, self.student_files)})
            return
        except (ValueError, UnicodeError) as exc:  # null bytes, lone surrogates
            self.channel.send({"ev": "syntax", "error_type": "SyntaxError", "line": None,
                               "error": f"SyntaxError: {exc}"})
            return
        except (RecursionError, MemoryError) as exc:  # nested too deeply for the compiler
            self.channel.send({"ev": "syntax", **error_fields(exc, self.student_files)})
            return
        tests = self.job["tests"]
        namespace: dict[str, Any] | None = None
        if any(t["kind"] in ("call", "check") for t in tests):
            namespace = self.load(compiled)
        for index, test in enumerate(tests):
            self.forbidden = False
            kind = test["kind"]
            if kind in ("call", "check") and namespace is None:
                continue  # the parent marks them failed with the load error
            random.seed(self.job.get("seed", 0))
            if kind == "call":
                message = self.run_call(namespace, test)
            elif kind == "check":
                message = self.run_check(namespace, test)
            elif kind == "io":
                message = self.run_io(compiled, test)
            else:
                message = self.run_script(test)
            self.channel.send({"ev": "test", "i": index, **message})
        self.channel.send({"ev": "end"})

    def load(self, compiled: Any) -> dict[str, Any] | None:
        """Run the program once as a module; report a top-level error and return None."""
        namespace = {"__name__": "solution", "__builtins__": self.program_builtins,
                     "__file__": self.filename}
        random.seed(self.job.get("seed", 0))
        result = self.guarded(lambda: exec(compiled, namespace))
        if "error" in result or result.get("output_limit"):
            self.channel.send({"ev": "load", **_without(result, "value")})
            return None
        return namespace

    def run_call(self, namespace: dict[str, Any], test: dict[str, Any]) -> dict[str, Any]:
        entry = self.job["entry_point"]

        def call() -> Any:
            function = namespace.get(entry)
            if function is None:
                raise NameError(f"name {entry!r} is not defined")
            return function(*tagged_json.from_tagged(test["args"]))

        result = self.guarded(call, exit_ok=False)
        del result["stdout"]  # only IO tests are judged by what was printed
        if "value" in result:
            value = result.pop("value")
            result["value"] = replay.encode(value)
            result["repr"] = safe_repr(value)
        return result

    def guard(self, value: Any) -> None:
        """Refuse a result of a type the submission defined (the always-equal object)."""
        if submission_types.contains_submission_object(value, self.student_files):
            self.forbidden = True
            raise ForbiddenResult(type(value).__name__)

    def call_log(self) -> replay.CallLog:
        return replay.CallLog(lambda exc: error_fields(exc, self.student_files), self.guard)

    def run_check(self, namespace: dict[str, Any], test: dict[str, Any]) -> dict[str, Any]:
        """Run the test code against the program and log what crossed; the parent judges.

        The log (calls into the program and their results) is all the parent uses: it runs the
        same test code again against it (:mod:`.replay`), so nothing here can declare a pass.
        """
        entry = self.job.get("entry_point")
        log = self.call_log()
        scope = log.scope(namespace)
        seed = self.job.get("seed", 0)
        scope.update(__name__="__test__",
                     __builtins__=replay.judge_builtins({"random": replay.private_random(seed)}))
        compiled = compile(test["code"], "<test>", "exec", dont_inherit=True)

        def check() -> None:
            exec(compiled, scope)
            if entry is not None and callable(scope.get("check")):
                function = namespace.get(entry)
                if function is None:
                    raise NameError(f"name {entry!r} is not defined")
                scope["check"](log.wrap(entry, function))

        result = self.guarded(check, exit_ok=False)
        return {"log": log.message(), **_flags(result)}

    def run_io(self, compiled: Any, test: dict[str, Any]) -> dict[str, Any]:
        namespace = {"__name__": "__main__", "__builtins__": self.program_builtins,
                     "__file__": self.filename}
        result = self.guarded(lambda: exec(compiled, namespace), stdin=test.get("stdin", ""))
        result.pop("value", None)
        return result

    def run_script(self, test: dict[str, Any]) -> dict[str, Any]:
        """A FalconCode scored script, run against the program and logged; the parent judges.

        The program is written to the working directory; the script's ``autograder.run_script``
        runs it in this process, and the script may also import it as a module.
        """
        from student_gym.grader.cs110.autograder import Autograder, execute_program, file_compiles

        filename = test.get("filename") or "main.py"
        with open(filename, "w", encoding="utf-8") as handle:
            handle.write(self.job["code"])
        self.student_files = frozenset({self.filename, filename})
        if "" not in sys.path:  # scripts may `import` the program from the working dir
            sys.path.insert(0, "")
        log = self.call_log()
        run_program = functools.partial(execute_program, runtime=self.runtime)
        grader = Autograder(log.wrap("run_script", run_program),
                            log.wrap("code_compiles", file_compiles))
        program_module = filename[:-3] if filename.endswith(".py") else None

        def import_program(name: str) -> Any:
            if name != program_module:
                return None
            module = sys.modules.get(name)
            if module is None:  # by relative path: the sandbox cannot stat the cwd's parents
                spec = importlib.util.spec_from_file_location(name, filename)
                module = importlib.util.module_from_spec(spec)
                module.__builtins__ = self.program_builtins  # type: ignore[attr-defined]
                sys.modules[name] = module
                try:
                    spec.loader.exec_module(module)
                except BaseException as exc:
                    del sys.modules[name]
                    log.import_failed(name, exc)
                    raise
            return log.module_proxy(module)

        modules = {"random": replay.private_random(test.get("seed", 0), share_seed=True),
                   **grader.modules()}
        scope = {"__name__": "__autograder__", "__file__": "test_script.py",
                 "__builtins__": replay.judge_builtins(modules, import_program, open=log.open)}
        compiled = compile(test["script"], "test_script.py", "exec", dont_inherit=True)
        random.seed(test.get("seed", 0))

        def score() -> None:
            exec(compiled, scope)
            scope["test_passed"]()

        result = self.guarded(score)
        return {"log": log.message(), **_flags(result)}


def _flags(result: dict[str, Any]) -> dict[str, Any]:
    """What the child reports itself: only verdicts that can hurt the program, never a pass."""
    return {k: True for k in ("forbidden", "memory", "output_limit") if result.get(k)}


def _without(d: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in d.items() if k != key}


def safe_repr(value: Any) -> str:
    try:
        text = repr(value)
    except BaseException:  # noqa: BLE001 - hostile __repr__
        text = f"<{type(value).__name__} object>"
    text = _ADDRESS.sub("", text)
    return text if len(text) <= _MAX_REPR else text[: _MAX_REPR - 3] + "..."

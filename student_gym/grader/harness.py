"""The in-child harness: answers requests about one program, and nothing else.

Runs only in the sandboxed child (see :mod:`student_gym.grader.child`), after the sandbox is
set up. The child holds its program and the requests it is sent, never a test's code or an
expected value: the fork server sends the calls and stdins of call and IO tests (the parent
compares the answers), and a judge process (:mod:`.judge`), which runs check and script test
code outside the sandbox, sends whatever that test code asks of the program, one request at a
time. Requests (``"op"``):

* ``load``: run the program once as the module ``solution`` (its top-level error, if any, is
  also reported on the result channel as a ``load`` event: call/check tests then cannot run);
* ``call``: call one of its functions (``f``, in module ``mod`` or the loaded program) with
  tagged arguments ``a``/``k``; the answer is a tagged value ``r`` (an iterator drained into a
  list, ``it``), or the exception ``x``, plus ``m``: the arguments after the call when it
  changed them in place;
* ``names``: the program's top-level names as test code may see them (callable, small data
  value, or an opaque module);
* ``run``: run the program as ``__main__`` with a ``stdin`` (IO tests) or an ``inputs`` list
  and a ``file`` (FalconCode ``run_script``): its stdout and traceback;
* ``import``: import the program under a module name (scripts do ``import lab1``);
* ``read`` / ``compiles``: a file the program wrote in its directory; whether it compiles.

Answers are newline-delimited JSON written to a private fd; a returned object whose type the
submission defined is refused (``forbidden``) when a judge asked, since test code would compare
it in the judge. Anything the program prints goes to a capped buffer, never to a channel.
"""

from __future__ import annotations

import builtins
import collections.abc
import json
import linecache
import random
import sys
import types
from collections.abc import Callable
from typing import Any

from student_gym.grader import policy, submission_types, tagged_json, wire
from student_gym.grader.capture import (
    PRISTINE_BUILTINS,
    CappedText,
    ForbiddenResult,
    OutputLimitExceeded,
    error_fields,
    safe_repr,
    student_traceback,
    text_stdin,
)

MAX_VALUE_JSON = 1 << 20  # an encoded value larger than this is answered with a marker
MAX_ITEMS = 100_000  # items of a returned iterator that are drained
_MUTABLE = (list, dict, set, bytearray)
_CONTAINERS = (list, tuple, dict, set, frozenset)


def encode(value: Any) -> Any:
    """A tagged value, or a marker when it is too large to send."""
    tagged = tagged_json.to_tagged(value)
    if _maybe_large(value) and len(json.dumps(tagged)) > MAX_VALUE_JSON:
        return {"$r": {"type": "TooLarge", "repr": "<value too large to record>"}}
    return tagged


def _maybe_large(value: Any) -> bool:
    """Cheap pre-check (most values are small; measuring every one would double the cost)."""
    if isinstance(value, (str, bytes, bytearray)):
        return len(value) > MAX_VALUE_JSON // 8
    if isinstance(value, _CONTAINERS):
        items = value.values() if isinstance(value, dict) else value
        return len(value) > 256 or any(isinstance(v, _CONTAINERS) or _maybe_large(v)
                                       for v in items)
    return False


class Runner:
    """Answers one job's requests inside the child."""

    def __init__(self, job: dict[str, Any], channel: wire.Channel) -> None:
        self.job = job
        self.channel = channel
        self.code: str = job["code"]
        self.filename: str = "main.py"
        self.student_files = frozenset({self.filename, *job.get("files", ())})
        self.output_cap = int(job["limits"]["output_bytes"])
        self.seed = int(job.get("seed", 0))
        self.compiled: Any = None
        self.namespace: dict[str, Any] | None = None
        self.load_answer: dict[str, Any] | None = None
        self.modules: dict[str, dict[str, Any]] = {}
        self.guard_results = False  # refuse submission-defined objects (judge requests)
        # The assignment's policy (grader/policy.py): the program's builtins and compile.
        self.runtime = policy.ProgramRuntime(job["policy"], lambda v: channel.send(
            {"ev": "policy", **v})) if job.get("policy") else None
        self.program_builtins = self.runtime.builtins if self.runtime else builtins

    # -- the job -----------------------------------------------------------------------------

    def run(self, judge_in: int | None, judge_out: int | None) -> None:
        """Compile, answer the server's requests, then the judge's; end with ``end``."""
        linecache.cache[self.filename] = (len(self.code), None, self.code.splitlines(True),
                                          self.filename)
        try:
            self.compiled = self.compile_program(self.filename)
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
        for name in self.job.get("files", ()):  # scripts name the program's file
            with open(name, "w", encoding="utf-8") as handle:
                handle.write(self.code)
        for index, request in enumerate(self.job.get("requests", ())):
            self.channel.send({"ev": "test", "i": index, **self.answer(request)})
        if judge_in is not None and judge_out is not None:
            self.guard_results = True
            requests, replies = wire.LineReader(judge_in), wire.Channel(judge_out)
            while (request := requests.next()) is not None and request.get("op") != "end":
                try:
                    replies.send({**self.answer(request), "q": request.get("q")})
                except OSError:  # the judge has ended: nothing more will be asked
                    break
        self.channel.send({"ev": "end"})

    def answer(self, request: dict[str, Any]) -> dict[str, Any]:
        op = request.get("op")
        seed = request.get("seed")
        if type(seed) is int:
            random.seed(seed)
        handler = _HANDLERS.get(op) if isinstance(op, str) else None
        if handler is None:
            return {"x": {"type": "RuntimeError", "base": "RuntimeError",
                          "text": f"unknown request {op!r:.40}"}}
        try:
            return handler(self, request)
        except (tagged_json.TaggedValueError, KeyError, TypeError, ValueError) as exc:
            return {"x": {"type": "RuntimeError", "base": "RuntimeError",
                          "text": f"malformed request: {exc}"[:300]}}

    # -- running student code ------------------------------------------------------------------

    def guarded(self, fn: Callable[[], Any], stdin: str = "", exit_ok: bool = True) -> dict[str, Any]:
        """Run ``fn`` with captured output; its value or error as answer fields.

        ``exit_ok``: a ``SystemExit`` ends a whole-program run normally (as in CPython), but
        inside a tested call it is an error (the function never returned).
        """
        budget = [self.output_cap]
        out, err = CappedText(budget), CappedText(budget)
        sys.stdout, sys.stderr, sys.stdin = out, err, text_stdin(stdin)
        result: dict[str, Any] = {}
        try:
            result["value"] = fn()
        except SystemExit as exc:
            if not exit_ok:
                result.update(error_fields(exc, self.student_files))
                result["exc"] = exc
        except OutputLimitExceeded:
            result["output_limit"] = True
        except ForbiddenResult:
            result["forbidden"] = True
        except MemoryError as exc:
            result.update(error_fields(exc, self.student_files), memory=True)
        except BaseException as exc:  # noqa: BLE001 - whatever the program raises is a verdict
            result.update(error_fields(exc, self.student_files))
            result["exc"] = exc
        if out.exceeded or err.exceeded:
            result["output_limit"] = True
        result["stdout"] = out.getvalue()
        return result

    def load(self, request: dict[str, Any]) -> dict[str, Any]:
        """Run the program once as a module; a top-level error is also a ``load`` event."""
        if self.load_answer is None:
            namespace = {"__name__": "solution", "__builtins__": self.program_builtins,
                         "__file__": self.filename}
            random.seed(self.seed)
            result = self.guarded(lambda: exec(self.compiled, namespace))
            answer = _flags(result)
            if "error" in result:
                answer.update({k: result[k] for k in ("error_type", "error", "line")})
            if answer:
                self.channel.send({"ev": "load", **answer})
            else:
                self.namespace = namespace
            self.load_answer = answer or {"ok": True}
        return self.load_answer

    def call(self, request: dict[str, Any]) -> dict[str, Any]:
        name = request["f"]
        module = request.get("mod")
        scope = self.namespace if module is None else self.modules.get(module)
        if scope is None:
            self.load({})
            scope = self.namespace if module is None else None
        if scope is None:
            return {"x": {"type": "NameError", "base": "NameError",
                          "text": "the program could not be loaded", **(self.load_answer or {})}}
        args = tagged_json.from_tagged(request.get("a", []))
        kwargs = tagged_json.from_tagged(request["k"]) if request.get("k") else {}
        if not isinstance(args, list) or not isinstance(kwargs, dict):
            raise ValueError("arguments must be a list and a dict")
        before = encode(args) if any(isinstance(a, _MUTABLE) for a in args) else None

        def invoke() -> Any:
            function = scope.get(name) if isinstance(name, str) else None
            if function is None:
                raise NameError(f"name {name!r} is not defined")
            value = function(*args, **kwargs)
            if self.guard_results and submission_types.contains_submission_object(
                    value, self.student_files):
                raise ForbiddenResult(type(value).__name__)
            if isinstance(value, collections.abc.Iterator) and not isinstance(value, (str, bytes)):
                items = []
                for item in value:  # drained here, in the program's process and CPU time
                    items.append(item)
                    if len(items) > MAX_ITEMS:
                        return _TooLong
                return _Drained(items)
            return value

        result = self.guarded(invoke, exit_ok=False)
        answer = _flags(result)
        if "exc" in result:
            answer["x"] = _exception_record(result["exc"], result)
        elif "error_type" in result:  # a MemoryError: flagged, with where it happened
            answer.update({k: result[k] for k in ("error_type", "error", "line")})
        elif "value" in result:
            value = result["value"]
            if value is _TooLong:
                answer["r"] = {"$r": {"type": "TooLong", "repr": "<iterator too long>"}}
            elif isinstance(value, _Drained):
                answer["r"], answer["it"] = encode(value.items), 1
                answer["repr"] = safe_repr(value.items)
            else:
                answer["r"], answer["repr"] = encode(value), safe_repr(value)
        if before is not None:
            after = encode(args)
            if after != before:
                answer["m"] = after
        return answer

    def names(self, request: dict[str, Any]) -> dict[str, Any]:
        loaded = self.load({})
        if self.namespace is None:
            return loaded
        return {"names": _listing(self.namespace)}

    def run_main(self, request: dict[str, Any]) -> dict[str, Any]:
        """The program as ``__main__``: an IO test's stdin, or a script's ``run_script``."""
        if "inputs" in request:
            inputs = request["inputs"]
            if not isinstance(inputs, list):
                raise ValueError("inputs must be a list")
            stdin = "".join(f"{item}\n" for item in inputs)
        else:
            stdin = request.get("stdin") or ""
        if not isinstance(stdin, str):
            raise ValueError("stdin must be a string")
        filename = request.get("file") or self.filename
        if filename not in self.student_files:
            return {"x": {"type": "FileNotFoundError", "base": "FileNotFoundError",
                          "text": f"[Errno 2] No such file or directory: {filename!r:.100}"}}
        namespace = {"__name__": "__main__", "__builtins__": self.program_builtins,
                     "__file__": filename}
        compiled = self.compiled_as(filename)
        result = self.guarded(lambda: exec(compiled, namespace), stdin=stdin)
        answer = _flags(result)
        answer["stdout"] = result["stdout"]
        if "exc" in result:
            answer.update({k: result[k] for k in ("error_type", "error", "line")})
            answer["tb"] = student_traceback(result["exc"], self.student_files)[:20000]
        return answer

    def import_program(self, request: dict[str, Any]) -> dict[str, Any]:
        name = request["name"]
        if not (isinstance(name, str) and name.isidentifier()):
            raise ValueError("a module name must be an identifier")
        if f"{name}.py" not in self.student_files:
            return {"x": {"type": "ModuleNotFoundError", "base": "ModuleNotFoundError",
                          "text": f"No module named {name!r}"}}
        if name not in self.modules:
            module = types.ModuleType(name)
            module.__file__ = f"{name}.py"
            module.__builtins__ = self.program_builtins  # type: ignore[attr-defined]
            namespace = vars(module)
            random.seed(self.seed)
            compiled = self.compiled_as(f"{name}.py")
            result = self.guarded(lambda: exec(compiled, namespace))
            if "exc" in result or _flags(result):
                return {**_flags(result), "x": _exception_record(result.get("exc"), result)}
            self.modules[name] = namespace
        return {"names": _listing(self.modules[name])}

    def compiled_as(self, filename: str) -> Any:
        """The program compiled under the file name a script knows it by (for tracebacks)."""
        if filename == self.filename:
            return self.compiled
        linecache.cache[filename] = linecache.cache[self.filename]
        return self.compile_program(filename)

    def compile_program(self, filename: str) -> Any:
        """Plain ``compile``, or the policy's (guarded execution) when the assignment has one."""
        if self.runtime is not None:
            return self.runtime.compile(self.code, filename)
        return compile(self.code, filename, "exec", dont_inherit=True)

    def read(self, request: dict[str, Any]) -> dict[str, Any]:
        name = request["file"]
        if not isinstance(name, str) or "/" in name or name in ("", ".", ".."):
            return {"x": {"type": "FileNotFoundError", "base": "FileNotFoundError",
                          "text": f"[Errno 2] No such file or directory: {name!r:.100}"}}
        try:
            with open(name, encoding="utf-8", errors="replace") as handle:
                return {"text": handle.read(MAX_VALUE_JSON)}
        except OSError as exc:
            return {"x": {"type": type(exc).__name__, "base": "OSError", "text": str(exc)[:300]}}

    def compiles(self, request: dict[str, Any]) -> dict[str, Any]:
        return {"r": request.get("file") in self.student_files}


class _Drained:
    def __init__(self, items: list[Any]) -> None:
        self.items = items


_TooLong = object()
_HANDLERS: dict[str, Callable[[Runner, dict[str, Any]], dict[str, Any]]] = {
    "load": Runner.load, "call": Runner.call, "names": Runner.names, "run": Runner.run_main,
    "import": Runner.import_program, "read": Runner.read, "compiles": Runner.compiles,
    "seed": lambda runner, request: {"ok": True},  # answer() reseeded ``random`` already
}


def _flags(result: dict[str, Any]) -> dict[str, Any]:
    """Verdicts the child reports itself: only ones that can hurt the program, never a pass."""
    return {k: True for k in ("forbidden", "memory", "output_limit") if result.get(k)}


def _exception_record(exc: BaseException | None, fields: dict[str, Any]) -> dict[str, Any]:
    """The program's exception as the judge rebuilds it: names and text, never an object."""
    if exc is None:
        return {"type": "RuntimeError", "base": "RuntimeError", "text": "",
                **{k: fields.get(k) for k in ("error_type", "error", "line")}}
    base = next((k for k in type(exc).__mro__ if PRISTINE_BUILTINS.get(k.__name__) is k),
                BaseException)
    try:
        text = str(exc)[:1000]
    except BaseException:  # noqa: BLE001 - a hostile __str__
        text = ""
    return {"type": type(exc).__name__[:100], "base": base.__name__, "text": text,
            **{k: fields.get(k) for k in ("error_type", "error", "line")}}


def _listing(namespace: dict[str, Any]) -> dict[str, Any]:
    """The program's names as test code may see them; modules become opaque."""
    listing: dict[str, Any] = {}
    for name, value in list(namespace.items())[:2000]:
        if not isinstance(name, str) or (name.startswith("__") and name.endswith("__")):
            continue
        if isinstance(value, types.ModuleType):
            listing[name] = {"module": 1}
        elif callable(value):
            listing[name] = {"callable": 1}
        elif isinstance(value, _CONTAINERS) and len(value) > 1000:
            listing[name] = {"value": {"$r": {"type": type(value).__name__,
                                              "repr": "<large value>"}}}
        else:
            listing[name] = {"value": encode(value)}
    return listing

"""The parent decides check and script tests by replaying them against the child's log.

Runs in the grading process (never in the sandbox): the test code comes from the assignment,
the program's answers from the child's log (see :mod:`student_gym.grader.replay`). Compiled
test code is cached, since the same tests are replayed for every submission.
"""

from __future__ import annotations

import functools
import hashlib
import linecache
import sys
import traceback
from dataclasses import dataclass
from typing import Any

from student_gym.grader import harness, replay
from student_gym.grader.cs110.autograder import Autograder

_MAX_REPR = 400


@dataclass
class Judged:
    """One replayed test: passed (check) or points (script), the error, the output."""

    passed: bool = False
    points: float | None = None
    error_type: str | None = None
    error: str | None = None
    line: int | None = None
    call: str | None = None  # the failing statement of the test code
    output: str | None = None


@functools.lru_cache(maxsize=512)
def _compiled(source: str, kind: str) -> tuple[Any, str]:
    """Compiled test code and its file name (unique per source, so tracebacks show its lines)."""
    filename = f"<{kind} {hashlib.sha1(source.encode('utf-8', 'replace')).hexdigest()[:12]}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    return compile(source, filename, "exec", dont_inherit=True), filename


def judge_check(log: Any, code: str, entry_point: str | None, seed: int) -> Judged:
    """Run a check test's code against the logged answers; passed when no assert fails."""
    try:
        run = replay.Replay(log)
    except replay.ReplayMismatch as exc:
        return _failed(exc, "")
    scope = run.scope(run.names)
    scope.update(__name__="__test__",
                 __builtins__=replay.judge_builtins({"random": replay.private_random(seed)},
                                                    print=_discard))
    compiled, filename = _compiled(code, "test")
    try:
        exec(compiled, scope)
        if entry_point is not None and callable(scope.get("check")):
            if entry_point not in scope:
                raise NameError(f"name {entry_point!r} is not defined")
            scope["check"](run.stub(entry_point))
    except BaseException as exc:  # noqa: BLE001 - the test failed, whatever it raised
        return _failed(exc, filename)
    return Judged(passed=True)


def judge_script(log: Any, script: str, seed: int, output_cap: int) -> Judged:
    """Replay a FalconCode script; its points and everything it printed (the feedback)."""
    try:
        run = replay.Replay(log)
    except replay.ReplayMismatch as exc:
        return _failed(exc, "")
    out = harness.CappedText([output_cap])

    def script_print(*args: Any, sep: str | None = " ", end: str | None = "\n",
                     file: Any = None, flush: bool = False) -> None:
        del flush
        if file is None or file is sys.stdout:  # what a script sends to stderr is not shown
            out.write((" " if sep is None else sep).join(map(str, args))
                      + ("\n" if end is None else end))

    grader = Autograder(run.stub("run_script"), run.stub("code_compiles"), out.write)
    modules = {"random": replay.private_random(seed), **grader.modules()}
    scope: dict[str, Any] = {
        "__name__": "__autograder__", "__file__": "test_script.py",
        "__builtins__": replay.judge_builtins(modules, run.import_program, open=run.open,
                                              print=script_print),
    }
    judged = Judged()
    compiled, filename = _compiled(script, "script")
    try:
        exec(compiled, scope)
        points = scope["test_passed"]()
        out.write(f"Unit Test Returned: {points}\n")
        if type(points) in (int, float):
            judged.points = float(points)
        else:
            text = f"TypeError: test_passed() returned {harness.safe_repr(points)}"
            judged.error_type, judged.error = "TypeError", text
    except BaseException as exc:  # noqa: BLE001 - the script failed, whatever it raised
        judged = _failed(exc, filename)
    judged.output = out.getvalue()
    return judged


def _failed(exc: BaseException, test_file: str) -> Judged:
    """A failed test: the program's own error when it raised, else the test code's."""
    fields = getattr(exc, "student_fields", None)
    if isinstance(exc, replay.ReplayMismatch):
        fields = {"error_type": "ReplayMismatch", "line": None,
                  "error": f"the program's answers could not be checked: {exc}"}
    elif not isinstance(fields, dict) or not fields.get("error_type"):
        fields = harness.error_fields(exc, frozenset())
    lines = [f.line for f in traceback.extract_tb(exc.__traceback__)
             if f.filename == test_file and f.line]
    return Judged(call=lines[-1][:_MAX_REPR] if lines else None, **fields)


def _discard(*args: Any, **kwargs: Any) -> None:
    """``print`` for check tests replayed in the parent: test code prints nowhere."""

"""The parent's half of grading: what goes to the processes, and the verdict on what comes back.

:func:`make_job` splits an assignment's tests: the child gets the program and the calls and
stdins of call and IO tests (never an expected value), the judge gets check and script test
code with the assignment's ``provided_code`` (never the program). :func:`build_report` reads
both result channels with the bounds of :mod:`.wire`, checks every field's type, compares
returned values with exact types (:func:`~student_gym.grader.comparison.floats_close`) and decides
the status. A malformed message is a verdict on that submission alone: it never raises.

Status precedence, highest first (the first that applies wins)::

    too_large > syntax_error > policy_violation > forbidden > memory_error > timeout
      > output_limit > crashed > runtime_error > test_error > failed > passed

``runtime_error`` means the program raised at top level: while being loaded for call/check
tests (no such test could run), or in every one of its IO/script runs. ``test_error`` means
every test was broken: the assignment's fault (score ``None``); a broken test among working
ones is left out of ``total``. A process that was killed after every test had its answer does
not lose its verdict: ``passed`` is exactly a score of 1.0, and a timeout never scores 1.0.
"""

from __future__ import annotations

import ast
import functools
import math
import os
import signal
from dataclasses import asdict, replace
from typing import Any

from student_gym.grader import policy, tagged_json, wire
from student_gym.grader.assignments import (
    Assignment,
    CallTest,
    CheckTest,
    IOTest,
    ScriptTest,
)
from student_gym.grader.client import Outcome
from student_gym.grader.comparison import floats_close, normalize_output
from student_gym.grader.report import GradeReport, TestResult

PRECEDENCE = ("too_large", "syntax_error", "policy_violation", "forbidden", "memory_error",
              "timeout", "output_limit", "crashed", "runtime_error", "test_error", "failed",
              "passed")
_CPU_SIGNALS = {signal.SIGPROF, signal.SIGXCPU}
_CPU_SLACK = 0.25  # seconds of CPU a child may use past its limit (set-up, the signal's delivery)
_MAX_SHOWN = 400  # characters of expected/got/stdout kept in a report
JOB_SEED = 0  # random is seeded with this before the program and before every test


class SandboxError(RuntimeError):
    """The sandbox could not be set up: the grader's failure, not the program's."""


def make_job(code: str, assignment: Assignment) -> dict[str, Any]:
    """The job for the fork server: the child's part, the judge's part, the slot's needs."""
    requests: list[dict[str, Any]] = []
    judged: list[dict[str, Any]] = []
    files: list[str] = []
    for index, test in enumerate(assignment.tests):
        if isinstance(test, CallTest):
            requests.append({"op": "call", "f": assignment.entry_point, "seed": JOB_SEED,
                             "a": tagged_json.to_tagged(list(test.args))})
        elif isinstance(test, IOTest):
            requests.append({"op": "run", "stdin": test.stdin, "seed": JOB_SEED})
        elif isinstance(test, CheckTest):
            judged.append({"i": index, "kind": "check", "code": test.code})
        else:
            judged.append({"i": index, "kind": "script", "script": test.script,
                           "filename": test.filename, "seed": test.seed,
                           "max_score": test.max_score})
            files.append(test.filename)
    limits = asdict(assignment.limits)
    child = {"code": code, "files": sorted(set(files)), "seed": JOB_SEED, "limits": limits,
             "token": os.urandom(12).hex(), "requests": requests}
    if assignment.policy:  # plain JSON; the child applies it (policy.ProgramRuntime)
        child["policy"] = assignment.policy.to_dict()
    judge = None
    if judged:
        judge = {"tests": judged, "entry_point": assignment.entry_point, "seed": JOB_SEED,
                 "provided_code": assignment.provided_code or "",
                 "program_names": solution_names(assignment.solution),
                 "output_bytes": assignment.limits.output_bytes,
                 "cpu_seconds": assignment.limits.cpu_seconds,
                 "wall_seconds": wall_limit(assignment)}
    return {"child": child, "judge": judge,
            "slot": {"limits": limits, "packages": list(assignment.packages)}}


@functools.lru_cache(maxsize=1024)
def solution_names(solution: str | None) -> list[str]:
    """Top-level names the reference solution defines: a test's NameError for one of them is
    the program's fault (it did not define it), for any other name the test's own."""
    if not solution:
        return []
    try:
        tree = ast.parse(solution)
    except (SyntaxError, ValueError, RecursionError):
        return []
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
    return sorted(names)


def wall_limit(assignment: Assignment) -> float:
    """The wall-clock backstop: a few times the CPU limit, so verdicts do not flip under load."""
    return assignment.limits.cpu_seconds * assignment.limits.wall_factor + 1.0


def child_messages(outcome: Outcome) -> list[dict[str, Any]]:
    """The child's messages, in order; lines without the job's token are not even parsed."""
    return [m for m in wire.split_lines(outcome.out, outcome.token)
            if not outcome.token or m.get("k") == outcome.token]


def _sandbox_failure(outcome: Outcome) -> str | None:
    """The child's own report that its sandbox could not be set up: only as the very first
    line of its channel, before any job or program existed in it (exit code 71)."""
    if outcome.exit != 71:
        return None
    first = outcome.out.lstrip(b"\n").split(b"\n", 1)[0]
    try:
        message = wire.read_message(first)
    except wire.WireError:
        return None
    if message.get("ev") != "sandbox_error":
        return None
    return str(message.get("error"))[:500]


def too_large_report(code: str, assignment: Assignment) -> GradeReport:
    size, limit = len(code.encode("utf-8", "replace")), assignment.limits.code_bytes
    return _no_run_report(assignment, "too_large", "CodeTooLarge",
                          f"the program is {size} bytes; the limit is {limit} bytes", None, ())


def _no_run_report(assignment: Assignment, status: str, error_type: str | None, error: str | None,
                   line: int | None, layers: tuple[str, ...]) -> GradeReport:
    tests = tuple(TestResult(name=t.name, kind=t.kind, passed=False, hidden=t.hidden,
                             status="failed") for t in assignment.tests)
    return GradeReport(score=0.0, passed=0, total=len(tests), status=status, tests=tests,
                       error_type=error_type, error=error, line=line, layers=layers)


def _shown(text: str | None) -> str | None:
    if text is None or len(text) <= _MAX_SHOWN:
        return text
    return text[: _MAX_SHOWN - 3] + "..."


def _call_text(assignment: Assignment, test: CallTest) -> str:
    args = ", ".join(repr(a) for a in test.args)
    return f"{assignment.entry_point}({args})"


def _answer_fields(test: Any, message: dict[str, Any]) -> tuple[dict[str, Any], set[str]]:
    """Flags and error fields of one answer; any malformed field makes the answer unreadable."""
    flags: set[str] = set()
    for key, status in (("forbidden", "forbidden"), ("memory", "memory_error"),
                        ("output_limit", "output_limit")):
        if wire.flag(message, key):
            flags.add(status)
    error = wire.error_of(message)
    record = message.get("x")
    if record is not None:
        if not isinstance(record, dict):
            raise wire.WireError("field 'x' must be an object")
        error = wire.error_of(record)
        if not error["error_type"]:
            kind = wire.text(record, "type", 100) or "Exception"
            text = wire.text(record, "text", 1000) or ""
            error = {"error_type": kind, "error": f"{kind}: {text}" if text else kind,
                     "line": None}
    return error, flags


def _judge_call(test: CallTest, message: dict[str, Any]) -> dict[str, Any]:
    error, flags = _answer_fields(test, message)
    result: dict[str, Any] = {"flags": flags, **error, "expected": repr(test.expected)}
    if "r" in message and not flags and not error["error_type"]:
        try:
            value = tagged_json.from_tagged(message["r"])
        except tagged_json.TaggedValueError:
            value = tagged_json.Opaque("Undecodable", "<undecodable value>")
        result["got"] = wire.text(message, "repr", 10_000) or ""
        try:
            result["passed"] = floats_close(value, test.expected, test.rel_tol, test.abs_tol)
        except (OverflowError, TypeError, ValueError, RecursionError):
            result["passed"] = False  # e.g. 10**400 where a float is expected
    return result


def _judge_io(test: IOTest, message: dict[str, Any]) -> dict[str, Any]:
    error, flags = _answer_fields(test, message)
    stdout = wire.text(message, "stdout") or ""
    passed = not flags and not error["error_type"] and (
        normalize_output(stdout) == normalize_output(test.expected_stdout))
    return {"flags": flags, **error, "passed": passed, "expected": test.expected_stdout,
            "got": stdout}


def _judged(test: Any, message: dict[str, Any]) -> dict[str, Any]:
    """A check or script test as the judge decided it."""
    error, flags = _answer_fields(test, message)
    result: dict[str, Any] = {"flags": flags, **error, "call": wire.text(message, "call", 2000),
                              "broken": wire.flag(message, "broken")}
    if isinstance(test, ScriptTest):
        result["output"] = wire.text(message, "output")
        points = message.get("points")
        if points is not None:
            if type(points) not in (int, float) or not math.isfinite(points):
                raise wire.WireError("field 'points' must be a finite number")
            if test.max_score > 0:
                result["score"] = min(max(points / test.max_score, 0.0), 1.0)
        result["passed"] = result.get("score", 0.0) >= 1.0
    else:
        result["passed"] = wire.flag(message, "passed") and not result["broken"]
    return result


def _test_result(assignment: Assignment, test: Any, message: dict[str, Any] | None,
                 load_error: dict[str, Any] | None,
                 missing: dict[str, Any] | None) -> tuple[TestResult, set[str]]:
    """One test's result and the status flags it raises."""
    visible = not test.hidden
    base: dict[str, Any] = {"name": test.name, "kind": test.kind, "hidden": test.hidden}
    if isinstance(test, CallTest) and visible:
        base["call"] = _call_text(assignment, test)
    elif isinstance(test, IOTest) and visible:
        base["call"] = test.stdin
    if message is None:
        if missing is not None and isinstance(test, (CheckTest, ScriptTest)):
            # Not test_error: whether the test code or the program's answers ended the judge
            # cannot be told from outside, and a program must not get a test left out.
            return TestResult(passed=False, status="failed", **base, **missing), set()
        error = load_error if isinstance(test, (CallTest, CheckTest)) else None
        fields = {k: (error or {}).get(k) for k in ("error_type", "error", "line")}
        return TestResult(passed=False, status="failed", **base, **fields), set()
    try:
        if isinstance(test, CallTest):
            result = _judge_call(test, message)
        elif isinstance(test, IOTest):
            result = _judge_io(test, message)
        else:
            result = _judged(test, message)
    except wire.WireError as exc:
        result = {"flags": set(), "passed": False, "error_type": "MalformedAnswer",
                  "error": f"the program's answer could not be read: {exc}", "line": None}
    flags = result.pop("flags")
    if result.get("error_type") and isinstance(test, (CallTest, IOTest)):
        flags.add("raised")
    passed = bool(result.pop("passed", False)) and not flags
    broken = bool(result.pop("broken", False))
    score = 1.0 if passed else float(result.pop("score", 0.0))
    result.pop("score", None)
    if visible and isinstance(test, (CheckTest, ScriptTest)) and result.get("call"):
        base["call"] = result["call"]
    result.pop("call", None)
    if passed:
        result.update(error_type=None, error=None, line=None)
    if not visible:
        result["expected"] = result["got"] = None
    status = "passed" if passed else "test_error" if broken else "failed"
    return TestResult(passed=passed, score=score if not broken else 0.0, status=status,
                      expected=_shown(result.get("expected")), got=_shown(result.get("got")),
                      output=result.get("output"), error_type=result.get("error_type"),
                      error=result.get("error"), line=result.get("line"), **base), flags


def build_report(assignment: Assignment, outcome: Outcome) -> GradeReport:
    """Turn the processes' messages and exit statuses into a deterministic GradeReport."""
    failure = _sandbox_failure(outcome)
    if failure is not None:
        raise SandboxError(f"the grader's sandbox failed in the child: {failure}")
    messages = child_messages(outcome)
    hello = next((m for m in messages if m.get("ev") == "hello"), {})
    raw_layers = hello.get("layers")
    layers = tuple(str(x)[:40] for x in raw_layers[:40]) if isinstance(raw_layers, list) else ()
    syntax = next((m for m in messages if m.get("ev") == "syntax"), None)
    if syntax is not None:
        try:
            fields = wire.error_of(syntax)
        except wire.WireError:
            fields = {"error_type": "SyntaxError", "error": "SyntaxError", "line": None}
        report = _no_run_report(assignment, "syntax_error", fields["error_type"],
                                fields["error"], fields["line"], layers)
        return _with_runtime(report, outcome)
    load = next((m for m in messages if m.get("ev") == "load"), None)
    load_error: dict[str, Any] | None = None
    load_flags: set[str] = set()
    if load is not None:
        try:
            load_error, load_flags = _answer_fields(None, load)
        except wire.WireError:
            load_error = {"error_type": "MalformedAnswer", "error": "malformed load message",
                          "line": None}
    answers: dict[int, dict[str, Any]] = {}
    for m in messages:
        if m.get("ev") == "test" and type(m.get("i")) is int:
            answers.setdefault(m["i"], m)
    ended = any(m.get("ev") == "end" for m in messages)
    judged: dict[int, dict[str, Any]] = {}
    for m in wire.split_lines(outcome.judge_out):
        if m.get("ev") == "judged" and type(m.get("i")) is int:
            judged.setdefault(m["i"], m)
    missing = _judge_failure(outcome)

    results, flags, request = [], set(), 0
    for index, test in enumerate(assignment.tests):
        if isinstance(test, (CallTest, IOTest)):
            message = answers.get(request)
            request += 1
        else:
            message = judged.get(index)
        result, test_flags = _test_result(assignment, test, message, load_error, missing)
        results.append(result)
        flags |= test_flags
    status, error_fields = _program_status(assignment, outcome, ended, load, load_error,
                                           load_flags, flags, results)
    counted = [r for r in results if r.status != "test_error"]
    total = len(counted)
    score: float | None = sum(r.score for r in counted) / total if total else None
    if status == "forbidden" or (status == "timeout" and outcome.cpu > assignment.limits.cpu_seconds
                                 + _CPU_SLACK):  # escaping the sandbox's rules earns nothing
        score = 0.0
    if status == "test_error":
        score = None
    report = GradeReport(score=None if score is None else round(score, 6),
                         passed=sum(r.passed for r in counted), total=total, status=status,
                         tests=tuple(results), layers=layers, **error_fields)
    report = policy.with_violation(report, policy.child_violation(messages, assignment.policy),
                                   assignment.policy)  # a rule broken at run time
    return _with_runtime(report, outcome)


def _judge_failure(outcome: Outcome) -> dict[str, Any] | None:
    """Why the judge left tests undecided when it, not the child, ended abnormally (it never
    said ``end`` for the job: it died, e.g. its memory limit, or test code crashed it)."""
    judge = outcome.judge
    if not isinstance(judge, dict):
        return None
    if any(m.get("ev") == "end" for m in wire.split_lines(outcome.judge_out)):
        return None
    if outcome.wall_killed or outcome.signal is not None or outcome.exit != 0:
        return None  # the child's own ending decides
    if judge.get("signal"):
        how = f"signal {_signal_name(judge['signal'])}"
    elif judge.get("exit"):
        how = f"exit code {judge.get('exit')}"
    else:
        how = "no verdict"
    return {"error_type": "JudgeEnded",
            "error": f"the test could not finish: the judge running it ended ({how})", "line": None}


def _program_status(assignment: Assignment, outcome: Outcome, ended: bool,
                    load: dict[str, Any] | None, load_error: dict[str, Any] | None,
                    load_flags: set[str], flags: set[str],
                    results: list[TestResult]) -> tuple[str, dict[str, Any]]:
    """The status by precedence, and the program-level error to report with it."""
    candidates = set(flags) - {"raised"}
    error: dict[str, Any] = {}
    sig = outcome.signal
    counted = [r for r in results if r.status != "test_error"]
    complete = ended or (bool(counted) and all(r.passed for r in counted))
    # The child's CPU time (its parent's rusage, not something it can forge) over the limit
    # means it escaped the timer (ignored or blocked SIGPROF/SIGXCPU): a timeout, whatever
    # it answered.
    evaded = outcome.cpu > assignment.limits.cpu_seconds + _CPU_SLACK
    if evaded:
        complete = False
    if sig == signal.SIGSYS:
        candidates.add("forbidden")
        error = {"error_type": "Forbidden", "error": "the program made a forbidden system call"}
    elif outcome.wall_killed and not complete:
        candidates.add("timeout")
        error = {"error_type": "Timeout", "error": "Timeout: the program ran for more than "
                 f"{wall_limit(assignment):g} s (wall clock)"}
    elif not complete and (evaded or sig in _CPU_SIGNALS or (
            sig == signal.SIGKILL and outcome.cpu >= assignment.limits.cpu_seconds)):
        candidates.add("timeout")
        error = {"error_type": "Timeout",
                 "error": f"Timeout: the program used more than {assignment.limits.cpu_seconds:g}"
                          " s of CPU time"}
    elif outcome.server_lost or not complete:
        candidates.add("crashed")
        how = f"signal {_signal_name(sig)}" if sig else f"exit code {outcome.exit}"
        if outcome.server_lost:
            how = "it brought down the grader's fork server"
        error = {"error_type": "Crashed", "error": f"the program ended abruptly ({how})"}
    if load is not None:
        if load_error and load_error.get("error_type"):
            error = dict(load_error)
        if "memory_error" in load_flags:
            candidates.add("memory_error")
        elif "output_limit" in load_flags:
            candidates.add("output_limit")
        else:
            candidates.add("runtime_error")
    runs = [r for r in counted if r.kind in ("io", "script")]
    if runs and len(runs) == len(counted) and all(r.error_type for r in runs):
        candidates.add("runtime_error")
    if any(not r.passed for r in counted):
        candidates.add("failed")
    if not counted and results:
        candidates.add("test_error")
    status = next((s for s in PRECEDENCE if s in candidates), "passed")
    if status == "test_error" and not error:
        error = {"error_type": "TestError",
                 "error": "every test of this assignment is broken: the assignment is at fault"}
    if not error and status not in ("passed", "failed"):
        first = next((r for r in counted if r.error_type), None)
        if first is not None:
            error = {"error_type": first.error_type, "error": first.error, "line": first.line}
        elif status == "output_limit":
            error = {"error_type": "OutputLimit", "error": "the program printed more than "
                     f"{assignment.limits.output_bytes} characters"}
        elif status == "forbidden":
            error = {"error_type": "Forbidden",
                     "error": "the program returned an object of its own type"}
    if status == "memory_error" and error.get("error_type") != "MemoryError":
        error = {"error_type": "MemoryError", "error": "MemoryError", "line": None}
    return status, {k: error.get(k) for k in ("error_type", "error", "line")}


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except (ValueError, TypeError):
        return str(number)


def _with_runtime(report: GradeReport, outcome: Outcome) -> GradeReport:
    return replace(report, runtime=round(outcome.runtime, 6))

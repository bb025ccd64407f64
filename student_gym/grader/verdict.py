"""The parent's half of grading: what goes to the child, and the verdict on what comes back.

:func:`make_job` strips every expected value (call results, expected stdout) so they never
enter the sandbox. :func:`build_report` reads the child's result channel, compares returned
values with exact types (:func:`~student_gym.assignments.floats_close`), and decides the status.

Status precedence, highest first (the first that applies wins)::

    too_large > syntax_error > policy_violation > forbidden > memory_error > timeout
      > output_limit > crashed > runtime_error > failed > passed

``runtime_error`` means the program raised at top level: while being loaded for call/check
tests (no such test could run), or in every one of its IO/script runs.
"""

from __future__ import annotations

import json
import signal
from dataclasses import asdict, replace
from typing import Any

from student_gym import tagged_json
from student_gym.assignments import (
    Assignment,
    CallTest,
    CheckTest,
    IOTest,
    ScriptTest,
    floats_close,
    normalize_output,
)
from student_gym.grader import judge, policy, replay
from student_gym.grader.client import Outcome
from student_gym.grader.report import GradeReport, TestResult

PRECEDENCE = ("too_large", "syntax_error", "policy_violation", "forbidden", "memory_error",
              "timeout", "output_limit", "crashed", "runtime_error", "failed", "passed")
_CPU_SIGNALS = {signal.SIGPROF, signal.SIGXCPU}
_MAX_SHOWN = 400  # characters of expected/got/stdout kept in a report
JOB_SEED = 0  # random is seeded with this before the program and before every test


class SandboxError(RuntimeError):
    """The sandbox could not be set up: the grader's failure, not the program's."""


def make_job(code: str, assignment: Assignment) -> dict[str, Any]:
    """The JSON job for the fork server: the program and the tests, minus expected values."""
    tests: list[dict[str, Any]] = []
    for test in assignment.tests:
        if isinstance(test, CallTest):
            tests.append({"kind": "call", "args": tagged_json.to_tagged(list(test.args))})
        elif isinstance(test, IOTest):
            tests.append({"kind": "io", "stdin": test.stdin})
        elif isinstance(test, CheckTest):
            tests.append({"kind": "check", "code": test.code})
        else:
            tests.append({"kind": "script", "script": test.script, "filename": test.filename,
                          "seed": test.seed})
    job = {"code": code, "entry_point": assignment.entry_point, "tests": tests, "seed": JOB_SEED,
           "limits": asdict(assignment.limits)}
    if assignment.policy:  # plain JSON; the child applies it (policy.ProgramRuntime)
        job["policy"] = assignment.policy.to_dict()
    return job


def wall_limit(assignment: Assignment) -> float:
    """The wall-clock backstop: a few times the CPU limit, so verdicts do not flip under load."""
    return assignment.limits.cpu_seconds * assignment.limits.wall_factor + 1.0


def parse_channel(outcome: Outcome) -> list[dict[str, Any]]:
    """The child's messages, in order; lines without the job's token are ignored."""
    messages = []
    for line in outcome.out.split("\n"):
        if not line.startswith("{"):
            continue
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if isinstance(message, dict) and message.get("k") == outcome.token and outcome.token:
            messages.append(message)
    return messages


def too_large_report(code: str, assignment: Assignment) -> GradeReport:
    size, limit = len(code.encode("utf-8", "replace")), assignment.limits.code_bytes
    return _no_run_report(assignment, "too_large", "CodeTooLarge",
                          f"the program is {size} bytes; the limit is {limit} bytes", None, ())


def _no_run_report(assignment: Assignment, status: str, error_type: str | None, error: str | None,
                   line: int | None, layers: tuple[str, ...]) -> GradeReport:
    tests = tuple(TestResult(name=t.name, kind=t.kind, passed=False, hidden=t.hidden)
                  for t in assignment.tests)
    return GradeReport(score=0.0, passed=0, total=len(tests), status=status, tests=tests,
                       error_type=error_type, error=error, line=line, layers=layers)


def _shown(text: str | None) -> str | None:
    if text is None or len(text) <= _MAX_SHOWN:
        return text
    return text[: _MAX_SHOWN - 3] + "..."


def _call_text(assignment: Assignment, test: CallTest) -> str:
    args = ", ".join(repr(a) for a in test.args)
    return f"{assignment.entry_point}({args})"


def _judge(assignment: Assignment, test: Any, message: dict[str, Any] | None,
           load_error: dict[str, Any] | None) -> tuple[TestResult, set[str]]:
    """One test's result and the status flags it raises."""
    flags: set[str] = set()
    visible = not test.hidden
    base = {"name": test.name, "kind": test.kind, "hidden": test.hidden}
    if isinstance(test, CallTest) and visible:
        base["call"] = _call_text(assignment, test)
    elif isinstance(test, IOTest) and visible:
        base["call"] = test.stdin
    if message is None:
        error = load_error if isinstance(test, (CallTest, CheckTest)) else None
        fields = {k: (error or {}).get(k) for k in ("error_type", "error", "line")}
        return TestResult(passed=False, **base, **fields), flags
    for flag, status in (("forbidden", "forbidden"), ("memory", "memory_error"),
                         ("output_limit", "output_limit")):
        if message.get(flag):
            flags.add(status)
    error = {k: message.get(k) for k in ("error_type", "error", "line")}
    if "error" in message and message.get("error"):
        flags.add("raised")
    passed, score, expected, got, output = False, 0.0, None, None, None
    if isinstance(test, CallTest):
        if "value" in message and not flags:
            value = replay.decode(message["value"])
            passed = floats_close(value, test.expected, test.rel_tol, test.abs_tol)
            got = message.get("repr")
        expected = repr(test.expected)
    elif isinstance(test, IOTest):
        stdout = message.get("stdout", "")
        passed = not flags and not error["error"] and (
            normalize_output(stdout) == normalize_output(test.expected_stdout))
        expected, got = test.expected_stdout, stdout
    elif isinstance(test, CheckTest) and not flags:
        judged = judge.judge_check(message.get("log"), test.code, assignment.entry_point, JOB_SEED)
        passed = judged.passed
        error = {"error_type": judged.error_type, "error": judged.error, "line": judged.line}
        if visible and judged.call:
            base["call"] = judged.call
    elif isinstance(test, ScriptTest) and not flags:
        judged = judge.judge_script(message.get("log"), test.script, test.seed,
                                    assignment.limits.output_bytes)
        output = judged.output
        error = {"error_type": judged.error_type, "error": judged.error, "line": judged.line}
        if judged.points is not None and test.max_score > 0:
            score = min(max(judged.points / test.max_score, 0.0), 1.0)
        passed = score >= 1.0
    if passed:
        score = 1.0
        error = {"error_type": None, "error": None, "line": None}
    if not visible:
        expected = got = None
    return TestResult(passed=passed, score=score, expected=_shown(expected), got=_shown(got),
                      output=output, **base, **error), flags


def build_report(assignment: Assignment, outcome: Outcome) -> GradeReport:
    """Turn the child's messages and exit status into a deterministic GradeReport."""
    messages = parse_channel(outcome)
    broken = next((m for m in messages if m.get("ev") == "sandbox_error"), None)
    if broken is not None:
        raise SandboxError(f"the grader's sandbox failed in the child: {broken.get('error')}")
    hello = next((m for m in messages if m.get("ev") == "hello"), {})
    layers = tuple(str(x) for x in hello.get("layers", ()))
    syntax = next((m for m in messages if m.get("ev") == "syntax"), None)
    if syntax is not None:
        report = _no_run_report(assignment, "syntax_error", syntax.get("error_type"),
                                syntax.get("error"), syntax.get("line"), layers)
        return _with_runtime(report, outcome)
    load = next((m for m in messages if m.get("ev") == "load"), None)
    by_index: dict[int, dict[str, Any]] = {}
    for m in messages:
        if m.get("ev") == "test" and isinstance(m.get("i"), int):
            by_index.setdefault(m["i"], m)
    ended = any(m.get("ev") == "end" for m in messages)

    results, flags = [], set()
    for index, test in enumerate(assignment.tests):
        result, test_flags = _judge(assignment, test, by_index.get(index), load)
        results.append(result)
        flags |= test_flags
    status, error_fields = _program_status(assignment, outcome, ended, load, flags, results)
    total = len(results)
    score = sum(r.score for r in results) / total if total else 0.0
    if status == "forbidden":  # an attempt to fool the grader earns nothing, not part marks
        score = 0.0
    report = GradeReport(score=round(score, 6), passed=sum(r.passed for r in results),
                         total=total, status=status, tests=tuple(results), layers=layers,
                         **error_fields)
    report = policy.with_violation(report, policy.child_violation(messages, assignment.policy),
                                   assignment.policy)  # a rule broken at run time
    return _with_runtime(report, outcome)


def _program_status(assignment: Assignment, outcome: Outcome, ended: bool,
                    load: dict[str, Any] | None, flags: set[str],
                    results: list[TestResult]) -> tuple[str, dict[str, Any]]:
    """The status by precedence, and the program-level error to report with it."""
    candidates = set(flags) - {"raised"}
    error: dict[str, Any] = {}
    sig = outcome.signal
    if sig == signal.SIGSYS:
        candidates.add("forbidden")
        error = {"error_type": "Forbidden", "error": "the program made a forbidden system call"}
    elif outcome.wall_killed:
        candidates.add("timeout")
        error = {"error_type": "Timeout", "error": "Timeout: the program ran for more than "
                 f"{wall_limit(assignment):g} s (wall clock)"}
    elif sig in _CPU_SIGNALS or (
            sig == signal.SIGKILL and outcome.cpu >= assignment.limits.cpu_seconds):
        candidates.add("timeout")
        error = {"error_type": "Timeout",
                 "error": f"Timeout: the program used more than {assignment.limits.cpu_seconds:g}"
                          " s of CPU time"}
    elif outcome.server_lost or not ended:
        candidates.add("crashed")
        how = f"signal {_signal_name(sig)}" if sig else f"exit code {outcome.exit}"
        if outcome.server_lost:
            how = "it brought down the grader's fork server"
        error = {"error_type": "Crashed", "error": f"the program ended abruptly ({how})"}
    if load is not None:
        if load.get("error_type"):
            error = {k: load.get(k) for k in ("error_type", "error", "line")}
        if load.get("memory"):
            candidates.add("memory_error")
        elif load.get("output_limit"):
            candidates.add("output_limit")
        else:
            candidates.add("runtime_error")
    runs = [r for r in results if r.kind in ("io", "script")]
    if runs and len(runs) == len(results) and all(r.error_type for r in runs):
        candidates.add("runtime_error")
    if any(not r.passed for r in results):
        candidates.add("failed")
    status = next((s for s in PRECEDENCE if s in candidates), "passed")
    if not error and status not in ("passed", "failed"):
        first = next((r for r in results if r.error_type), None)
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
    except ValueError:
        return str(number)


def _with_runtime(report: GradeReport, outcome: Outcome) -> GradeReport:
    return replace(report, runtime=round(outcome.runtime, 6))

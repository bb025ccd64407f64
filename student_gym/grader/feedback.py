"""Summative feedback text from a GradeReport, at one of four levels.

* ``none`` - the PARA baseline: one fixed neutral line that reveals nothing about the program.
* ``grade`` - the grade only: ``Grade: 62.5/100`` (and the rule broken, for a program that
  broke one of the assignment's policy rules: the course says so at every level).
* ``summary`` - ``Tests passed: 3/8`` plus the first error with its line, the way course
  graders summarise (what the dialogs use by default).
* ``detailed`` - the summary, then every failing visible test: the call, expected and got;
  what a scored script printed (shown even for hidden scripts: it is what the course showed
  students); other hidden failures are only counted.

A ``policy_violation`` names the rule and its line at ``grade``, ``summary`` and ``detailed``
(``Rule broken: sum() is not allowed in this assignment. (line 3)``); ``none`` stays the one
neutral line, which is what makes it the PARA baseline.

The text depends only on the report's deterministic fields (never on runtime).
"""

from __future__ import annotations

from student_gym.grader.report import GradeReport, TestResult

FEEDBACK_LEVELS = ("none", "grade", "summary", "detailed")
NEUTRAL_FEEDBACK = "Submission received."  # PARA: the same line after every submission

_STATUS_LINES = {
    "syntax_error": "Your program has a syntax error, so no test could run.",
    "too_large": "Your program is too large to be graded.",
    "timeout": "Your program ran out of time.",
    "memory_error": "Your program ran out of memory.",
    "output_limit": "Your program printed too much output.",
    "crashed": "Your program stopped abruptly.",
    "forbidden": "Your program did something that is not allowed here.",
    "runtime_error": "Your program raised an error before the tests could finish.",
    "test_error": ("The assignment's tests are broken, so your program could not be graded. "
                   "This is not your program's fault."),
    "policy_violation": "Your program breaks a rule of this assignment.",
}
_BROKEN_TEST = "(This test is broken: its own code failed. It does not count.)"


# Program-level error types the grader itself names (not Python exceptions).
_GRADER_ERRORS = frozenset({"Timeout", "Crashed", "OutputLimit", "CodeTooLarge", "Forbidden"})


def render_feedback(report: GradeReport, level: str = "summary") -> str:
    """The feedback a student would read for ``report``.

    Args:
        report: a grader verdict.
        level: one of :data:`FEEDBACK_LEVELS`.

    Raises:
        ValueError: for an unknown level.
    """
    if level not in FEEDBACK_LEVELS:
        raise ValueError(f"feedback level must be one of {FEEDBACK_LEVELS}, got {level!r}")
    if level == "none":
        return NEUTRAL_FEEDBACK
    if level == "grade":
        if report.score is None:
            return "Grade: none (the assignment's tests are broken)"
        grade = f"Grade: {_points(report.score)}/100"
        if report.status == "policy_violation" and report.error:
            grade += "\nRule broken: " + _with_line(report.error, report.line)
        return grade
    lines = [summary_line(report)]
    if level == "detailed":
        lines.extend(_detailed_lines(report))
    return "\n".join(lines)


def summary_line(report: GradeReport) -> str:
    """``Tests passed: p/t`` and the first error (with its line) or the status in words."""
    head = f"Tests passed: {report.passed}/{report.total}"
    broken = sum(t.status == "test_error" for t in report.tests)
    if broken and report.status != "test_error":
        head += f" ({broken} broken test{'s' if broken > 1 else ''} not counted)"
    if report.score is not None and any(t.kind == "script" for t in report.tests):
        head += f" (score {_points(report.score)}/100)"
    if report.status == "passed":
        return head + "\nAll tests passed."
    error = _first_error(report)
    parts = [head]
    if report.status in _STATUS_LINES:
        parts.append(_STATUS_LINES[report.status])
    if error:
        parts.append(error)
    return "\n".join(parts)


def _first_error(report: GradeReport) -> str | None:
    if report.error_type in _GRADER_ERRORS or report.status == "test_error":
        return None  # the status line already says it in words
    if report.error:
        return _with_line(report.error, report.line)
    for test in report.tests:
        if (not test.passed and test.error and test.error_type != "AssertionError"
                and test.status != "test_error"):
            return _with_line(test.error, test.line)
    return None


def _with_line(error: str, line: int | None) -> str:
    return f"{error} (line {line})" if line else error


def _points(score: float) -> str:
    text = f"{score * 100:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _detailed_lines(report: GradeReport) -> list[str]:
    if report.status in ("syntax_error", "too_large"):
        return []
    if report.status == "policy_violation" and not report.extra.get("policy", {}).get("tests_run"):
        return []  # the program was refused: its tests say nothing the rule does not
    lines: list[str] = []
    hidden = 0
    for test in report.tests:
        if test.passed:
            continue
        if test.error and (test.error, test.line) == (report.error, report.line) and (
                report.status == "runtime_error"):
            continue  # the program never got to this test; the summary said why
        if test.hidden and test.kind != "script" and test.status != "test_error":
            hidden += 1
            continue
        # A scored script's printed output is what the course showed students, hidden or
        # not: the script's author chose what it reveals.
        lines.append("")
        lines.extend(_test_lines(test))
    if hidden:
        lines.append("")
        lines.append(f"{hidden} hidden test{'s' if hidden > 1 else ''} failed.")
    return lines


def _test_lines(test: TestResult) -> list[str]:
    if test.status == "test_error":
        return [f"Test {test.name}: {_BROKEN_TEST}", f"Error in the test: {test.error}"]
    lines = [f"Test {test.name} failed."]
    if test.kind == "io":
        if test.call is not None:
            lines.append("Input:\n" + _block(test.call))
    elif test.call:
        lines.append(f"Call: {test.call}")
    if test.error and test.error_type != "AssertionError":
        lines.append("Error: " + _with_line(test.error, test.line))
    elif test.error_type == "AssertionError" and test.kind == "check":
        lines.append("The assertion failed.")
    if test.expected is not None and test.kind != "script":
        if test.kind == "io":
            lines.append("Expected output:\n" + _block(test.expected))
            if test.got is not None:
                lines.append("Your output:\n" + _block(test.got))
        else:
            lines.append(f"Expected: {test.expected}")
            if test.got is not None:
                lines.append(f"Got: {test.got}")
    if test.output:
        lines.append("Output of the test script:\n" + test.output.rstrip("\n"))
    return lines


def _block(text: str) -> str:
    body = text.rstrip("\n")
    return "\n".join("  " + line for line in body.split("\n")) if body else "  (nothing)"

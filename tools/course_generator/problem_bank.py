"""How a generated course's problems are written down, and how they become Assignments.

A :class:`Problem` lists its statement, two or more reference solutions in different styles
(loop vs comprehension, builtin vs hand-written), the *inputs* of its tests and its typical
bugs. Expected values are never typed by hand: they come from running the first reference
solution in-process (trusted code), and every other style must agree, which checks the bank.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass, field
from typing import Any

from student_gym.grader.assignments import Assignment, CallTest, IOTest, Limits

HIDDEN_TESTS = 2  # the last tests of every problem are hidden from detailed feedback


@dataclass(frozen=True)
class Bug:
    """A problem-specific novice mistake as a source edit on a reference solution.

    ``old`` must occur in the solution style it applies to; the first occurrence becomes
    ``new``. ``kind`` is ``logic``, ``runtime`` (raises on some inputs) or ``syntax``.
    """

    label: str  # e.g. "off-by-one", "misread statement"
    old: str
    new: str
    kind: str = "logic"


@dataclass(frozen=True)
class Problem:
    """One CS1 problem of the generated course."""

    id: str
    title: str
    statement: str
    solutions: tuple[str, ...]  # reference solution in several styles; [0] defines the tests
    bugs: tuple[Bug, ...]
    entry_point: str | None = None  # a function problem (call tests) when set
    call_args: tuple[tuple[Any, ...], ...] = ()
    stdins: tuple[str, ...] = ()  # a stdin/stdout program when set
    limits: Limits = field(default_factory=lambda: Limits(cpu_seconds=1.0))
    # What the assignment forbids, in the assignment JSON format (student_gym.grader.policy);
    # every reference style and every generated submission must respect it (checked).
    policy: dict[str, Any] | None = None


def run_function(code: str, entry_point: str, args: tuple[Any, ...]) -> Any:
    """Call ``entry_point(*args)`` of a trusted reference solution."""
    namespace: dict[str, Any] = {"__name__": "reference"}
    exec(compile(code, "<reference>", "exec"), namespace)  # noqa: S102 - our own solutions
    return namespace[entry_point](*args)


def run_program(code: str, stdin: str) -> str:
    """Run a trusted reference program as ``__main__`` with ``stdin``; return its stdout."""
    lines = iter(stdin.splitlines())
    out = io.StringIO()

    def fake_input(prompt: str = "") -> str:
        out.write(str(prompt))
        return next(lines)

    namespace: dict[str, Any] = {"__name__": "__main__", "input": fake_input}
    with contextlib.redirect_stdout(out):
        exec(compile(code, "<reference>", "exec"), namespace)  # noqa: S102 - our own solutions
    return out.getvalue()


def build_assignment(problem: Problem) -> Assignment:
    """The Assignment for a problem: tests with expected values from the reference solution.

    Raises:
        ValueError: two reference styles disagree on a test (the bank itself is wrong).
    """
    tests: list[CallTest | IOTest] = []
    n = len(problem.call_args) or len(problem.stdins)
    for i in range(n):
        hidden = i >= n - HIDDEN_TESTS
        name = f"test_{i + 1}"
        if problem.entry_point:
            args = problem.call_args[i]
            results = [run_function(s, problem.entry_point, args) for s in problem.solutions]
            tests.append(CallTest(name=name, args=args, expected=results[0], hidden=hidden))
        else:
            stdin = problem.stdins[i]
            results = [run_program(s, stdin) for s in problem.solutions]
            tests.append(IOTest(name=name, stdin=stdin, expected_stdout=results[0], hidden=hidden))
        if any(repr(r) != repr(results[0]) for r in results):
            raise ValueError(f"problem {problem.id!r}: reference styles disagree on {name}")
    policy = None
    if problem.policy is not None:
        from student_gym.grader.policy import Policy

        policy = Policy.from_dict(problem.policy, where=f"problem {problem.id!r}: policy")
    return Assignment(
        id=problem.id,
        title=problem.title,
        statement=problem.statement.strip(),
        tests=tuple(tests),
        entry_point=problem.entry_point,
        solution=problem.solutions[0],
        limits=problem.limits,
        policy=policy,
    )

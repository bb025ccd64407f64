"""The sandboxed unit-test grader (see docs/grader.md).

``grade(code, assignment)`` runs one program against an assignment's tests in a child forked by
a small fork server (:mod:`.server`), sandboxed (:mod:`.child`), and returns a deterministic
:class:`GradeReport`. ``grade_many`` runs many at once on all cores and returns exactly what
grading one by one returns, in input order. Call :func:`start_server` before loading a big
model: a fork's cost grows with the forking process's memory, and the server stays small.
"""

from __future__ import annotations

import copy
import os
import platform
from collections.abc import Iterable
from typing import Any

from student_gym.grader.assignments import Assignment
from student_gym.grader.report import STATUSES, GradeReport, TestResult

__all__ = [
    "STATUSES",
    "GradeReport",
    "TestResult",
    "grade",
    "grade_many",
    "isolation_report",
    "start_server",
]


def start_server() -> None:
    """Start the fork server now (idempotent); it is otherwise started on first use."""
    from student_gym.grader.client import get_client

    get_client().start()


def grade(code: str, assignment: Assignment, *, unsafe: bool = False) -> GradeReport:
    """Grade one program.

    Args:
        code: the program's source text.
        assignment: the assignment whose tests it runs.
        unsafe: grade even where the isolation layers are incomplete (only for code you
            trust); the baseline sandbox is always applied. ``STUDENT_GYM_UNSAFE=1`` does the
            same.

    Returns:
        The verdict; ``report.to_dict(runtime=False)`` is deterministic.

    Raises:
        RuntimeError: the sandbox is incomplete here and ``unsafe`` was not given, or the
            assignment has a policy and RestrictedPython (the ``policy`` extra) is missing.
    """
    return grade_many([(code, assignment)], workers=1, unsafe=unsafe)[0]


def grade_many(pairs: Iterable[tuple[str, Assignment]], *, workers: int | None = None,
               unsafe: bool = False) -> list[GradeReport]:
    """Grade many programs in parallel; same reports (runtime aside) as :func:`grade`, in order.

    A program repeated for the same assignment object (a DAPO group's identical completions)
    is graded once and its report copied: grading is deterministic, so a second child would
    only say the same.

    Args:
        pairs: ``(code, assignment)`` pairs.
        workers: jobs in flight at once; default: twice the cores this process may use.
        unsafe: see :func:`grade`.
    """
    from student_gym.grader.client import get_client
    from student_gym.grader.policy import static_violation, violation_report, with_violation
    from student_gym.grader.verdict import build_report, make_job, too_large_report, wall_limit
    from student_gym.grader.workdirs import MAX_SLOTS

    pairs = list(pairs)
    if pairs:
        _require_isolation(unsafe)
    reports: list[GradeReport | None] = [None] * len(pairs)
    jobs, walls, where = [], [], []
    first: dict[tuple[str, int], int] = {}  # (code, id(assignment)) -> the pair graded
    copies: list[tuple[int, int]] = []  # (index, index of the same pair graded earlier)
    broken: dict[int, Any] = {}  # index -> the policy rule its program breaks (static check)
    for index, (code, assignment) in enumerate(pairs):
        if not isinstance(code, str):
            raise TypeError(f"grade_many: pairs[{index}]: code must be str, got {type(code).__name__}")
        if not isinstance(assignment, Assignment):
            raise TypeError(f"grade_many: pairs[{index}]: assignment must be an Assignment")
        key = (code, id(assignment))  # the pairs list keeps every assignment (and id) alive
        if key in first:
            copies.append((index, first[key]))
            continue
        first[key] = index
        if len(code.encode("utf-8", "replace")) > assignment.limits.code_bytes:
            reports[index] = too_large_report(code, assignment)
            continue
        violation = static_violation(code, assignment.policy)  # None without a policy
        if violation is not None:
            broken[index] = violation
            if not assignment.policy.tests_run or violation.rule.startswith("guarded:"):
                reports[index] = violation_report(assignment, violation)  # nothing runs
                continue
        jobs.append(make_job(code, assignment))
        walls.append(wall_limit(assignment))
        where.append(index)
    if jobs:
        # Two jobs per core by default: a job's processes wait on each other (a judge's call
        # and the child's answer are a pipe round trip), so one per core leaves cores idle.
        width = min(max(1, workers or 2 * _usable_cores()), MAX_SLOTS)
        outcomes = get_client().run(jobs, walls, width)
        for index, outcome in zip(where, outcomes, strict=True):
            report = build_report(pairs[index][1], outcome)
            reports[index] = with_violation(report, broken.get(index), pairs[index][1].policy)
    for index, source in copies:
        reports[index] = copy.copy(reports[source])
    return [r for r in reports if r is not None]


def _usable_cores() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def isolation_report() -> dict[str, Any]:
    """What sandbox a submission gets here: the layers a real child of this process's fork
    server had (measured), whether they suffice (``available``), why others are missing.

    The one report: ``student-gym bench --isolation``, provenance and every refusal use it.
    """
    from student_gym.grader import child
    from student_gym.grader.client import get_client

    layers = _server_layers()
    isolation = child._isolation
    report: dict[str, Any] = {
        "platform": f"{platform.system()} {platform.release()} {platform.machine()}",
        "layers": list(layers), "missing": {}, "setup_error": get_client().isolation_error}
    if isolation is not None:
        probe = isolation.probe_report()
        report.update(running_as_root=probe["running_as_root"],
                      landlock_abi=probe["landlock_abi"], missing=probe["missing"])
    report["available"] = bool(isolation is not None and isolation.layers_sufficient(layers))
    return report


def _server_layers() -> tuple[str, ...]:
    """The layers this process's fork server gives a child, measured once per server by
    grading a trivial program (a real child, not a guess)."""
    from student_gym.grader.assignments import CallTest
    from student_gym.grader.client import get_client

    client = get_client()
    client.start()
    if client.layers is None:
        probe = Assignment(id="probe", title="probe", statement="", entry_point="f",
                           tests=(CallTest(name="t", args=(), expected=1),))
        client.layers = grade("def f():\n    return 1\n", probe, unsafe=True).layers
    return client.layers


def _require_isolation(unsafe: bool) -> None:
    """Refuse untrusted code where the isolation layers are incomplete, unless told not to."""
    from student_gym.grader import child
    from student_gym.grader.client import get_client

    isolation = child._isolation
    if isolation is None:
        if unsafe or os.environ.get("STUDENT_GYM_UNSAFE", "").lower() in ("1", "true", "yes"):
            return
        raise RuntimeError("refusing to grade untrusted code: the isolation module is missing; "
                           "pass unsafe=True or set STUDENT_GYM_UNSAFE=1 for code you trust")
    if isolation.unsafe_requested(unsafe):
        return
    failure = get_client().isolation_error
    isolation.refuse(_server_layers(), why=f"setting it up failed: {failure}" if failure else "")

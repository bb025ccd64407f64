"""GradeReport: what the grader says about one program."""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field
from typing import Any

STATUSES = (
    "passed",  # every test passed
    "failed",  # the program ran; some tests failed
    "syntax_error",  # compile() refused it: nothing ran
    "runtime_error",  # the program itself raised before any test could run
    "timeout",  # CPU limit (or the wall-clock backstop) hit
    "memory_error",  # address-space limit hit
    "crashed",  # the child died abnormally (signal, os._exit, broken result channel)
    "output_limit",  # printed more than the output cap
    "forbidden",  # the program did something the sandbox forbids (exec, fork, sockets,
    #               a submission-defined object returned as a result)
    "too_large",  # the code is over the size limit; nothing ran
    "test_error",  # every test is broken (its own code failed): the assignment's fault
    "policy_violation",  # it breaks a rule of the assignment's policy (grader/policy.py)
)
# Two grades are the same grade within this (scores are fractions of tests passed).
GRADE_TOLERANCE = 1e-9


@dataclass(frozen=True)
class TestResult:
    """The outcome of one test.

    ``expected`` and ``got`` are reprs, filled only for visible tests; ``line`` is a line
    number in the student's program (never the harness's).
    """

    name: str
    kind: str
    passed: bool
    hidden: bool = False
    score: float = 0.0  # fraction of this test earned, 0..1 (scripts can earn part)
    call: str | None = None  # e.g. "add(1, 2)" or the stdin given, for feedback
    expected: str | None = None
    got: str | None = None
    error_type: str | None = None  # "ZeroDivisionError", "AssertionError", ...
    error: str | None = None  # the error line as CPython prints it
    line: int | None = None
    output: str | None = None  # what a scored script printed (the feedback students saw)
    status: str | None = None  # passed | failed | test_error (the test's own code failed)


@dataclass(frozen=True)
class GradeReport:
    """The grader's verdict on one program for one assignment."""

    score: float | None  # 0..1 over the tests that work; None when every test is broken
    passed: int  # tests fully passed
    total: int  # tests that work (a broken test, status test_error, is not counted)
    status: str  # one of STATUSES
    tests: tuple[TestResult, ...] = ()
    error_type: str | None = None  # program-level error (syntax, top-level crash, timeout)
    error: str | None = None  # as CPython prints it: "SyntaxError: invalid syntax (line 3)"
    line: int | None = None
    runtime: float = 0.0  # seconds; left out wherever determinism is checked
    layers: tuple[str, ...] = ()  # isolation layers that were active
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def fully_correct(self) -> bool:
        return self.status == "passed"

    @property
    def feedback(self) -> str:
        """Summary-level feedback text (see :mod:`student_gym.grader.feedback` for other levels)."""
        from student_gym.grader.feedback import render_feedback

        return render_feedback(self, "summary")

    def to_dict(self, *, runtime: bool = True) -> dict[str, Any]:
        """JSON-ready form; ``runtime=False`` drops the only non-deterministic field."""
        d = asdict(self)
        d["tests"] = [asdict(t) for t in self.tests]
        d["layers"] = list(self.layers)
        if not runtime:
            d.pop("runtime")
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GradeReport:
        d = dict(data)
        d["tests"] = tuple(TestResult(**t) for t in d.get("tests", ()))
        d["layers"] = tuple(d.get("layers", ()))
        d.setdefault("runtime", 0.0)
        return cls(**d)


def report_info(report: GradeReport) -> dict[str, Any]:
    """The report as it goes into ``info["grade"]``: no runtime, and no None-valued fields.

    Equal to ``report.to_dict(runtime=False)`` without its None values. Leaving None fields out
    keeps every value's type stable, which gymnasium's vector envs need (they size an info
    array from the first sub-env's value); ``GradeReport.from_dict`` restores the omitted
    fields from their defaults, so the report round-trips exactly. Built from the dataclasses'
    ``__dict__`` rather than ``dataclasses.asdict``, which deep-copies every field and cost more
    than the rest of a step together on reports with many tests.
    """
    d: dict[str, Any] = {}
    for key, value in vars(report).items():
        if (value is None and key != "score") or key == "runtime":
            continue  # (score None: every test is broken; kept so callers always find it)
        if key == "tests":
            value = [dict(vars(t)) for t in value]
        elif key == "layers":
            value = list(value)
        elif key == "extra":
            value = copy.deepcopy(value) if value else {}
        elif key == "score":
            value = None if value is None else float(value)
        d[key] = value
    return d

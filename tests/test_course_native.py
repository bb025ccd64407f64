"""The native course format: lossless round trips and clear errors."""

from __future__ import annotations

import gzip
import json
from dataclasses import replace

import pytest

from student_gym.course import (
    Course,
    CourseFormatError,
    Submission,
    Trajectory,
    bundled_course,
    load_course,
    save_course,
)
from student_gym.grader.assignments import Assignment, CallTest
from student_gym.grader.report import GradeReport
from student_gym.grader.report import TestResult as OneTest


def small_course() -> Course:
    a = Assignment(
        id="add",
        title="Add",
        statement="Write add(a, b).",
        entry_point="add",
        tests=(
            CallTest(name="t1", args=((1, 2), 3), expected=(4,)),
            CallTest(name="t2", args=(float("inf"), b"\x00"), expected={1, 2}, hidden=True),
        ),
    )
    report = GradeReport(
        score=0.5,
        passed=1,
        total=2,
        status="failed",
        runtime=0.25,
        tests=(
            OneTest(name="t1", kind="call", passed=True, score=1.0),
            OneTest(name="t2", kind="call", passed=False, hidden=True),
        ),
        layers=("fork",),
        extra={"note": "x"},
    )
    subs = (
        Submission(
            "s1",
            "add",
            0,
            "def add(a, b):\n    return a - b\n",
            "2024-09-01T10:00:00",
            0.5,
            "1/2 tests passed",
            report,
        ),
        Submission("s1", "add", 3, "def add(a, b):\n    return a + b  # ünïcode\n", None, None),
    )
    traj = Trajectory(
        id="2024-fall/s1/add", student="s1", assignment="add", term="2024-fall", submissions=subs
    )
    return Course(
        name="tiny",
        assignments={"add": a},
        trajectories=[traj],
        splits={"2024-fall": "train"},
        metadata={"k": [1, 2]},
    )


@pytest.mark.parametrize("target", ["course.jsonl", "course.jsonl.gz", "as_directory"])
def test_round_trip_is_lossless(tmp_path, target):
    course = small_course()
    written = save_course(course, tmp_path / target)
    assert written.is_file()
    loaded = load_course(tmp_path / target)
    assert loaded == course
    # tuples, sets, inf and bytes in expected values survive
    test = loaded.assignments["add"].tests[1]
    assert test.expected == {1, 2} and test.args == (float("inf"), b"\x00")
    assert loaded.trajectories[0].submissions[0].report.runtime == 0.25
    assert loaded.trajectory("2024-fall/s1/add").submissions[1].order == 3


def test_bundled_course_round_trips(tmp_path):
    course = bundled_course()
    save_course(course, tmp_path / "copy.jsonl.gz")
    assert load_course(tmp_path / "copy.jsonl.gz") == course


def test_gzip_output_is_deterministic(tmp_path):
    a = save_course(small_course(), tmp_path / "a.jsonl.gz").read_bytes()
    b = save_course(small_course(), tmp_path / "b.jsonl.gz").read_bytes()
    assert a == b
    assert gzip.decompress(a).decode().splitlines()[0].startswith('{"format": "student-gym/course"')


def _lines(tmp_path):
    path = save_course(small_course(), tmp_path / "c.jsonl")
    return path, path.read_text().splitlines()


def test_error_names_file_line_and_field(tmp_path):
    path, lines = _lines(tmp_path)
    traj = json.loads(lines[2])
    del traj["trajectory"]["submissions"][0]["code"]
    path.write_text("\n".join([lines[0], lines[1], json.dumps(traj)]) + "\n")
    with pytest.raises(
        CourseFormatError, match=r"c\.jsonl:3.*submissions\[0\].*missing field 'code'"
    ):
        load_course(path)


def test_unknown_assignment_and_bad_json_are_errors(tmp_path):
    path, lines = _lines(tmp_path)
    path.write_text("\n".join([lines[0], lines[2]]) + "\n")  # trajectory without its assignment
    with pytest.raises(CourseFormatError, match=r":2: unknown assignment 'add'"):
        load_course(path)
    path.write_text(lines[0] + "\n{not json\n")
    with pytest.raises(CourseFormatError, match=r":2: not valid JSON"):
        load_course(path)
    path.write_text(lines[1] + "\n")
    with pytest.raises(CourseFormatError, match="header"):
        load_course(path)
    (tmp_path / "empty_dir").mkdir()
    with pytest.raises(CourseFormatError, match="no course.jsonl"):
        load_course(tmp_path / "empty_dir")


def test_orders_must_increase(tmp_path):
    course = small_course()
    t = course.trajectories[0]
    bad = replace(t, submissions=(t.submissions[1], t.submissions[0]))
    path = save_course(replace(course, trajectories=[bad]), tmp_path / "c.jsonl")
    with pytest.raises(CourseFormatError, match="strictly increase"):
        load_course(path)

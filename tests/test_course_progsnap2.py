"""ProgSnap2 importer: Table and Directory code states, ordering, skips with reasons."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from student_gym.course import CourseFormatError, import_progsnap2
from student_gym.grader.assignment_files import load_assignments

FIXTURES = Path(__file__).parent / "fixtures"
TABLE = FIXTURES / "progsnap2_table"
DIRECTORY = FIXTURES / "progsnap2_directory"


def _assignments():
    return load_assignments(TABLE / "assignments.json")


def test_table_import_keeps_submit_and_run_events_in_order():
    course, report = import_progsnap2(TABLE, assignments=_assignments(), keep_ids=True)
    assert dict(report.skips) == {
        "bad Order": 1,
        "bad score": 1,
        "empty code": 1,
        "unknown code state": 1,
    }
    assert report.examples["bad score"][0] == {
        "file": "MainTable.csv",
        "row": 16,
        "reason": "column 'Score' '7' is not in 0..1 or a pass/fail word",
    }
    assert report.notes["other events ignored (Compile)"] == 1
    assert report.submissions_kept == 11  # problem 99 has no tests: kept with its logged grade
    assert course.trajectory("F19/u2/99").submissions[0].logged_score == 1.0
    assert course.grade_source(course.trajectory("F19/u2/99")) == "logged"
    assert report.settings["ordering"] == "ServerTimestamp, then Order"
    u1 = course.trajectory("F19/u1/12")
    # Run.Program then Submit of c1, then the two same-timestamp submits by Order (c2 before c5)
    assert [s.logged_score for s in u1.submissions] == [None, 0.25, 1.0, 1.0]
    assert "for x in xs" in u1.submissions[2].code and "sum(xs)" in u1.submissions[3].code
    assert course.splits == {"F19": "train", "S20": "test"}
    s20 = course.trajectory("S20/u3/12")
    assert s20.submissions[0].timestamp == "2020-02-03T08:00:00"  # Z suffix read as UTC


def test_directory_representation_gives_the_same_course():
    by_table, _ = import_progsnap2(TABLE, assignments=_assignments(), keep_ids=True)
    by_dir, report = import_progsnap2(DIRECTORY, assignments=_assignments(), keep_ids=True)
    assert report.settings["code_states"] == "directory"
    assert by_dir.trajectories == by_table.trajectories
    assert by_dir.assignments == by_table.assignments


def test_without_assignments_everything_is_kept_with_logged_grades():
    course, report = import_progsnap2(TABLE, keep_ids=True)
    assert report.submissions_kept == 11 and course.assignments == {}
    assert sorted(course.problems) == ["12", "13", "99"]
    assert course.grading == "logged" and report.grading == "logged"
    assert not course.has_tests


def test_pseudonymised_by_default():
    course, report = import_progsnap2(TABLE, assignments=_assignments())
    assert not {t.student for t in course.trajectories} & {"u1", "u2", "u3"}
    assert report.settings["student_ids"].startswith("salted SHA-256")


def test_malformed_datasets_are_clear_errors(tmp_path):
    with pytest.raises(CourseFormatError, match="no MainTable.csv"):
        import_progsnap2(tmp_path)
    folder = tmp_path / "ps"
    shutil.copytree(TABLE, folder)
    main = folder / "MainTable.csv"
    main.write_text(main.read_text().replace("SubjectID", "Subject", 1))
    with pytest.raises(
        CourseFormatError, match=r"MainTable\.csv: missing column\(s\) \['SubjectID'\]"
    ):
        import_progsnap2(folder, assignments=_assignments())
    shutil.rmtree(folder / "CodeStates")
    with pytest.raises(CourseFormatError, match="CodeStates"):
        import_progsnap2(folder, assignments=_assignments())

"""FalconCode importer on fixtures following the real schemas, messy rows included."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from student_gym.course import CourseFormatError, import_falconcode
from student_gym.course.falconcode import script_filename
from student_gym.course.pseudonyms import Pseudonymizer
from student_gym.grader.assignments import ScriptTest

FIXTURES = Path(__file__).parent / "fixtures"
TABLES = FIXTURES / "falconcode_tables"
FLAT = FIXTURES / "falconcode_flat" / "falconcode_export.csv"


def test_tables_import_counts_every_skip():
    course, report = import_falconcode(TABLES, keep_ids=True)
    assert report.rows_read == {
        "courses.csv": 2,
        "problems.csv": 4,
        "code_samples.csv": 9,
        "runs.csv": 21,
    }
    assert dict(report.skips) == {
        "bad encoding": 1,
        "bad score": 1,
        "empty code": 1,
        "local run (score -1)": 1,
        "malformed CSV row": 1,
        "unknown code hash": 2,
        "unknown course id": 1,
        "unknown problem id": 1,
    }
    # every data row of runs.csv is either kept or counted as skipped
    run_skips = sum(1 for exs in report.examples.values() for e in exs if e["file"] == "runs.csv")
    assert report.submissions_kept + run_skips == report.rows_read["runs.csv"]
    assert report.submissions_kept == sum(len(t) for t in course.trajectories) == 13
    # the problem without a test script is kept with its logged grade, not dropped
    notests = course.trajectory("2021-spring/bob/lab3_notests")
    assert notests.submissions[0].logged_score == 0.0
    assert "lab3_notests" in course.problems and "lab3_notests" not in course.assignments
    assert course.grade_source(notests) == "logged" and course.grading == "mixed"
    assert report.problems_without_tests == 1
    ex = report.examples["unknown problem id"][0]
    assert ex == {"file": "runs.csv", "row": 11, "reason": "problem 'lab9_unknown' of course '1'"}
    assert report.notes["duplicate timestamps (ordered by source order)"] == 1


def test_tables_become_assignments_terms_and_ordered_trajectories():
    course, _ = import_falconcode(TABLES, keep_ids=True)
    assert sorted(course.assignments) == ["lab1_add", "lab2_greet"]  # identical in both courses
    test = course.assignments["lab2_greet"].tests[0]
    assert isinstance(test, ScriptTest) and test.max_score == 10
    assert test.filename == "lab2_greet.py"
    assert course.assignments["lab1_add"].tests[0].filename == "lab1_add.py"
    assert course.splits == {"2021-spring": "train", "2022-spring": "test"}
    alice = course.trajectory("2021-spring/alice/lab1_add")
    assert [s.logged_score for s in alice.submissions] == [0.0, 0.0, 1.0]  # the -1 run is gone
    assert [s.order for s in alice.submissions] == [0, 1, 2]
    assert alice.submissions[0].timestamp == "2021-02-01T10:00:00"
    bob = course.trajectory("2021-spring/bob/lab1_add")
    # same timestamp: the row order decides, the correct program comes last
    assert "a + b" in bob.submissions[-1].code and bob.submissions[-1].logged_score == 1.0
    greet = course.trajectory("2021-spring/alice/lab2_greet")
    assert [s.logged_score for s in greet.submissions] == [0.5, 1.0]


def test_local_runs_can_be_kept_without_a_score():
    course, report = import_falconcode(TABLES, keep_ids=True, keep_local_runs=True)
    assert "local run (score -1)" not in report.skips
    alice = course.trajectory("2021-spring/alice/lab1_add")
    assert [s.logged_score for s in alice.submissions] == [0.0, None, 0.0, 1.0]


def test_student_ids_are_pseudonymised_by_default():
    course, report = import_falconcode(TABLES, salt="pepper")
    again, _ = import_falconcode(TABLES, salt="pepper")
    other, _ = import_falconcode(TABLES, salt="salt")
    students = {t.student for t in course.trajectories}
    assert not students & {"alice", "bob", "carol", "dave"}
    assert students == {t.student for t in again.trajectories}
    assert not students & {t.student for t in other.trajectories}
    assert Pseudonymizer("pepper")("alice") in students
    assert "pepper" not in str(report.to_dict())
    assert report.settings["student_ids"] == "salted SHA-256, given salt"


def test_flat_export_import():
    course, report = import_falconcode(FLAT, keep_ids=True)
    assert report.settings["shape"] == "flat"
    assert dict(report.skips) == {
        "bad encoding": 1,
        "local run (score -1)": 1,
        "empty code": 1,
        "bad score": 1,
    }
    assert report.rows_read == {"falconcode_export.csv": 12}
    assert report.submissions_kept == 8  # 7 graded by scripts + 1 of a problem without one
    assert course.splits == {"2021-spring": "train", "2022-spring": "test"}
    bob = course.trajectory("2021-spring/bob/lab1_add")
    assert [s.logged_score for s in bob.submissions] == [0.0, 1.0]


def test_missing_columns_are_a_clear_error(tmp_path):
    folder = tmp_path / "falcon"
    shutil.copytree(TABLES, folder)
    runs = folder / "runs.csv"
    lines = runs.read_text().splitlines()
    runs.write_text("\n".join(line.rsplit(",", 1)[0] for line in lines) + "\n")  # drop code_hash
    with pytest.raises(CourseFormatError, match=r"runs\.csv: missing column\(s\) \['code_hash'\]"):
        import_falconcode(folder)
    (folder / "problems.csv").unlink()
    with pytest.raises(CourseFormatError, match="no problems table"):
        import_falconcode(folder)


def test_latin1_encoding_option_reads_the_bad_row(tmp_path):
    course, report = import_falconcode(TABLES, keep_ids=True, encoding="latin-1")
    assert "bad encoding" not in report.skips
    assert report.skips["unknown code hash"] == 1  # h_latin1 is now known
    assert course.trajectory("2021-spring/bob/lab1_add")


def test_script_filename_detection():
    assert script_filename("p7", "program_name = 'lab07.py'\n") == "lab07.py"
    assert script_filename("p7", 'out = autograder.run_script("hw.py", [1])') == "hw.py"
    assert script_filename("p7", "def test_passed():\n    return 100\n") == "p7.py"


def test_test_terms_choose_the_split():
    course, _ = import_falconcode(TABLES, keep_ids=True, test_terms=["2021-spring"])
    assert course.splits == {"2021-spring": "test", "2022-spring": "train"}
    assert {t.term for t in course.split("test")} == {"2021-spring"}
    with pytest.raises(CourseFormatError, match=r"test terms \['2023-fall'\]"):
        import_falconcode(TABLES, test_terms=["2023-fall"])


def test_problem_types_can_be_selected():
    course, report = import_falconcode(TABLES, keep_ids=True, types=["skill"])
    assert report.skips["problem type not selected"] == 15  # every run of a lab problem
    # the one skill problem has no script: kept, with logged grades only
    assert [t.assignment for t in course.trajectories] == ["lab3_notests"]
    assert course.assignments == {} and course.grading == "logged"

"""`student-gym grade`: feedback text, JSON report, assignment choice, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from student_gym.grader.assignment_files import example_assignments, save_assignments
from student_gym.grader.assignments import (
    Assignment,
    CheckTest,
    Limits,
)
from student_gym.grader.report import GradeReport
from student_gym_agents.cli import main


@pytest.fixture()
def files(tmp_path: Path) -> tuple[Path, Path]:
    assignments = tmp_path / "assignments.json"
    save_assignments(example_assignments().values(), assignments)
    program = tmp_path / "prog.py"
    program.write_text("def sum_list(numbers):\n    return sum(numbers) + 1\n", encoding="utf-8")
    return assignments, program


def test_grade_prints_feedback_and_exit_status(files: tuple[Path, Path], capsys) -> None:
    assignments, program = files
    rc = main(["grade", "--assignment", str(assignments), "--assignment-id", "sum_list",
               "--code", str(program), "--feedback", "summary"])
    out = capsys.readouterr().out
    assert rc == 1
    assert out.startswith("Tests passed: 0/5\n") and "Status: failed" in out


def test_grade_json_is_a_grade_report(files: tuple[Path, Path], capsys) -> None:
    assignments, program = files
    program.write_text("def sum_list(numbers):\n    return sum(numbers)\n", encoding="utf-8")
    rc = main(["grade", "--assignment", str(assignments), "--assignment-id", "sum_list",
               "--code", str(program), "--json"])
    data = json.loads(capsys.readouterr().out)
    assert rc == 0 and "runtime" not in data
    report = GradeReport.from_dict(data)
    assert report.status == "passed" and report.total == 5


def test_grade_needs_an_id_when_the_file_has_several(files: tuple[Path, Path], capsys) -> None:
    assignments, program = files
    rc = main(["grade", "--assignment", str(assignments), "--code", str(program)])
    err = capsys.readouterr().err
    assert rc == 2 and "choose one with --assignment-id" in err and "sum_list" in err
    rc = main(["grade", "--assignment", str(assignments), "--assignment-id", "nope",
               "--code", str(program)])
    assert rc == 2 and "no assignment 'nope'" in capsys.readouterr().err


def test_grade_reports_a_bad_assignment_file(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"assignments": [{"id": "x", "tests": []}]}', encoding="utf-8")
    program = tmp_path / "p.py"
    program.write_text("print(1)\n", encoding="utf-8")
    rc = main(["grade", "--assignment", str(bad), "--code", str(program)])
    err = capsys.readouterr().err
    assert rc == 2 and "bad.json" in err and "'tests'" in err


def test_grade_an_example_by_id(tmp_path: Path, capsys) -> None:
    program = tmp_path / "p.py"
    program.write_text("n = int(input())\nprint(n * 2)\n", encoding="utf-8")
    assert main(["grade", "--example", "double_input", "--code", str(program)]) == 0
    assert "All tests passed." in capsys.readouterr().out


def test_a_report_without_a_score_flows_through_regrade_and_the_cli(tmp_path, capsys):
    broken = Assignment(id="b", title="b", statement="", entry_point="f",
                        limits=Limits(cpu_seconds=1.0, wall_factor=3.0),
                        solution="def f(x):\n    return x\n",
                        tests=(CheckTest("broken", "def check(candidate):\n"
                                         "    assert nobody_defines_this(candidate(1))\n"),))
    path = tmp_path / "a.json"
    save_assignments([broken], path)
    code = tmp_path / "p.py"
    code.write_text("def f(x):\n    return x\n")
    assert main(["grade", "--assignment", str(path), "--code", str(code)]) == 1
    assert "Score: none (broken tests)" in capsys.readouterr().out
    from student_gym.course.model import Course, Submission, Trajectory
    from student_gym.course.regrade import regrade

    submission = Submission(student="s", assignment="b", order=0, code=code.read_text(),
                            logged_score=1.0)
    course = Course(name="c", assignments={"b": broken}, splits={"t": "train"},
                    trajectories=[Trajectory(id="s/b", student="s", assignment="b", term="t",
                                             submissions=(submission,))])
    result = regrade(course, compare="score")
    assert result.mismatch_kinds == {"tests broken (test_error)": 1}

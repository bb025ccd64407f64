"""`student-gym serialize` on a native course file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from student_gym.course.model import Course, Submission, Trajectory
from student_gym.course.native import save_course
from student_gym.dialogs import NEUTRAL_FEEDBACK, format_program
from student_gym.grader.assignments import Assignment, CallTest
from student_gym.grader.report import GradeReport
from student_gym_agents.cli import main

datasets = pytest.importorskip("datasets")

ASSIGNMENT = Assignment(id="double", title="Double", statement="Write `double(n)`.",
                        entry_point="double", tests=(CallTest(name="two", args=(2,), expected=4),))
PROGRAMS = [("def double(n):\n    return n\n", 0.0), ("def double(n):\n    return n + 1\n", 0.5),
            ("def double(n):\n    return n + 2\n", 0.0), ("def double(n):\n    return n * 2\n", 1.0)]


def write_course(folder: Path) -> Path:
    subs = tuple(
        Submission(student="a", assignment="double", order=i, code=code,
                   report=GradeReport(score=s, passed=int(s == 1), total=1,
                                      status="passed" if s == 1 else "failed"))
        for i, (code, s) in enumerate(PROGRAMS)
    )
    trajectories = [Trajectory(id=f"S21/{k}/double", student=k, assignment="double", term="S21",
                               submissions=subs) for k in ("a", "b")]
    course = Course(name="cli-toy", assignments={"double": ASSIGNMENT}, trajectories=trajectories,
                    splits={"S21": "train"})
    return save_course(course, folder / "course.jsonl")


def test_serialize_para_to_arrow(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_course(tmp_path)
    out = tmp_path / "out"
    assert main(["serialize", str(path), "--format", "para", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "sft  rows: train 6, validation 0, test 0" in printed
    sft_dict = datasets.load_from_disk(str(out / "sft"))
    assert sorted(sft_dict) == ["test", "train", "validation"]  # one DatasetDict per kind
    sft = sft_dict["train"]
    dpo = datasets.load_from_disk(str(out / "dpo"))["train"]
    dapo = datasets.load_from_disk(str(out / "dapo"))["train"]
    # 4 effective submissions per trajectory: 3 SFT rows, t=1,2 DPO pairs, 3 DAPO prompts each.
    assert (len(sft), len(dpo), len(dapo)) == (6, 4, 6)
    assert sft[0]["completion"][0]["content"] == format_program(PROGRAMS[1][0])
    assert sft[0]["prompt"][3]["content"] == NEUTRAL_FEEDBACK
    report = json.loads((out / "serialize_report.json").read_text())
    assert report["datasets"]["dpo"]["train"]["rows"] == 4 and report["format"] == "para"
    card = (out / "README.md").read_text()
    assert "license: unknown" in card and "| sft | train | 6 | 2 |" in card
    assert (out / "sft" / "README.md").read_text() == card
    header = (out / "submissions.csv").read_text().splitlines()[0]
    assert "regraded_status" in header and "grade_source" in header


def test_serialize_jsonl(tmp_path: Path) -> None:
    path = write_course(tmp_path)
    out = tmp_path / "out"
    assert main(["serialize", str(path), "--format", "para", "--out", str(out), "--jsonl",
                 "--include-first"]) == 0
    rows = [json.loads(line) for line in (out / "sft" / "train.jsonl").read_text().splitlines()]
    assert len(rows) == 8 and rows[0]["step"] == 0 and len(rows[0]["prompt"]) == 2


def test_serialize_reports_bad_course_and_split(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serialize", str(tmp_path / "nope"), "--out", str(tmp_path / "o")]) == 2
    assert "cannot load course" in capsys.readouterr().err
    path = write_course(tmp_path)
    assert main(["serialize", str(path), "--split", "S99", "--out", str(tmp_path / "o")]) == 2
    assert "no split or term 'S99'" in capsys.readouterr().err
    (tmp_path / "file").write_text("x")
    assert main(["serialize", str(path), "--out", str(tmp_path / "file")]) == 2
    assert "is an existing file" in capsys.readouterr().err

"""Regrading imported courses, and the import/regrade commands end to end."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from student_gym.course import drop_mismatched, import_falconcode, load_course, regrade
from student_gym_agents.cli import main

FIXTURES = Path(__file__).parent / "fixtures"
TABLES = FIXTURES / "falconcode_tables"


@pytest.fixture(autouse=True)
def _keep_argv(monkeypatch):
    monkeypatch.setattr(sys, "argv", list(sys.argv))  # the CLI rewrites sys.argv


def test_regrade_reports_agreement_per_assignment_and_stores_reports():
    course, _ = import_falconcode(TABLES, keep_ids=True)
    result = regrade(course)
    lab1 = result.per_assignment["lab1_add"]
    assert (lab1.submissions, lab1.compared, lab1.agree) == (10, 10, 9)
    assert result.per_assignment["lab2_greet"].agreement == 1.0  # a seeded random script
    # carol's first program subtracts, yet the log says 100: the one mismatch
    assert result.mismatched_trajectories == ["2022-spring/carol/lab1_add"]
    assert result.examples[0]["logged"] == 1.0 and result.examples[0]["regraded"] == 0.0
    graded = [t for t in result.course.trajectories if result.course.gradable(t)]
    assert all(s.report is not None for t in graded for s in t.submissions)
    # the problem without a test script keeps its logged grade and is counted, not graded
    assert result.not_regraded == {"no tests": 1}
    assert result.compare == "score"  # FalconCode logs part points
    syntax = result.course.trajectory("2021-spring/bob/lab1_add").submissions[0]
    assert syntax.report.status == "syntax_error" and syntax.score("regraded") == 0.0
    assert all(s.report is None for s in course.submissions())  # the input is left alone
    kept = drop_mismatched(result)
    assert [t.id for t in kept.trajectories] == [
        t.id for t in result.course.trajectories if t.id != "2022-spring/carol/lab1_add"
    ]


def test_import_and_regrade_commands(tmp_path, capsys):
    out = tmp_path / "falcon"
    assert main(["import", "falconcode", str(TABLES), "--out", str(out), "--keep-ids"]) == 0
    report = json.loads((out / "import_report.json").read_text())
    assert report["submissions_kept"] == 13 and report["skipped"] == 9
    assert "unknown problem id" in capsys.readouterr().out
    agreeing = tmp_path / "agreeing.jsonl"
    assert main(["regrade", str(out), "--drop-mismatched", "--out", str(agreeing)]) == 0
    filtered = load_course(agreeing)
    assert len(filtered.trajectories) == 5  # 4 agreeing + 1 never compared (no tests)
    assert all(s.report is not None for t in filtered.trajectories if filtered.gradable(t)
               for s in t.submissions)
    summary = json.loads((tmp_path / "regrade_report.json").read_text())
    assert summary["compared"] == 12 and summary["agree"] == 11
    assert summary["per_assignment"]["lab1_add"]["mismatched"] == 1
    # in place: the reports are stored in the imported course itself
    assert main(["regrade", str(out), "--fail-under", "1.0"]) == 1
    regraded = load_course(out)
    assert all(s.report is not None for t in regraded.trajectories if regraded.gradable(t)
               for s in t.submissions)


def test_import_command_reports_bad_sources(tmp_path, capsys):
    assert main(["import", "progsnap2", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    assert "no MainTable.csv" in capsys.readouterr().err
    assert main(["regrade", str(tmp_path / "missing"), "--no-write"]) == 2
    assert main(["regrade", str(tmp_path), "--drop-mismatched"]) == 2

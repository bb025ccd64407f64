"""Course statistics: every definition pinned on a hand-built course, and the CLI command."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from student_gym.course import save_course
from student_gym.course.model import Course, Problem, Submission, Trajectory
from student_gym.course.stats import course_stats, lines_changed
from student_gym.grader.report import GradeReport
from student_gym.grader.report import TestResult as Result
from student_gym_agents.cli import main

ITAP_LIKE = Path(__file__).parent / "fixtures" / "itap_like"

SYNTAX = "def f(:\n"
IDENTITY = "def f(x):\n    return x\n"
PLUS_ONE = "def f(x):\n    return x + 1\n"
PLUS_ONE_RENAMED = "def f(v):\n    return v + 1\n"  # same normalised AST as PLUS_ONE


def _report(status: str, score: float, **kw) -> GradeReport:
    return GradeReport(score=score, passed=int(score * 2), total=2, status=status, **kw)


def _sub(student: str, aid: str, order: int, code: str, report=None, logged=None) -> Submission:
    return Submission(student, aid, order, code, logged_score=logged, report=report)


def _trajectory(term: str, student: str, aid: str, subs: list[Submission]) -> Trajectory:
    return Trajectory(f"{term}/{student}/{aid}", student, aid, term, tuple(subs))


def hand_built_course() -> Course:
    syntax = _report("syntax_error", 0.0, error_type="SyntaxError")
    raised = _report("failed", 0.5, tests=(
        Result("t1", "call", True), Result("t2", "call", False, error_type="TypeError")))
    failed = _report("failed", 0.5)
    passed = _report("passed", 1.0)
    return Course(
        name="hand-built",
        assignments={},
        problems={"a": Problem("a"), "b": Problem("b")},
        splits={"t1": "train", "t2": "test"},
        trajectories=[
            _trajectory("t1", "s1", "a", [_sub("s1", "a", 0, SYNTAX, syntax),
                                          _sub("s1", "a", 1, IDENTITY, raised),
                                          _sub("s1", "a", 2, PLUS_ONE, passed)]),
            _trajectory("t1", "s2", "a", [_sub("s2", "a", 0, PLUS_ONE, passed)]),
            _trajectory("t2", "s3", "a", [_sub("s3", "a", 0, IDENTITY, failed),
                                          _sub("s3", "a", 1, IDENTITY, failed),
                                          _sub("s3", "a", 2, PLUS_ONE_RENAMED, passed)]),
            # logged grades only (no report): statuses come from the log and compile()
            _trajectory("t2", "s3", "b", [_sub("s3", "b", 0, "print(1\n", logged=0.0),
                                          _sub("s3", "b", 1, "print(2)\n", logged=0.0)]),
        ],
    )


def test_every_definition_on_a_hand_built_course():
    stats = course_stats(hand_built_course())
    assert stats["status_source"] == {"report": 7, "logged": 2}
    assert stats["counts"] == {"students": 3, "assignments": 2,
                               "trajectories": {"train": 2, "test": 2},
                               "submissions": {"train": 4, "test": 5}}
    length = stats["length"]
    assert (length["median"], length["mean"], length["max"]) == (2.5, 2.25, 3)
    assert (length["share_ge_3"], length["share_ge_10"]) == (0.5, 0.0)
    assert length["histogram"] == {"1": 1, "2": 1, "3": 2}
    # effective: cut at the first pass, the identical resubmission of s3 on "a" collapsed
    eff = stats["effective_length"]
    assert eff["histogram"] == {"1": 1, "2": 2, "3": 1}
    assert (eff["train_count_ge_3"], eff["held_out_count_ge_3"]) == (1, 0)
    assert stats["first_try_correct"] == 0.25 and stats["ever_correct"] == 0.75
    assert stats["status"] == {"failed": 4 / 9, "passed": 3 / 9, "syntax_error": 2 / 9, "n": 9}
    assert stats["status_by_index"]["1"] == {"syntax_error": 0.5, "passed": 0.25,
                                             "failed": 0.25, "n": 4}
    assert stats["status_by_index"]["3"] == {"passed": 1.0, "n": 2}
    # one name per submission: the report's, a test's, or compile()'s on a logged program
    assert stats["error_types"] == {"SyntaxError": 2, "TypeError": 1}
    # within each assignment: a has 4 texts / 3 programs, b has 2 / 2, over 9 submissions
    assert stats["distinct_programs"] == {"n": 9, "text_share": 6 / 9, "ast_share": 5 / 9}
    # held-out s3: every program on "a" was seen in training (renamed or not), none on "b"
    assert stats["held_out_seen_in_training"] == {
        "finals_n": 2, "finals": 0.5, "submissions_n": 5, "submissions": 3 / 5,
        "correct_finals_n": 1, "correct_finals": 1.0}
    # edits: 3, 2 (s1); 0, 4 (s3 on a); 2 (s3 on b)
    assert stats["edit_size"] == {"n": 5, "median_lines": 2.0, "mean_lines": 2.2,
                                  "identical_share": 0.2, "small_share": 0.4}


def test_lines_changed_counts_removed_plus_added_lines():
    assert lines_changed(IDENTITY, IDENTITY) == 0
    assert lines_changed(IDENTITY, IDENTITY.replace("\n", "  \n")) == 0  # trailing spaces
    assert lines_changed(IDENTITY, IDENTITY + "\n") == 1  # a blank line is a line
    assert lines_changed("a\nb\nc\n", "a\nB\nc\n") == 2
    assert lines_changed("a\n", "a\nprint(a)\n") == 1
    assert lines_changed("", "x = 1\n") == 1


@pytest.fixture(autouse=True)
def _keep_argv(monkeypatch):
    monkeypatch.setattr(sys, "argv", list(sys.argv))  # the CLI rewrites sys.argv


def test_cli_prints_writes_json_and_compares(tmp_path, capsys):
    path = save_course(hand_built_course(), tmp_path / "hand")
    assert main(["course", "stats", str(path), "--json", str(tmp_path / "s.json")]) == 0
    out = capsys.readouterr().out
    assert "first-try correct" in out and "0.250" in out and "logged 2, report 7" in out
    saved = json.loads((tmp_path / "s.json").read_text())
    assert saved["source"] == str(path)
    assert saved["first_try_correct"] == 0.25 and saved["status_by_index"]["1"]["n"] == 4
    assert main(["course", "stats", str(path), "--compare", "bundled",
                 "--json", str(tmp_path / "both.json")]) == 0
    both = json.loads((tmp_path / "both.json").read_text())["courses"]
    assert [c["source"] for c in both] == [str(path), "bundled"]
    assert both[1]["synthetic"] is True and both[1]["status_source"].keys() == {"report"}


def test_cli_stats_of_an_imported_itap_shaped_course(tmp_path, capsys):
    out = tmp_path / "itap"
    assert main(["import", "progsnap2", str(ITAP_LIKE), "--out", str(out), "--keep-ids"]) == 0
    capsys.readouterr()
    assert main(["course", "stats", str(out), "--json", str(tmp_path / "s.json")]) == 0
    stats = json.loads((tmp_path / "s.json").read_text())
    assert stats["status_source"] == {"logged": stats["status"]["n"]}  # no tests: all logged
    assert stats["counts"]["assignments"] == 5 and stats["status"]["syntax_error"] > 0


def test_cli_bad_input_is_one_line_and_exit_2(tmp_path, capsys):
    assert main(["course", "stats", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "missing" in err and "Traceback" not in err
    (tmp_path / "bad.jsonl").write_text("{not json\n")
    assert main(["course", "stats", str(tmp_path / "bad.jsonl")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "bad.jsonl" in err
    assert main(["course"]) == 2  # no action: help, exit 2

"""Paired comparisons of runs: replay vs itself, refusals, the matched view, the CLI."""

from __future__ import annotations

import json

import pytest
from test_env_course import tiny_course

from student_gym.evaluation import evaluate
from student_gym.evaluation.compare import compare_runs, load_run, matched_pairs
from student_gym.learners.novice import NoviceAgent
from student_gym.learners.replay import ReplayAgent
from student_gym_agents.cli import main


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    course = tiny_course()
    evaluate(ReplayAgent(), course, out_dir=root / "replay", bootstrap=200)
    evaluate(ReplayAgent(), course, out_dir=root / "replay2", bootstrap=200)
    evaluate(NoviceAgent(course), course, out_dir=root / "novice", bootstrap=200)
    evaluate(ReplayAgent(), course, out_dir=root / "seed1", bootstrap=200, seed=1)
    evaluate(ReplayAgent(), course, out_dir=root / "limit1", bootstrap=200, limit=1)
    return root


def test_replay_vs_itself_differs_by_zero_with_a_zero_width_interval(runs):
    comparison = compare_runs([load_run(runs / "replay"), load_run(runs / "replay2")])
    assert comparison["students"] > 1
    (row,) = comparison["differences"]
    no_codebleu = load_run(runs / "replay").results.unavailable("codebleu")
    for key, diff in row["metrics"].items():
        if no_codebleu and "codebleu" in key:  # a core install: not computed, not a 0 difference
            assert diff == {"value": None, "ci": [None, None]}, key
            continue
        assert diff["value"] == 0.0, key
        assert diff["ci"] == [0.0, 0.0], key


def test_novice_vs_replay_has_a_negative_difference_with_a_real_interval(runs):
    comparison = compare_runs([load_run(runs / "replay"), load_run(runs / "novice")])
    gp = comparison["differences"][0]["metrics"]["grade_proximity"]
    lo, hi = gp["ci"]
    assert gp["value"] < 0 and lo <= gp["value"] <= hi and lo < hi
    # Matched view: only (episode, step) pairs both runs have; replay pairs every student step.
    pairs = matched_pairs([load_run(runs / "replay"), load_run(runs / "novice")], "paper")
    novice = load_run(runs / "novice")
    assert len(pairs) == novice.results.counts["valid_pairs"]
    assert comparison["matched"]["novice"]["pairs"] == len(pairs)


def test_runs_that_differ_are_refused(runs):
    with pytest.raises(ValueError, match="different seed"):
        compare_runs([load_run(runs / "replay"), load_run(runs / "seed1")])
    with pytest.raises(ValueError, match="different students"):
        compare_runs([load_run(runs / "replay"), load_run(runs / "limit1")])


def test_cli_compare_prints_paired_intervals_and_refuses_in_one_line(runs, tmp_path, capsys):
    out = tmp_path / "cmp"
    code = main(["evaluate", "--compare", str(runs / "replay"), str(runs / "replay2" / "results.json"),
                 "--out", str(out), "--no-plot"])  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    assert "Paired differences vs replay" in printed and "+0.000 [+0.000, +0.000]" in printed
    saved = json.loads((out / "compare.json").read_text())
    assert saved["differences"][0]["metrics"]["coverage"]["ci"] == [0.0, 0.0]

    code = main(["evaluate", "--compare", str(runs / "replay"), str(runs / "seed1"),
                 "--out", str(out)])  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "different seed" in err and "Traceback" not in err
    assert main(["evaluate", "--compare", str(tmp_path)]) == 2
    assert "not an evaluation run directory" in capsys.readouterr().err


def test_old_protocol_runs_are_refused_with_a_clear_line(runs, tmp_path):
    old = tmp_path / "old"
    old.mkdir()
    settings = json.loads((runs / "replay" / "run.json").read_text())
    settings.pop("protocol")
    (old / "run.json").write_text(json.dumps(settings))
    (old / "episodes.jsonl").write_text("")
    with pytest.raises(ValueError, match="older evaluation protocol"):
        load_run(old)

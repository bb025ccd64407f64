"""Extras really optional, in process: an install without an extra is simulated by putting
None in ``sys.modules`` for its modules (``import`` then raises ModuleNotFoundError, as in an
install without them). The real thing, a fresh core venv, is tests/test_install.py."""

from __future__ import annotations

import json
import sys
import tomllib
from pathlib import Path

import pytest
from test_env_course import tiny_course

from student_gym.course import save_course
from student_gym.evaluation.metrics import codebleu_unavailable
from student_gym.extras import EXTRA_OF, missing_extra, unavailable
from student_gym_agents.cli import main

REPO = Path(__file__).resolve().parents[1]


def block(monkeypatch: pytest.MonkeyPatch, *modules: str) -> None:
    """Make ``modules`` unimportable for this test, as in an install without them."""
    for name in modules:
        monkeypatch.setitem(sys.modules, name, None)


def test_the_module_table_follows_pyproject():
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    for extra in ("metrics", "train", "quant", "api", "tables"):
        for requirement in extras[extra]:
            dist = requirement.split("=")[0].split(">")[0].split("<")[0].strip()
            assert EXTRA_OF.get(dist.replace("-", "_").lower()) == extra, (extra, dist)
    assert set(EXTRA_OF.values()) <= set(extras)


def test_missing_extra_names_the_extra_and_leaves_real_bugs_alone(monkeypatch):
    line = missing_extra(ModuleNotFoundError("No module named 'torch'", name="torch.nn"))
    assert line == ("needs the 'train' extra (torch is not installed): "
                    "pip install 'student-gym[train]'")
    assert missing_extra(ModuleNotFoundError("x", name="no_such_module")) is None
    assert missing_extra(ImportError("cannot import name 'X'", name="torch")) is None
    assert unavailable("json", "gymnasium") is None
    block(monkeypatch, "codebleu", "tree_sitter_python")
    assert unavailable("json", "codebleu", "tree_sitter_python") == (
        "install student-gym[metrics]: codebleu, tree-sitter-python"
    )


def _evaluate(argv: list[str], capsys) -> tuple[int, str]:
    code = main(["evaluate", *argv, "--bootstrap", "20", "--no-progress"])
    return code, capsys.readouterr().out


def test_without_metrics_evaluation_reports_codebleu_not_computed_and_the_rest_as_usual(
    tmp_path, monkeypatch, capsys
):
    course = str(save_course(tiny_course(), tmp_path / "course"))
    argv = ["--agent", "replay", "--agent", "novice", "--course", course]
    with monkeypatch.context() as patch:
        block(patch, "codebleu", "tree_sitter", "tree_sitter_python", "matplotlib")
        assert codebleu_unavailable() is not None
        code, printed = _evaluate([*argv, "--out", str(tmp_path / "core")], capsys)
        assert code == 0
        reason = "install student-gym[metrics]: codebleu, tree-sitter, tree-sitter-python"
        assert f"CodeBLEU: not computed ({reason})" in printed
        assert "per-step curves: not drawn (install student-gym[metrics]: matplotlib)" in printed
        assert not (tmp_path / "core" / "per_step.png").exists()
        assert main(["report", str(tmp_path / "core" / "novice"),
                     "--out", str(tmp_path / "r.html")]) == 0
        page = (tmp_path / "r.html").read_text(encoding="utf-8")
        assert f"CodeBLEU: not computed ({reason})" in page and "<img" not in page
        assert "report: plots not drawn" in capsys.readouterr().err
    core = {a: json.loads((tmp_path / "core" / a / "results.json").read_text())
            for a in ("replay", "novice")}
    for results in core.values():
        cb = results["headline"]["CB"]
        assert cb["value"] is None and cb["unavailable"] == reason
        for metric in ("codebleu", "codebleu_fixed", "self_similarity"):
            m = results["metrics"][metric]
            assert m["value"] is None and set(m["per_step"]) == {None}  # never a made-up 0
            assert m["unavailable"] == reason
        assert results["step1"]["codebleu"]["value"] is None
        assert results["step1"]["codebleu"]["unavailable"] == reason
        assert results["metrics"]["coverage"]["unavailable"] is None
    # The headline metrics are computed: replay is the students themselves.
    assert core["replay"]["headline"]["Cov"]["value"] == 1.0
    assert core["replay"]["headline"]["GP"]["value"] == 1.0
    assert 0 < core["novice"]["headline"]["GP"]["value"] < 1
    if codebleu_unavailable() is not None:
        return  # a real core install: nothing to compare with
    # With the extra, the same run gets CodeBLEU and exactly the same other numbers.
    code, printed = _evaluate([*argv, "--out", str(tmp_path / "full"), "--no-plot"], capsys)
    assert code == 0 and "not computed" not in printed
    for agent, without in core.items():
        full = json.loads((tmp_path / "full" / agent / "results.json").read_text())
        assert full["headline"]["CB"]["value"] > 0 and full["headline"]["CB"]["unavailable"] is None
        for metric in ("coverage", "grade_proximity", "coverage_step_mean"):
            assert full["metrics"][metric] == without["metrics"][metric], (agent, metric)
        assert full["behaviour"] == without["behaviour"]


def test_resuming_a_run_scored_without_codebleu_keeps_it_not_computed(tmp_path, monkeypatch):
    from student_gym.evaluation import evaluate
    from student_gym.learners.replay import ReplayAgent

    course = tiny_course()
    with monkeypatch.context() as patch:
        block(patch, "codebleu")
        evaluate(ReplayAgent(), course, out_dir=tmp_path, limit=1, bootstrap=0)
    # Resumed with the extra back: the old episodes keep no CodeBLEU, so no total.
    results = evaluate(ReplayAgent(), course, out_dir=tmp_path, limit=1, bootstrap=0)
    assert results.value("codebleu") is None and results.value("coverage") == 1.0
    assert "student-gym[metrics]" in results.unavailable("codebleu")


@pytest.mark.parametrize(
    ("blocked", "argv", "extra"),
    [
        ("trl", ["train", "sft", "--output_dir", "{tmp}/sft"], "train"),
        ("torch", ["demo", "--quick", "--out", "{tmp}/demo"], "train"),
        ("torch", ["evaluate", "--agent", "lm:{tmp}", "--course", "{course}", "--out",
                   "{tmp}/ev"], "train"),
        ("openai", ["evaluate", "--agent", "api:m", "--allow-remote-course-data", "--course",
                    "{course}", "--out", "{tmp}/ev"], "api"),
        ("datasets", ["serialize", "{course}", "--out", "{tmp}/ser"], "train"),
        ("pyarrow", ["import", "table", "{tmp}/log.parquet", "--columns",
                     "student=user,problem=task,code=source", "--out", "{tmp}/imported"],
         "tables"),
    ],
)
def test_a_command_that_needs_an_extra_fails_in_one_line(
    blocked, argv, extra, tmp_path, monkeypatch, capsys
):
    course = save_course(tiny_course(), tmp_path / "course")
    (tmp_path / "log.parquet").write_bytes(b"PAR1")
    block(monkeypatch, blocked)
    code = main([a.format(tmp=tmp_path, course=course) for a in argv])
    captured = capsys.readouterr()
    assert code == 2, captured
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err, captured.err
    assert f"pip install 'student-gym[{extra}]'" in captured.err

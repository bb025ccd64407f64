"""``student-gym demo --quick``: the whole pipeline end to end on the bundled course."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("trl")

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("demo")]


def test_quick_demo_trains_evaluates_and_reports(tmp_path: Path, capsys) -> None:
    import torch

    from student_gym_agents.cli import main

    torch.set_num_threads(1)
    out = tmp_path / "demo"
    assert main(["demo", "--quick", "--out", str(out)]) == 0
    summary = json.loads((out / "demo_summary.json").read_text())
    assert list(summary["results"]) == ["BASE", "PARA", "SFT", "DPO", "novice", "replay"]
    for name in ("SFT", "PARA", "DPO"):
        run = summary["training"][name]
        assert math.isfinite(run["last_loss"]) and Path(run["path"]).is_dir()
    # DPO trained on top of the SFT model (a full model directory: its base).
    dpo_record = json.loads((out / "dpo" / "student_gym_run.json").read_text())
    assert dpo_record["base_model"] == summary["training"]["SFT"]["path"]
    # Replay is the real students themselves: every step paired, identical grades and code.
    replay = summary["results"]["replay"]
    assert replay["Cov"] == 1.0 and replay["GP"] == 1.0
    assert len(summary["held_out"]["students"]) == 1  # QUICK draws one held-out student
    # Every agent ran every planned episode of the same sample: the same (trajectory, start)s.
    starts = {}
    for name in summary["results"]:
        results = json.loads((out / "eval" / name / "results.json").read_text())
        lines = (out / "eval" / name / "episodes.jsonl").read_text().splitlines()
        starts[name] = sorted((e["trajectory"], e["prefix"]) for e in map(json.loads, lines))
        assert summary["held_out"]["episodes"][name] == results["counts"]["planned_episodes"]
        assert len(starts[name]) == results["counts"]["planned_episodes"] > 0
    assert all(s == starts["replay"] for s in starts.values())
    for name, numbers in summary["results"].items():
        # Well-formed is the stricter validity rule: it can never pair more steps than Cov.
        assert numbers["coverage_well_formed"] <= numbers["Cov"] + 1e-12, name
    assert Path(summary["plot"]).is_file()
    # Every phase is timed, in the order it ran, and the times are printed at the end.
    phases = ["build BASE", "train SFT", "train PARA", "train DPO",
              *(f"evaluate {name}" for name in summary["results"]), "report"]
    assert list(summary["phase_seconds"]) == phases
    assert all(seconds >= 0 for seconds in summary["phase_seconds"].values())
    assert summary["training"]["SFT"]["seconds"] == summary["phase_seconds"]["train SFT"]
    printed = capsys.readouterr().out
    assert "demo done" in printed and str(out) in printed and "replay" in printed
    assert "Wall time per phase" in printed and "evaluate replay" in printed


def test_train_cli_runs_sft_on_the_bundled_course(tmp_path: Path, capsys) -> None:
    import torch

    from student_gym_agents.cli import main
    from student_gym_agents.tiny import build_tiny_model

    torch.set_num_threads(1)
    model = build_tiny_model(tmp_path / "tiny")
    out = tmp_path / "sft"
    code = main(["train", "sft", "--model_name_or_path", str(model), "--output_dir", str(out),
                 "--use_cpu", "true", "--max_steps", "1", "--per_device_train_batch_size", "1",
                 "--max_length", "256", "--max_samples", "4", "--save_strategy", "no",
                 "--disable_tqdm", "true"])
    assert code == 0
    assert (out / "adapter_config.json").is_file()  # LoRA by default
    assert f"SFT model written to {out}" in capsys.readouterr().out
    # Bad input: a clear error, not a traceback.
    assert main(["train", "dpo", "--recipe", "no-such-recipe"]) == 2
    assert "no recipe 'no-such-recipe'" in capsys.readouterr().err


def test_well_formed_coverage_counts_only_fenced_compiling_programs(tmp_path: Path) -> None:
    from student_gym.evaluation.episodes import EpisodeRecord, StepRecord, write_episode
    from student_gym_agents.demo import well_formed_coverage

    def step(j: int, code: str, fmt: bool, status: str) -> StepRecord:
        return StepRecord(j=j, reply=code, code=code, format_ok=fmt, score=0.0, status=status,
                          target_code="x = 1\n", target_score=0.0)

    episodes = [
        # 3 student steps: a good program, noise without a fence, a fenced syntax error.
        EpisodeRecord("t1", "s", "a", 1, 3, [step(1, "x = 2", True, "failed"),
                                             step(2, "x y", False, "syntax_error"),
                                             step(3, "x y", True, "syntax_error")]),
        # 2 student steps, the learner solved it at step 1 (stopping early counts against it).
        EpisodeRecord("t2", "s", "a", 1, 2, [step(1, "x = 1", True, "passed")]),
    ]
    path = tmp_path / "episodes.jsonl"
    with path.open("w") as handle:
        for record in episodes:
            write_episode(handle, record)
    assert well_formed_coverage(path, steps=5) == 2 / 5
    assert well_formed_coverage(path, steps=1) == 2 / 2


def test_demo_trains_in_fp32_without_activation_checkpointing(tmp_path: Path) -> None:
    # TRL defaults to bf16 autocast and activation checkpointing; on a CPU without native
    # bf16 the first makes every step ~40x slower (benchmarks/demo_sft_step.py).
    from student_gym_agents.demo import FULL, train_args

    for method in ("sft", "dpo"):
        _, training_args, _ = train_args(method, tmp_path / method, "model", FULL, [])
        assert training_args.bf16 is False
        assert training_args.activation_checkpointing is False
        assert training_args.disable_tqdm is True  # the demo draws its own rich bar


def test_bf16_on_a_cpu_without_native_bf16_is_warned(monkeypatch, caplog) -> None:
    from types import SimpleNamespace

    import torch

    from student_gym_agents.training.config import warn_emulated_bf16

    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False, raising=False)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False, raising=False)
    cpu_bf16 = SimpleNamespace(use_cpu=True, bf16=True)
    with caplog.at_level("WARNING", logger="student_gym.training"):
        assert warn_emulated_bf16(cpu_bf16) is True
    assert "--bf16 false" in caplog.text
    assert warn_emulated_bf16(SimpleNamespace(use_cpu=True, bf16=False)) is False
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: True, raising=False)
    assert warn_emulated_bf16(cpu_bf16) is False


def test_demo_leaves_one_core_to_the_grader() -> None:
    from student_gym_agents.cli.demo_command import demo_threads

    assert [demo_threads(n) for n in (1, 2, 8)] == [1, 1, 7]

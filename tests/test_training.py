"""SFT, DPO and DAPO through TRL on a tiny offline Qwen3, on CPU, with a toy course.

Each trainer runs a few steps; the loss is finite, the trained weights change, the result loads
into the LM learner; the SFT labels cover exactly the target turn; DAPO is rewarded by the env.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("trl")

from student_gym.course.model import Course, Submission, Trajectory  # noqa: E402
from student_gym.dialogs import format_program  # noqa: E402
from student_gym.grader.assignments import Assignment, CallTest  # noqa: E402
from student_gym_agents.lm import LMAgent  # noqa: E402
from student_gym_agents.tiny import TinyModelSpec, build_tiny_model  # noqa: E402
from student_gym_agents.training.config import parse_train_args  # noqa: E402
from student_gym_agents.training.env_reward import EnvReward  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("training")]

ASSIGNMENT = Assignment(
    id="double", title="Double", statement="Write `double(n)` that returns twice `n`.",
    entry_point="double",
    tests=(CallTest(name="two", args=(2,), expected=4), CallTest(name="zero", args=(0,), expected=0)),
)
PROGRAMS = {
    "s0": ["def double(n):\n    return n + 2\n", "def double(n):\n    return n * 3\n",
           "def double(n):\n    return n * 2\n"],
    "s1": ["def double(n):\n    print(n * 2)\n", "def double(n)\n    return 2n\n",
           "def double(n):\n    return n + n\n"],
    "s2": ["def double(x):\n    return x\n", "def double(x):\n    return x * 2\n"],
}


@pytest.fixture(scope="module")
def course() -> Course:
    from student_gym.grader import grade_many

    trajectories = []
    for tid, programs in PROGRAMS.items():
        reports = grade_many([(p, ASSIGNMENT) for p in programs])
        subs = tuple(
            Submission(student=tid, assignment="double", order=i, code=p, report=r)
            for i, (p, r) in enumerate(zip(programs, reports, strict=True))
        )
        trajectories.append(Trajectory(id=tid, student=tid, assignment="double",
                                       term="S22" if tid == "s2" else "S21", submissions=subs))
    return Course(name="toy", assignments={"double": ASSIGNMENT}, trajectories=trajectories,
                  splits={"S21": "train", "S22": "test"})


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    torch.set_num_threads(1)
    return build_tiny_model(tmp_path_factory.mktemp("tiny"))


def args(method: str, model: Path, out: Path, course: Course, *extra: str):
    script, training, model_args = parse_train_args(method, [
        "--model_name_or_path", str(model), "--output_dir", str(out), "--use_cpu", "true",
        "--max_steps", "2", "--per_device_train_batch_size", "2", "--logging_steps", "1",
        "--save_steps", "1", "--learning_rate", "1e-2", "--disable_tqdm", "true", *extra,
    ])
    script.course = course  # resolve_course takes a Course object as well as a path
    return script, training, model_args


def lora_weights(path: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(str(path / "adapter_model.safetensors"))


def observation() -> list[dict]:
    return [{"role": "system", "content": "You are a student."},
            {"role": "user", "content": ASSIGNMENT.statement}]


def test_sft_labels_cover_exactly_the_target_turn(tiny: Path, tmp_path: Path, course) -> None:
    from student_gym_agents.training.sft import build_sft_trainer

    trainer, _ = build_sft_trainer(*args("sft", tiny, tmp_path / "sft", course, "--max_length", "512",
                                         "--max_prompt_tokens", "1000"))  # no truncation
    tok = trainer.processing_class
    rows = [trainer.train_dataset[i] for i in range(len(trainer.train_dataset))]
    batch = trainer.data_collator(rows)
    from student_gym.dialogs import sft_rows

    source = sft_rows(course, "train")
    assert len(rows) == len(source) == 4
    for i, row in enumerate(source):
        prompt = tok.apply_chat_template(row["prompt"], tokenize=False,
                                         add_generation_prompt=True, enable_thinking=False)
        target = tok(row["completion"][0]["content"] + "<|im_end|>\n", add_special_tokens=False)
        ids, labels = batch["input_ids"][i], batch["labels"][i]
        trained = labels != -100
        n_prompt = len(tok(prompt, add_special_tokens=False)["input_ids"])
        # The loss falls on the completion tokens and nowhere else: not on the prompt (earlier
        # programs and feedback), not on padding.
        assert trained.sum().item() == len(target["input_ids"])
        assert ids[trained].tolist() == target["input_ids"]
        assert labels[trained].tolist() == target["input_ids"]
        positions = trained.nonzero().flatten().tolist()
        assert positions == list(range(n_prompt, n_prompt + len(positions)))


def test_sft_trains_lora_resumes_and_loads_into_the_learner(tiny: Path, tmp_path: Path, course) -> None:
    from student_gym_agents.training.sft import train_sft

    out = train_sft(*args("sft", tiny, tmp_path / "sft", course, "--max_length", "512"))
    record = json.loads((out / "student_gym_run.json").read_text())
    assert record["global_step"] == 2 and math.isfinite(record["last_loss"])
    lora = lora_weights(out)
    # LoRA's B matrices start at zero: any non-zero B means training changed the adapter.
    b = [v for k, v in lora.items() if "lora_B" in k]
    assert b and all(v.abs().sum() > 0 for v in b)
    assert (out / "checkpoint-1").is_dir() and (out / "checkpoint-2").is_dir()

    # Resume: one more step from the last checkpoint, not from scratch.
    more = args("sft", tiny, tmp_path / "sft", course, "--max_length", "512", "--max_steps", "3",
                "--resume_from_checkpoint", "last")
    out = train_sft(*more)
    assert json.loads((out / "student_gym_run.json").read_text())["global_step"] == 3

    agent = LMAgent(tiny, adapter=out, max_new_tokens=8, batch_size=2)
    replies = agent.act([observation(), observation(), observation()[:1] + observation()[1:]], [{}] * 3)
    assert len(replies) == 3 and all(isinstance(r, str) for r in replies)
    # Greedy decoding is deterministic and batch-independent for equal prompts.
    assert replies[0] == replies[1] == replies[2] == agent.act([observation()], [{}])[0]


def test_sft_keeps_the_checkpoint_of_lowest_validation_loss(tiny: Path, tmp_path: Path, course) -> None:
    from dataclasses import replace

    from student_gym_agents.training.runs import fit_and_save
    from student_gym_agents.training.sft import build_sft_trainer

    held_out = replace(course, student_splits={"s1": "validation"})  # s1's rows are validation
    script, training, model_args = args("sft", tiny, tmp_path / "sft", held_out, "--max_length", "512",
                                        "--save_total_limit", "3")
    trainer, record = build_sft_trainer(script, training, model_args)
    assert trainer.args.load_best_model_at_end and trainer.args.metric_for_best_model == "eval_loss"
    assert len(trainer.eval_dataset) == 2  # s1: 3 effective submissions -> 2 SFT rows
    out = fit_and_save(trainer, training, record)
    saved = json.loads((out / "student_gym_run.json").read_text())
    evals = [r["eval_loss"] for r in saved["log_history"] if "eval_loss" in r]
    assert len(evals) == 2 and saved["best_validation_loss"] == min(evals)
    assert saved["best_model_checkpoint"].endswith(f"checkpoint-{1 + evals.index(min(evals))}")


def test_dapo_refuses_a_course_without_tests(tmp_path: Path, course) -> None:
    from student_gym.course.native import save_course
    from student_gym_agents.cli import main

    logged = replace_course(course)
    path = save_course(logged, tmp_path / "logged.jsonl")
    assert main(["train", "dapo", "--model_name_or_path", "none", "--course", str(path)]) == 2


def replace_course(course: Course) -> Course:
    """The toy course with its tests removed: logged grades only."""
    from student_gym.course.model import Problem

    return Course(name="logged", assignments={}, trajectories=list(course.trajectories),
                  splits=dict(course.splits),
                  problems={"double": Problem(id="double", statement=ASSIGNMENT.statement)})


def test_dpo_starts_from_the_merged_sft_adapter(tiny: Path, tmp_path: Path, course) -> None:
    from student_gym_agents.training.dpo import train_dpo
    from student_gym_agents.training.sft import train_sft

    sft = train_sft(*args("sft", tiny, tmp_path / "sft", course, "--max_length", "512"))
    dpo = train_dpo(*args("dpo", tiny, tmp_path / "dpo", course, "--max_length", "512",
                          "--init_from", str(sft)))
    record = json.loads((dpo / "student_gym_run.json").read_text())
    assert record["merged_adapters"] == [str(sft)]
    assert math.isfinite(record["last_loss"])
    lineage = json.loads((dpo / "student_gym_lineage.json").read_text())
    assert lineage["merged_adapters"] == [str(sft.resolve())]
    assert all(v.abs().sum() > 0 for k, v in lora_weights(dpo).items() if "lora_B" in k)
    # The learner rebuilds base + SFT (merged) + DPO: different from base + DPO alone.
    stacked = LMAgent(tiny, adapter=dpo, max_new_tokens=4)
    from transformers import AutoModelForCausalLM

    from student_gym_agents.lm import load_adapter

    plain = AutoModelForCausalLM.from_pretrained(str(tiny))
    alone = load_adapter(plain, sft, merge=True)  # only the SFT adapter
    w = "model.layers.0.self_attn.q_proj.weight"
    assert not torch.equal(stacked.model.state_dict()[w], alone.state_dict()[w])


def test_env_reward_steps_the_env_from_the_row_prefix(course) -> None:
    reward = EnvReward(course, "train", reward="dapo")
    target = PROGRAMS["s0"][1]  # the real submission after prefix 1 of s0
    completions = [
        [{"role": "assistant", "content": format_program(target)}],  # same program: 2.0
        [{"role": "assistant", "content": format_program("def double(k):\n    return k * 5\n")}],
        [{"role": "assistant", "content": "def double(n) return"}],  # no fence: -1
        [{"role": "assistant", "content": format_program("def double(n)\n  x")}],  # syntax: -0.5
        [{"role": "assistant", "content": format_program("def double(n):\n    return 7\n")}],
    ]
    got = reward(completions, trajectory_id=["s0"] * 5, prefix=[1] * 5)
    # s0's second submission scores 0.5 (one test of two): "* 5" also passes n=0 only -> 1.0;
    # "return 7" passes nothing -> 0.0 grade, different from 0.5 -> 0.
    assert got == [2.0, 1.0, -1.0, -0.5, 0.0]


def test_dapo_trains_on_env_rewards(tmp_path: Path, course) -> None:
    from student_gym.dialogs import sft_rows
    from student_gym_agents.training.dapo import train_dapo
    from student_gym_agents.training.sft import train_sft

    # A random model never closes a fenced block, so every completion would get the same
    # reward and DAPO would have nothing to learn from: first teach a small-vocabulary tiny
    # model the format (full fine-tuning, a few dozen steps), then sample from it.
    corpus = [m["content"] for r in sft_rows(course, "train") for m in r["prompt"] + r["completion"]]
    model = build_tiny_model(tmp_path / "tiny", spec=TinyModelSpec(corpus_vocab_size=400), corpus=corpus)
    warm = train_sft(*args("sft", model, tmp_path / "warm", course, "--use_peft", "false",
                           "--max_steps", "40", "--learning_rate", "3e-3", "--save_strategy", "no",
                           "--per_device_train_batch_size", "4"))
    out = train_dapo(*args(
        "dapo", model, tmp_path / "dapo", course, "--init_from", str(warm), "--num_generations", "4",
        "--per_device_train_batch_size", "4", "--max_completion_length", "40",
        "--temperature", "1.5", "--max_steps", "3", "--overlong_cache_tokens", "8",
        "--learning_rate", "1e-2", "--save_strategy", "no",
    ))
    record = json.loads((out / "student_gym_run.json").read_text())
    assert record["base_model"] == str(warm)
    assert math.isfinite(record["metrics"]["train_loss"])
    # The env's rewards differed within a group at least once (else DAPO has no signal).
    stds = [row["reward_std"] for row in record["log_history"] if "reward_std" in row]
    assert stds and max(stds) > 0
    assert any(v.abs().sum() > 0 for k, v in lora_weights(out).items() if "lora_B" in k)


def test_recipes_parse_into_the_paper_settings() -> None:
    s, t, m = parse_train_args("sft", ["--recipe", "qwen3-4b-sft", "--bf16", "false"])
    assert (m.model_name_or_path, m.load_in_4bit, m.use_peft) == ("Qwen/Qwen3-4B-Instruct-2507", True, True)
    assert (m.lora_r, m.lora_alpha, t.learning_rate, t.num_train_epochs) == (8, 16, 1e-4, 1)
    assert t.lr_scheduler_type.value == "cosine" and t.completion_only_loss
    s, t, m = parse_train_args("dpo", ["--recipe", "qwen3-8b-dpo", "--bf16", "false"])
    assert (m.model_name_or_path, t.beta, t.loss_type, t.learning_rate) == ("Qwen/Qwen3-8B", 0.5, ["sigmoid"], 1e-5)
    assert s.init_from == "runs/qwen3-8b-sft" and s.enable_thinking is False
    s, t, m = parse_train_args("dapo", ["--recipe", "qwen3-4b-dapo", "--bf16", "false", "--num_generations", "8"])
    assert (t.loss_type, t.epsilon_high, t.mask_truncated_completions, t.beta) == ("dapo", 0.28, True, 0.0)
    assert (t.num_generations, t.per_device_train_batch_size, t.max_completion_length) == (8, 8, 1024)
    with pytest.raises(FileNotFoundError, match="shipped recipes: .*qwen3-4b-sft"):
        parse_train_args("sft", ["--recipe", "qwen3-70b"])

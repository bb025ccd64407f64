"""The end-to-end demo: the whole method on the bundled course, offline, on CPU.

1. build a tiny Qwen3 learner (BASE) whose byte-level BPE is trained on the course's
   training dialogs (4k tokens: a 50k vocabulary would make every step ~10x slower);
2. train it with PARA (SFT on neutral-feedback dialogs), SFT and DPO (from SFT) on the training
   term, through the same ``student_gym_agents.training`` code and TRL trainers as ``student-gym train``;
3. evaluate BASE, PARA, SFT, DPO, the rule-based novice and replay (the real students) on the
   held-out term with the 5-step rollout (``student_gym.evaluation.evaluate``);
4. print the tables, save the per-step plot, the HTML report (``report.html``) and a
   ``demo_summary.json``.

The tiny model is *fully* fine-tuned (``use_peft=False``) with a large learning rate: a LoRA
on random weights has too little capacity to learn to write fenced programs in minutes. Real
models use LoRA/QLoRA through the recipes (``student-gym train sft --recipe qwen3-4b-sft``).
"""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class DemoSettings:
    """Budget of a demo run (``FULL`` for ``make demo``, ``QUICK`` for tests)."""

    hidden_size: int = 256
    num_layers: int = 2
    vocab_size: int = 4096
    max_length: int = 576  # training sequence (prompt + program), tokens
    max_prompt_tokens: int = 384  # prompt budget in training and evaluation
    max_new_tokens: int = 192  # longest generated program
    # The budget fits ~12 minutes on 2 quiet cores (the phase times are printed at the end).
    sft_steps: int = 100
    dpo_steps: int = 20
    batch_size: int = 8
    sft_lr: float = 2e-3
    dpo_lr: float = 5e-5
    eval_students: int | None = 3  # held-out students evaluated, drawn with seed (None: all)
    eval_batch_size: int = 32
    seed: int = 0


FULL = DemoSettings()
QUICK = replace(
    FULL, hidden_size=64, vocab_size=1024, max_length=256, max_prompt_tokens=160,
    max_new_tokens=24, sft_steps=3, dpo_steps=2, batch_size=2, eval_students=1,
    eval_batch_size=8,
)


def training_corpus(course) -> list[str]:
    """Texts to train the tiny tokenizer on: the training term's dialogs (both styles) and
    the chat template's fixed pieces."""
    from student_gym.dialogs import DialogStyle, sft_rows

    texts = ["system\n", "user\n", "assistant\n<think>\n\n</think>\n\n"]
    for style in (DialogStyle(), DialogStyle.para_style()):
        for row in sft_rows(course, "train", style):
            texts.extend(m["content"] for m in row["prompt"] + row["completion"])
    return texts


def well_formed_coverage(episodes_file: Path, steps: int) -> float | None:
    """Pooled share of student steps paired with a *well-formed* learner program.

    The evaluation's Coverage (the paper's validity rule) counts any non-empty program text
    as a program (a random model's noise included); this stricter reading also asks for a
    fenced block that compiles.
    """
    from student_gym.evaluation.episodes import read_episodes

    episodes, _ = read_episodes(episodes_file)
    student = sum(min(e.student_steps, steps) for e in episodes)
    good = sum(
        1
        for e in episodes
        for s in e.steps[: min(e.student_steps, steps)]
        if s.valid() and s.format_ok and s.status != "syntax_error"
    )
    return good / student if student else None


def train_args(method: str, out: Path, model: str, settings: DemoSettings, extra: list[str]):
    """The demo's flags for ``student_gym_agents.training`` (the same parser as ``student-gym train``)."""
    from student_gym_agents.training.config import parse_train_args

    steps = settings.sft_steps if method == "sft" else settings.dpo_steps
    lr = settings.sft_lr if method == "sft" else settings.dpo_lr
    argv = [
        "--model_name_or_path", model, "--output_dir", str(out), "--use_peft", "false",
        "--use_cpu", "true", "--max_steps", str(steps), "--learning_rate", str(lr),
        "--lr_scheduler_type", "cosine", "--warmup_steps", str(max(1, steps // 20)),
        "--per_device_train_batch_size", str(settings.batch_size),
        "--max_length", str(settings.max_length),
        "--max_prompt_tokens", str(settings.max_prompt_tokens),
        "--logging_steps", str(max(1, steps // 10)), "--save_strategy", "no",
        "--seed", str(settings.seed), "--disable_tqdm", "true",  # the demo draws its own bar
        # Recomputing activations saves memory a tiny model does not need, at ~30% more time
        # (TRL turns it on by default).
        "--activation_checkpointing", "false",
        # TRL defaults to bf16 autocast; a CPU without native bf16 (AVX2) emulates those
        # matmuls ~40x slower than fp32 (benchmarks/demo_sft_step.py).
        "--bf16", "false", *extra,
    ]
    return parse_train_args(method, argv)


class PhaseClock:
    """Wall time of each phase of a run, in the order the phases ran."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Time the ``with`` block as phase ``name``."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = round(time.perf_counter() - start, 1)

    def print_table(self) -> None:
        """Print the phases, their seconds and their share of the total."""
        from rich.console import Console
        from rich.table import Table

        total = sum(self.seconds.values()) or 1.0
        table = Table(title="Wall time per phase")
        table.add_column("phase")
        table.add_column("seconds", justify="right")
        table.add_column("share", justify="right")
        for name, seconds in self.seconds.items():
            table.add_row(name, f"{seconds:.1f}", f"{seconds / total:.0%}")
        table.add_row("total", f"{sum(self.seconds.values()):.1f}", "100%", style="bold")
        Console().print(table)


@contextmanager
def busy(text: str) -> Iterator[None]:
    """A spinner (stderr) for a step that has no progress bar of its own."""
    from rich.console import Console

    with Console(stderr=True).status(text):
        yield


@contextmanager
def quiet_libraries() -> Iterator[None]:
    """Leave the screen to the demo's own bars and lines while it runs, then restore.

    datasets and transformers draw a tqdm bar for every dataset map and every model load or
    save, and TRL's trainers warn about renamed transformers arguments on every run.
    """
    import datasets
    import transformers

    bars = datasets.is_progress_bar_enabled()
    transformers_bars = transformers.logging.is_progress_bar_enabled()
    verbosity = transformers.logging.get_verbosity()
    datasets.disable_progress_bars()
    transformers.logging.disable_progress_bar()
    transformers.logging.set_verbosity_error()
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*is deprecated and will be removed in v6",
                                    category=FutureWarning)
            yield
    finally:
        transformers.logging.set_verbosity(verbosity)
        if transformers_bars:
            transformers.logging.enable_progress_bar()
        if bars:
            datasets.enable_progress_bars()


def train_all(out: Path, base: str, settings: DemoSettings, clock: PhaseClock,
              log) -> dict[str, dict[str, Any]]:
    """Train PARA, SFT and DPO; return name -> {"path", "seconds", "first_loss", "last_loss"}."""
    from student_gym_agents.training.dpo import build_dpo_trainer
    from student_gym_agents.training.progress import use_rich_progress
    from student_gym_agents.training.runs import fit_and_save
    from student_gym_agents.training.sft import build_sft_trainer

    runs: dict[str, dict[str, Any]] = {}
    plan = [
        ("SFT", "sft", build_sft_trainer, base, []),
        ("PARA", "sft", build_sft_trainer, base, ["--para", "true"]),
        # DPO starts from the SFT model; a full model directory is the DPO base (and reference).
        ("DPO", "dpo", build_dpo_trainer, None, ["--beta", "0.5"]),
    ]
    for name, method, build, model, extra in plan:
        model = model or runs["SFT"]["path"]
        steps = settings.sft_steps if method == "sft" else settings.dpo_steps
        log(f"training {name} ({method.upper()}, {steps} steps) ...")
        with clock.phase(f"train {name}"):
            args = train_args(method, out / name.lower(), model, settings, extra)
            with busy(f"{name}: tokenizing the dialogs and loading the model ..."):
                trainer, record = build(*args)
            use_rich_progress(trainer, f"train {name}")
            path = fit_and_save(trainer, args[1], record, print_metrics=False)
        record = json.loads((path / "student_gym_run.json").read_text())
        runs[name] = {
            "path": str(path),
            "seconds": clock.seconds[f"train {name}"],
            "first_loss": record["first_loss"],
            "last_loss": record["last_loss"],
        }
        losses = " -> ".join("n/a" if x is None else f"{x:.3f}"
                             for x in (record["first_loss"], record["last_loss"]))
        log(f"  {name}: loss {losses} in {runs[name]['seconds']} s, saved to {path}")
    return runs


def run_demo(out_dir: str | Path, settings: DemoSettings = FULL, log=print) -> dict[str, Any]:
    """Run the demo end to end; return (and save) its summary.

    Every phase shows a bar or a spinner while it runs; the wall time of each is printed at
    the end and saved in ``demo_summary.json`` (``phase_seconds``).

    Args:
        out_dir: where models, evaluation runs, the plot and ``demo_summary.json`` go.
        settings: the budget (``FULL`` or ``QUICK``).
        log: where progress lines go.
    """
    from student_gym.grader import start_server

    start_server()  # before any model is loaded
    with quiet_libraries():
        return _run(Path(out_dir), settings, log)


def _run(out: Path, settings: DemoSettings, log) -> dict[str, Any]:
    import torch

    from student_gym.course import bundled_course
    from student_gym.evaluation import evaluate
    from student_gym.evaluation.plots import plot_per_step, plots_unavailable
    from student_gym.evaluation.report import write_report
    from student_gym.evaluation.tables import print_tables
    from student_gym.learners.novice import NoviceAgent
    from student_gym.learners.replay import ReplayAgent
    from student_gym_agents.lm import LMAgent
    from student_gym_agents.tiny import TinyModelSpec, build_tiny_model

    begin = time.perf_counter()
    clock = PhaseClock()
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(settings.seed)
    course = bundled_course()
    log(f"course {course.name}: {len(course.split('train'))} training and "
        f"{len(course.split('test'))} held-out trajectories")

    spec = TinyModelSpec(
        hidden_size=settings.hidden_size, num_hidden_layers=settings.num_layers,
        intermediate_size=2 * settings.hidden_size, corpus_vocab_size=settings.vocab_size,
    )
    with clock.phase("build BASE"), busy("BASE: training the tokenizer, building the model ..."):
        base = str(build_tiny_model(out / "base", seed=settings.seed, spec=spec,
                                    corpus=training_corpus(course)))
    log(f"BASE: tiny Qwen3 (hidden {spec.hidden_size}, {spec.num_hidden_layers} layers, "
        f"vocab {settings.vocab_size}) at {base}")
    runs = train_all(out, base, settings, clock, log)

    def learner(name: str, path: str) -> LMAgent:
        return LMAgent(path, max_new_tokens=settings.max_new_tokens,
                       max_prompt_tokens=settings.max_prompt_tokens,
                       batch_size=settings.eval_batch_size, name=name)

    # Built when their turn comes, so one learner at a time is in memory.
    agents = [
        ("BASE", lambda: learner("BASE", base), False),
        ("PARA", lambda: learner("PARA", runs["PARA"]["path"]), True),
        ("SFT", lambda: learner("SFT", runs["SFT"]["path"]), False),
        ("DPO", lambda: learner("DPO", runs["DPO"]["path"]), False),
        ("novice", lambda: NoviceAgent(course, seed=settings.seed), False),
        ("replay", ReplayAgent, False),
    ]
    results = []
    for name, make_agent, para in agents:
        log(f"evaluating {name} on the held-out term ...")
        with clock.phase(f"evaluate {name}"):
            results.append(
                evaluate(make_agent(), course, split="test", para=para,
                         limit=settings.eval_students,
                         batch_size=settings.eval_batch_size, out_dir=out / "eval" / name,
                         resume=False, name=name, seed=settings.seed, progress=True)
            )
        log(f"  {name}: {results[-1].summary()} in {clock.seconds[f'evaluate {name}']} s")
    with clock.phase("report"), busy("writing the tables, the report and the plot ..."):
        report = write_report([out / "eval" / r.agent for r in results], out / "report.html")
        well_formed = {
            r.agent: well_formed_coverage(out / "eval" / r.agent / "episodes.jsonl", r.steps)
            for r in results
        }
        no_plot = plots_unavailable()
        plot = (f"not drawn ({no_plot})" if no_plot
                else plot_per_step(results, out / "demo_plot.png"))
    print_tables(results)
    log("well-formed coverage (fenced program that compiles, pooled): "
        + ", ".join(f"{k} {v:.3f}" for k, v in well_formed.items() if v is not None))
    clock.print_table()
    summary = {
        "settings": asdict(settings),
        "training": runs,
        "held_out": {"students": results[-1].provenance["students"], "episodes": {
            r.agent: r.counts.get("episodes") for r in results}},
        "results": {r.agent: {**r.summary(),
                              "coverage_step_mean": r.value("coverage_step_mean"),
                              "coverage_well_formed": well_formed[r.agent],
                              "codebleu_fixed": r.value("codebleu_fixed"),
                              "grade_proximity_step1": r.step1["grade_proximity"]["value"],
                              "codebleu_step1": r.step1["codebleu"]["value"],
                              "finish_agreement": r.behaviour["finish"]["agreement"],
                              "js_status": r.behaviour["status_mix"]["overall"]["js"],
                              "js_attempts": r.behaviour["attempts"]["js"],
                              "ended_correct": r.counts.get("ended_correct")}
                    for r in results},
        "phase_seconds": clock.seconds,
        "seconds": round(time.perf_counter() - begin, 1),
        "threads": torch.get_num_threads(),
        "plot": str(plot),
        "report": str(report),
    }
    (out / "demo_summary.json").write_text(json.dumps(summary, indent=2))
    log(f"demo done in {summary['seconds']} s: models in {out}, evaluations in {out / 'eval'}, "
        f"plot {plot}, report {report}, summary {out / 'demo_summary.json'}")
    return summary

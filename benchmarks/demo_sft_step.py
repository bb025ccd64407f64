"""Milliseconds per SFT step of the demo's tiny Qwen3, for the demo's settings and each change.

Every variant builds a fresh ``SFTTrainer`` through the demo's own flags
(``student_gym_agents.demo.train_args``) plus a few extra flags, runs ``--steps`` optimizer steps in this
process and records each step's wall time (the first step of a run, which warms caches up, is
left out). Variants run in ``--rounds`` interleaved rounds, so a burst of load from another
process hits all of them alike. Reported: the median and the fastest step of each variant, and
the ratios of the medians to the first variant (the baseline) and to ``fp32``. On a
shared machine, trust ratios from one run more than absolute numbers.

The variants:

- ``bf16 autocast`` (the baseline): TRL's ``SFTConfig`` defaults to ``bf16=True``, which on CPU
  runs every matmul under ``torch.autocast("cpu", bfloat16)``. A CPU without native bf16
  (no AVX512-BF16/AMX, e.g. an AVX2 VM) emulates those matmuls, ~40x slower than fp32.
- ``fp32`` (the demo's flags: ``--bf16 false``, torch's default threads), then fp32 plus one
  change each: eager attention instead of SDPA, one torch thread instead of all cores (what
  ``student-gym demo`` runs on 2 cores), activation (gradient) checkpointing on
  (TRL's default, to show what it costs), half the batch, and batches of similar lengths
  (less padding).

Usage::

    python benchmarks/demo_sft_step.py [--steps 5] [--rounds 2] [--only "fp32,1 torch thread"]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

# name -> (extra training flags, torch threads or None for torch's default)
VARIANTS: dict[str, tuple[list[str], int | None]] = {
    "bf16 autocast": (["--bf16", "true"], None),
    "fp32": ([], None),
    "eager attention": (["--attn_implementation", "eager"], None),
    "1 torch thread": ([], 1),
    "activation checkpointing": (["--activation_checkpointing", "true"], None),
    "half batch": (["--per_device_train_batch_size", "4"], None),
    "group by length": (["--train_sampling_strategy", "group_by_length"], None),
}


def step_seconds(work: Path, base: str, extra: list[str], steps: int) -> list[float]:
    """Run ``steps`` SFT steps with the demo's flags plus ``extra``; return each step's seconds."""
    from transformers import TrainerCallback

    from student_gym_agents.demo import FULL, train_args
    from student_gym_agents.training.sft import build_sft_trainer

    args = train_args("sft", work / "sft", base, FULL, ["--max_steps", str(steps), *extra])
    trainer, _ = build_sft_trainer(*args)
    seconds: list[float] = []

    class StepTimer(TrainerCallback):
        def on_step_begin(self, args, state, control, **kwargs):
            self.start = time.perf_counter()

        def on_step_end(self, args, state, control, **kwargs):
            seconds.append(time.perf_counter() - self.start)

    trainer.add_callback(StepTimer())
    trainer.train()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=5, help="optimizer steps per variant and round")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds over the variants")
    parser.add_argument("--only", default="", help="comma-separated variant names (default: all)")
    parser.add_argument("--work", default=None, help="scratch directory (default: a temp dir)")
    options = parser.parse_args()
    names = [n.strip() for n in options.only.split(",") if n.strip()] or list(VARIANTS)
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        parser.error(f"unknown variants {unknown}; choose from {list(VARIANTS)}")
    if options.steps < 2 or options.rounds < 1:
        parser.error("--steps must be at least 2 (the first step is not timed), --rounds at least 1")

    import datasets
    import torch
    import transformers

    from student_gym.course import bundled_course
    from student_gym_agents.demo import FULL, training_corpus
    from student_gym_agents.tiny import TinyModelSpec, build_tiny_model

    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    datasets.disable_progress_bars()
    work = Path(options.work or tempfile.mkdtemp(prefix="demo_sft_step_"))
    spec = TinyModelSpec(hidden_size=FULL.hidden_size, num_hidden_layers=FULL.num_layers,
                         intermediate_size=2 * FULL.hidden_size,
                         corpus_vocab_size=FULL.vocab_size)
    base = str(build_tiny_model(work / "base", seed=FULL.seed, spec=spec,
                                corpus=training_corpus(bundled_course())))
    default_threads = torch.get_num_threads()
    print(f"tiny Qwen3 hidden {FULL.hidden_size}, {FULL.num_layers} layers, batch "
          f"{FULL.batch_size}, max_length {FULL.max_length}; torch {torch.__version__}, "
          f"{default_threads} threads, CPU capability {torch.backends.cpu.get_cpu_capability()}")
    timed: dict[str, list[float]] = {name: [] for name in names}
    for round_ in range(options.rounds):
        for name in names:
            extra, threads = VARIANTS[name]
            torch.set_num_threads(threads or default_threads)
            seconds = step_seconds(work, base, extra, options.steps)
            timed[name].extend(seconds[1:])
            print(f"round {round_ + 1} {name:<26} steps: "
                  + ", ".join(f"{s:.2f}" for s in seconds) + " s", flush=True)
    torch.set_num_threads(default_threads)
    median = {name: statistics.median(times) * 1000 for name, times in timed.items()}
    first = names[0]
    print(f"\n{'variant':<26} {'median ms':>10} {'best ms':>8} {'vs ' + first:>18} {'vs fp32':>8}")
    for name in names:
        versus_fp32 = f"{median[name] / median['fp32']:.2f}x" if "fp32" in median else "-"
        print(f"{name:<26} {median[name]:10.0f} {min(timed[name]) * 1000:8.0f} "
              f"{median[name] / median[first]:17.3f}x {versus_fp32:>8}")


if __name__ == "__main__":
    main()

"""What every training run shares: the course and dialog style, the rows, fit + save + resume.

The three trainers (``sft``, ``dpo``, ``dapo``) differ only in their TRL trainer and dataset;
the rest (reading the course, left-truncating prompts with the model's own token count,
resuming from the last checkpoint, saving the model with its tokenizer and a run record) is here.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

logger = logging.getLogger("student_gym.training")

RUN_RECORD = "student_gym_run.json"


def dialog_style(script_args):
    """The serializer style of a run: PARA or the chosen feedback level."""
    from student_gym.dialogs import DialogStyle

    if script_args.para:
        return DialogStyle.para_style()
    return DialogStyle(feedback_level=script_args.feedback_level)


def load_course(script_args):
    """The course to train on (the bundled sample course when none is given)."""
    from student_gym.course.resolve import resolve_course

    return resolve_course(script_args.course)


def token_counter(tokenizer, enable_thinking: bool) -> Callable[[list[dict]], int]:
    """Count a dialog's prompt tokens exactly as the trainer and the learner will render it."""

    def count(messages: list[dict]) -> int:
        text = tokenizer.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=True, enable_thinking=enable_thinking
        )
        return len(tokenizer(text, add_special_tokens=False)["input_ids"])

    return count


def prompt_budget(script_args, max_length: int | None, reserve: int) -> int | None:
    """Prompt token budget: the explicit one, else what ``max_length`` leaves for ``reserve``."""
    if script_args.max_prompt_tokens is not None:
        return script_args.max_prompt_tokens
    if max_length is None:
        return None
    return max(max_length - reserve, max_length // 2)


def build_rows(kind: str, script_args, tokenizer, max_prompt_tokens: int | None, seed: int,
               split: str | None = None):
    """The run's dataset (``sft``/``dpo``/``dapo`` rows), truncated, subset, with template kwargs.

    Raises:
        ValueError: when the split yields no rows (with the skip reasons).
    """
    from student_gym.dialogs import RowStats, dapo_dataset, dpo_dataset, sft_dataset
    from student_gym_agents.training.model_loading import select_rows, template_kwargs_column

    builders = {"sft": sft_dataset, "dpo": dpo_dataset, "dapo": dapo_dataset}
    course = load_course(script_args)
    split = split or script_args.split
    stats = RowStats()
    dataset = builders[kind](
        course,
        split,
        dialog_style(script_args),
        count_tokens=token_counter(tokenizer, script_args.enable_thinking),
        max_prompt_tokens=max_prompt_tokens,
        stats=stats,
    )
    logger.info(
        "%s rows: %d from %d trajectories of %s/%s (%d prompts truncated; skipped: %s)",
        kind, stats.rows, stats.trajectories, course.name, split, stats.truncated,
        dict(stats.skipped) or "none",
    )
    for message in stats.errors:
        logger.warning("%s", message)
    if len(dataset) == 0:
        raise ValueError(
            f"no {kind} rows in split {split!r} of course {course.name!r} "
            f"(skipped: {dict(stats.skipped)})"
        )
    dataset = select_rows(dataset, script_args.max_samples, seed)
    return template_kwargs_column(dataset, script_args.enable_thinking), stats


def validation_rows(kind: str, script_args, training_args, tokenizer, reserve: int):
    """The validation split's rows, with checkpoint selection by their loss switched on.

    Returns None (and changes nothing) when the course has no validation rows.
    """
    dataset = _validation_dataset(kind, script_args, tokenizer,
                                  prompt_budget(script_args, training_args.max_length, reserve),
                                  training_args.seed)
    select_by_validation(training_args, dataset)
    return dataset


def _validation_dataset(kind: str, script_args, tokenizer, max_prompt_tokens: int | None,
                        seed: int):
    split = script_args.validation_split
    if not split:
        return None
    try:
        dataset, _ = build_rows(kind, script_args, tokenizer, max_prompt_tokens, seed, split)
    except (ValueError, KeyError) as exc:  # no such split, or no rows in it
        logger.info("no validation rows (%s): checkpoints are not selected by validation loss",
                    exc.args[0] if exc.args else exc)
        return None
    return dataset


def select_by_validation(training_args, eval_dataset) -> None:
    """Evaluate on validation at every save and keep the checkpoint of lowest validation loss.

    The paper selected checkpoints this way. Only applied when validation rows exist, saving
    is on, and the user set no evaluation schedule of their own.
    """
    from transformers.trainer_utils import IntervalStrategy

    save = getattr(training_args.save_strategy, "value", training_args.save_strategy)
    if eval_dataset is None or save not in ("steps", "epoch"):
        return
    if getattr(training_args.eval_strategy, "value", training_args.eval_strategy) == "no":
        training_args.eval_strategy = IntervalStrategy(save)
        training_args.eval_steps = training_args.save_steps
        training_args.do_eval = True
    training_args.load_best_model_at_end = True
    training_args.metric_for_best_model = "eval_loss"
    training_args.greater_is_better = False


def resume_checkpoint(training_args) -> str | None:
    """The checkpoint to resume from: the explicit one, or the last one in ``output_dir``.

    ``--resume_from_checkpoint PATH`` picks one; an interrupted run restarted with the same
    ``output_dir`` and ``--resume_from_checkpoint last`` continues from its latest checkpoint.
    """
    from transformers.trainer_utils import get_last_checkpoint

    wanted = training_args.resume_from_checkpoint
    if wanted in (None, "", "false", "False"):
        return None
    if wanted in ("last", "true", "True"):
        out = Path(training_args.output_dir)
        return get_last_checkpoint(str(out)) if out.is_dir() else None
    if not Path(wanted).is_dir():
        raise FileNotFoundError(f"--resume_from_checkpoint {wanted}: no such checkpoint directory")
    return wanted


def fit_and_save(trainer, training_args, record: dict[str, Any], *,
                 print_metrics: bool = True) -> Path:
    """Train (resuming when asked), save model + tokenizer + run record, return ``output_dir``.

    ``print_metrics=False`` leaves the final metrics block off the screen (they are still
    saved in ``train_results.json`` and the run record).
    """
    from student_gym_agents.training.model_loading import is_adapter_dir, write_lineage

    checkpoint = resume_checkpoint(training_args)
    if checkpoint:
        logger.info("resuming from %s", checkpoint)
    result = trainer.train(resume_from_checkpoint=checkpoint)
    out = Path(training_args.output_dir)
    trainer.save_model(str(out))
    trainer.processing_class.save_pretrained(str(out))
    metrics = dict(result.metrics)
    if print_metrics:
        trainer.log_metrics("train", metrics)
    trainer.save_metrics("train", metrics)
    history = [row for row in trainer.state.log_history if "loss" in row]
    record = {
        **record,
        "global_step": trainer.state.global_step,
        "metrics": metrics,
        "first_loss": history[0]["loss"] if history else None,
        "last_loss": history[-1]["loss"] if history else None,
        # Checkpoint selection by validation loss (None when the course has no validation).
        "best_model_checkpoint": trainer.state.best_model_checkpoint,
        "best_validation_loss": trainer.state.best_metric,
        "log_history": trainer.state.log_history,
    }
    (out / RUN_RECORD).write_text(json.dumps(record, indent=2, default=str))
    if is_adapter_dir(out):
        # The learner rebuilds base + merged SFT adapter + this adapter from the lineage.
        write_lineage(out, record["base_model"], record["merged_adapters"])
    return out


def run_record(method: str, script_args, model_args, base: str, merged: list[str]) -> dict:
    """The provenance stored beside a trained model: method, data arguments, model, versions."""
    import peft
    import torch
    import transformers
    import trl

    return {
        "method": method,
        "base_model": base,
        "merged_adapters": merged,
        "use_peft": model_args.use_peft,
        "load_in_4bit": model_args.load_in_4bit,
        "data": asdict(script_args),
        "versions": {
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "trl": trl.__version__,
            "peft": peft.__version__,
        },
    }

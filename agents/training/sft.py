"""SFT: TRL ``SFTTrainer`` on the serialized dialogs as conversational prompt-completion rows.

One row per assistant turn after the first: the prompt is every earlier message, the completion
the student's next program. ``completion_only_loss=True`` puts the loss on that turn only
(the earlier turns of the dialog are context, not targets).
"""

from __future__ import annotations

from pathlib import Path

from student_gym_agents.training.model_loading import load_model_for_training
from student_gym_agents.training.runs import (
    build_rows,
    fit_and_save,
    prompt_budget,
    run_record,
    validation_rows,
)

# Room kept for the reply when the prompt budget is derived from max_length.
COMPLETION_RESERVE = 512


def build_sft_trainer(script_args, training_args, model_args, train_dataset=None):
    """Build the ``SFTTrainer`` of a run (the dataset from the course unless one is given).

    Returns:
        ``(trainer, record)``: the trainer and the run's provenance record.
    """
    from trl import SFTTrainer, get_peft_config

    if not training_args.completion_only_loss:
        # Without it the prompt (earlier programs and feedback) would be trained too.
        raise ValueError("SFT here trains the target turn only: keep completion_only_loss=True")
    model, tokenizer, base, merged = load_model_for_training(model_args, script_args.init_from)
    if train_dataset is None:
        budget = prompt_budget(script_args, training_args.max_length, COMPLETION_RESERVE)
        train_dataset, _ = build_rows("sft", script_args, tokenizer, budget, training_args.seed)
    # Checkpoints are selected by validation loss when the course has validation students.
    eval_dataset = validation_rows("sft", script_args, training_args, tokenizer, COMPLETION_RESERVE)
    trainer = SFTTrainer(
        model=model,
        args=training_args,
        train_dataset=_columns(train_dataset),
        eval_dataset=_columns(eval_dataset) if eval_dataset is not None else None,
        processing_class=tokenizer,
        peft_config=get_peft_config(model_args),
    )
    return trainer, run_record("sft", script_args, model_args, base, merged)


def train_sft(script_args, training_args, model_args, train_dataset=None) -> Path:
    """Run SFT end to end and return the output directory (adapter or full model)."""
    trainer, record = build_sft_trainer(script_args, training_args, model_args, train_dataset)
    return fit_and_save(trainer, training_args, record)


def _columns(dataset):
    keep = ("prompt", "completion", "chat_template_kwargs")
    return dataset.select_columns([c for c in keep if c in dataset.column_names])

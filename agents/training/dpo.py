"""DPO: TRL ``DPOTrainer`` on the mined preference pairs, starting from the SFT model.

Pairs (docs/dialogs.md): chosen = a real submission t >= 2, rejected = the first later submission of
the same student with a different grade; prompt = the dialog before t, in TRL's explicit-prompt
conversational form. With ``--init_from SFT_ADAPTER`` the SFT adapter is merged into the base
and a fresh LoRA is trained on top, so the reference model (TRL: adapters disabled) is the SFT
model. Paper settings: sigmoid loss, beta 0.5, lr 1e-5.
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

COMPLETION_RESERVE = 512


def build_dpo_trainer(script_args, training_args, model_args, train_dataset=None):
    """Build the ``DPOTrainer`` of a run (pairs from the course unless a dataset is given).

    Returns:
        ``(trainer, record)``.
    """
    from trl import DPOTrainer, get_peft_config

    model, tokenizer, base, merged = load_model_for_training(model_args, script_args.init_from)
    if train_dataset is None:
        budget = prompt_budget(script_args, training_args.max_length, COMPLETION_RESERVE)
        train_dataset, _ = build_rows("dpo", script_args, tokenizer, budget, training_args.seed)
    # Checkpoints are selected by validation loss when the course has validation students.
    eval_dataset = validation_rows("dpo", script_args, training_args, tokenizer, COMPLETION_RESERVE)
    keep = ("prompt", "chosen", "rejected", "chat_template_kwargs")
    peft_config = get_peft_config(model_args)
    trainer = DPOTrainer(
        model=model,
        # LoRA: the adapter-disabled model (= the merged SFT model) is the reference.
        # Full fine-tuning: TRL copies the starting model as the frozen reference.
        ref_model=None,
        args=training_args,
        train_dataset=train_dataset.select_columns([c for c in keep if c in train_dataset.column_names]),
        eval_dataset=None if eval_dataset is None else eval_dataset.select_columns(
            [c for c in keep if c in eval_dataset.column_names]),
        processing_class=tokenizer,
        peft_config=peft_config,
    )
    return trainer, run_record("dpo", script_args, model_args, base, merged)


def train_dpo(script_args, training_args, model_args, train_dataset=None) -> Path:
    """Run DPO end to end and return the output directory."""
    trainer, record = build_dpo_trainer(script_args, training_args, model_args, train_dataset)
    return fit_and_save(trainer, training_args, record)

"""DAPO: TRL ``GRPOTrainer`` with DAPO's loss, rewarded by StudentProgramming-v0.

For each real dialog prefix of the training split, G completions are sampled; each is stepped
through the env from that same prefix and rewarded there (the "dapo" reward: -1 no fenced code,
-0.5 syntax error, 2 same normalized AST as the student's real next program, 1 same grade,
else 0) plus DAPO's soft over-length penalty. Paper/DAPO settings, the defaults here:
``GRPOConfig(loss_type="dapo", epsilon_high=0.28, mask_truncated_completions=True, beta=0)``,
G=4, lr 1e-5, max completion 1024. Starting from SFT works as for DPO (``--init_from``).

Single-step only: a multi-step variant through TRL's ``rollout_func`` is not implemented.
"""

from __future__ import annotations

from pathlib import Path

from student_gym_agents.training.env_reward import reward_functions
from student_gym_agents.training.model_loading import load_model_for_training
from student_gym_agents.training.runs import build_rows, fit_and_save, load_course, run_record

DEFAULT_PROMPT_TOKENS = 3072


def check_dapo_settings(training_args) -> None:
    """Refuse settings that silently stop it being DAPO (the loss, clip-higher, no KL)."""
    problems = []
    if training_args.loss_type != "dapo":
        problems.append(f"loss_type={training_args.loss_type!r} (DAPO needs 'dapo')")
    if training_args.beta != 0.0:
        problems.append(f"beta={training_args.beta} (DAPO drops the KL term: 0)")
    if problems:
        raise ValueError("not a DAPO configuration: " + "; ".join(problems))


def build_dapo_trainer(script_args, training_args, model_args, train_dataset=None):
    """Build the ``GRPOTrainer`` of a run (prompts from the course unless a dataset is given).

    Returns:
        ``(trainer, record)``.
    """
    from trl import GRPOTrainer, get_peft_config

    check_dapo_settings(training_args)
    if training_args.chat_template_kwargs is None:
        training_args.chat_template_kwargs = {"enable_thinking": script_args.enable_thinking}
    model, tokenizer, base, merged = load_model_for_training(model_args, script_args.init_from)
    if train_dataset is None:
        budget = script_args.max_prompt_tokens or DEFAULT_PROMPT_TOKENS
        train_dataset, _ = build_rows("dapo", script_args, tokenizer, budget, training_args.seed)
    keep = ("prompt", "trajectory_id", "prefix")
    missing = [c for c in keep if c not in train_dataset.column_names]
    if missing:
        raise ValueError(f"DAPO dataset lacks columns {missing} (needs prompt, trajectory_id, prefix)")
    trainer = GRPOTrainer(
        model=model,
        reward_funcs=reward_functions(
            script_args, load_course(script_args), training_args.max_completion_length
        ),
        args=training_args,
        train_dataset=train_dataset.select_columns(list(keep)),
        processing_class=tokenizer,
        peft_config=get_peft_config(model_args),
    )
    return trainer, run_record("dapo", script_args, model_args, base, merged)


def train_dapo(script_args, training_args, model_args, train_dataset=None) -> Path:
    """Run DAPO end to end and return the output directory."""
    trainer, record = build_dapo_trainer(script_args, training_args, model_args, train_dataset)
    return fit_and_save(trainer, training_args, record)

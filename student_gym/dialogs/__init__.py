"""THE dialog serializer: trajectories -> chat messages, SFT rows, DPO pairs, DAPO prompts.

See :mod:`student_gym.dialogs.serializer` (messages, effective submissions, truncation) and
:mod:`student_gym.dialogs.training_rows` (datasets for TRL). ``docs/dialogs.md`` is the guide.
"""

from __future__ import annotations

from student_gym.dialogs.serializer import (
    FEEDBACK_LEVELS,
    NEUTRAL_FEEDBACK,
    DialogStyle,
    course_assignment,
    dialog_messages,
    effective_submissions,
    feedback_text,
    format_program,
    graded_submissions,
    logged_feedback,
    prefix_messages,
    program_turn,
    statement_text,
    submission_feedback,
    submission_messages,
    submission_turns,
    system_prompt,
    truncate_messages,
)
from student_gym.dialogs.training_rows import (
    GRADE_TOLERANCE,
    RowStats,
    dapo_dataset,
    dapo_rows,
    dpo_dataset,
    dpo_rows,
    rows_to_dataset,
    sft_dataset,
    sft_rows,
)

__all__ = [
    "FEEDBACK_LEVELS",
    "GRADE_TOLERANCE",
    "NEUTRAL_FEEDBACK",
    "DialogStyle",
    "RowStats",
    "course_assignment",
    "dapo_dataset",
    "dapo_rows",
    "dialog_messages",
    "dpo_dataset",
    "dpo_rows",
    "effective_submissions",
    "feedback_text",
    "format_program",
    "graded_submissions",
    "logged_feedback",
    "prefix_messages",
    "program_turn",
    "rows_to_dataset",
    "sft_dataset",
    "sft_rows",
    "statement_text",
    "submission_feedback",
    "submission_messages",
    "submission_turns",
    "system_prompt",
    "truncate_messages",
]

"""A one-line rich progress bar for a TRL/transformers training run.

``transformers`` shows either tqdm bars (one redrawn line per step, plus one per evaluation)
or, with ``--disable_tqdm true``, nothing but a printed dict every ``logging_steps``. The demo
wants one bar per run that says how far it is, how long is left and the last logged loss, in
the same style as the evaluation's bar; ``use_rich_progress`` swaps the trainer's progress
callback for this one.
"""

from __future__ import annotations

from typing import Any

from transformers import TrainerCallback


class RichProgressBar(TrainerCallback):
    """Drive a rich ``Progress`` bar from the trainer's steps (to stderr, like the evaluation).

    Args:
        label: the bar's description, e.g. ``"train SFT"``.
    """

    def __init__(self, label: str) -> None:
        self.label = label
        self._progress: Any = None
        self._task: Any = None

    def on_train_begin(self, args, state, control, **kwargs):
        from rich.progress import TextColumn

        from student_gym.progress import new_bar

        if not state.is_world_process_zero:
            return
        self._progress = new_bar(TextColumn("{task.fields[loss]}"))
        self._progress.start()
        self._task = self._progress.add_task(
            self.label, total=state.max_steps, completed=state.global_step, loss=""
        )

    def on_step_end(self, args, state, control, **kwargs):
        if self._progress is not None:
            self._progress.update(self._task, completed=state.global_step)

    def on_log(self, args, state, control, logs=None, **kwargs):
        if self._progress is not None and logs and "loss" in logs:
            self._progress.update(self._task, loss=f"loss {float(logs['loss']):.3f}")

    def on_train_end(self, args, state, control, **kwargs):
        if self._progress is not None:
            self._progress.update(self._task, completed=state.global_step)
            self._progress.stop()
            self._progress = None


def use_rich_progress(trainer, label: str) -> None:
    """Replace the trainer's tqdm bars or printed log dicts with a :class:`RichProgressBar`."""
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    trainer.remove_callback(PrinterCallback)
    trainer.remove_callback(ProgressCallback)
    trainer.add_callback(RichProgressBar(label))

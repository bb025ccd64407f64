"""Per-step metric curves (matplotlib, PNG): one panel per metric, one line per run."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from student_gym.evaluation.results import COLUMNS, Results


def plot_per_step(runs: Sequence[Results], path: str | os.PathLike[str]) -> Path:
    """Draw Cov / GP / CB against step j for every run; CB panels show the ceiling dashed.

    Returns:
        The path of the PNG written.
    """
    import matplotlib

    matplotlib.use("Agg")  # files only; never needs a display
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(COLUMNS), figsize=(4 * len(COLUMNS), 3.4), squeeze=False)
    for ax, (short, key) in zip(axes[0], COLUMNS.items(), strict=True):
        for run in runs:
            values = run.metrics[key]["per_step"]
            xs = [j + 1 for j, v in enumerate(values) if v is not None]
            ys = [v for v in values if v is not None]
            ax.plot(xs, ys, marker="o", label=run.agent)
        if key == "codebleu" and runs:
            ceiling = runs[0].metrics["self_similarity"]["per_step"]
            xs = [j + 1 for j, v in enumerate(ceiling) if v is not None]
            ax.plot(xs, [v for v in ceiling if v is not None], "k--", label="ceiling")
        ax.set_title(short)
        ax.set_xlabel("step j")
        ax.set_ylim(0, 1.05)
        ax.grid(alpha=0.3)
    axes[0][-1].legend(fontsize="small")
    fig.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out

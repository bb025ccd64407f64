"""Figures of evaluation runs (matplotlib): per-step metric curves and behaviour vs students.

Per-step curves have integer steps, a 95% bootstrap band per run, the number of student steps
n under each step, and a legend in every panel; runs are drawn with a small horizontal dodge
and distinct markers so that equal curves (replay and the ceiling) stay visible. The same
figures are written as PNG files and embedded in the HTML report. matplotlib is the ``metrics``
extra: callers check :func:`plots_unavailable` and skip the figures with its reason.
"""

from __future__ import annotations

import base64
import io
import os
from collections.abc import Sequence
from pathlib import Path

from student_gym.evaluation.behaviour import STATUS_CATEGORIES
from student_gym.evaluation.results import COLUMNS, Results
from student_gym.extras import unavailable

_MARKERS = "osD^vP*X"
_STATUS_COLOURS = {
    "syntax": "#d62728",
    "runtime": "#ff7f0e",
    "failed": "#bcbd22",
    "passed": "#2ca02c",
    "no_program": "#7f7f7f",
    "finished": "#c5e0b4",
}


def plots_unavailable() -> str | None:
    """Why figures cannot be drawn in this install (None: they can)."""
    return unavailable("matplotlib")


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only; never needs a display
    import matplotlib.pyplot as plt

    return plt


def per_step_figure(runs: Sequence[Results]):
    """Cov / GP / CB against step j, one line and CI band per run; CB shows the ceiling."""
    plt = _pyplot()
    steps = max((run.steps for run in runs), default=1)
    fig, axes = plt.subplots(1, len(COLUMNS), figsize=(4.4 * len(COLUMNS), 3.8), squeeze=False)
    width = 0.25 / max(1, len(runs))
    for ax, (short, key) in zip(axes[0], COLUMNS.items(), strict=True):
        if key == "codebleu" and runs:
            ceiling = runs[0].metrics["self_similarity"]["per_step"]
            xs = [j + 1 for j, v in enumerate(ceiling) if v is not None]
            # A wide pale band under the runs: a run on the ceiling (replay) stays visible.
            ax.plot(xs, [v for v in ceiling if v is not None], color="0.55", lw=7, alpha=0.35,
                    solid_capstyle="butt", zorder=1, label="ceiling (self-similarity)")
        for i, run in enumerate(runs):
            dodge = (i - (len(runs) - 1) / 2) * width
            metric = run.metrics[key]
            points = [(j + 1 + dodge, v, ci) for j, (v, ci) in
                      enumerate(zip(metric["per_step"], metric["per_step_ci"], strict=True))
                      if v is not None]
            if not points:
                ax.plot([], [], marker=_MARKERS[i % len(_MARKERS)], label=f"{run.agent} (none)")
                continue
            xs = [p[0] for p in points]
            label = run.agent
            if key != "coverage":  # pairs differ per run: say how many each point averages
                label += " (n " + "/".join(str(n) for n in metric["n_per_step"]) + ")"
            line = ax.plot(xs, [p[1] for p in points], marker=_MARKERS[i % len(_MARKERS)],
                           ms=5, lw=1.6, zorder=3 + i, label=label)[0]
            banded = [p for p in points if p[2][0] is not None]
            if banded:
                ax.fill_between([p[0] for p in banded], [p[2][0] for p in banded],
                                [p[2][1] for p in banded], color=line.get_color(), alpha=0.15,
                                zorder=2, lw=0)
        n = runs[0].metrics["coverage"]["n_per_step"] if runs else [0] * steps
        ax.set_xticks(range(1, steps + 1))
        ax.set_xticklabels([f"{j}\nn={n[j - 1]}" for j in range(1, steps + 1)], fontsize=8)
        ax.set_xlim(0.5, steps + 0.5)
        ax.set_ylim(0, 1.05)
        aggregation = "pooled" if key == "coverage" else "mean over steps"
        ax.set_title(f"{short} per step (headline: {aggregation})", fontsize=10)
        ax.set_xlabel("step j (n = student steps at j)", fontsize=8)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    return fig


def status_mix_figure(run: Results):
    """Per step: the student's status mix next to the learner's (stacked shares), JS on top;
    and the attempts-to-solve distributions."""
    plt = _pyplot()
    mix = run.behaviour["status_mix"]
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 3.6), gridspec_kw={"width_ratios": [3, 2]})
    for step in mix["per_step"]:
        for dx, who in ((-0.2, "student"), (0.2, "learner")):
            bottom = 0.0
            total = max(1, step["n"])
            for cat in STATUS_CATEGORIES:
                share = step[who][cat] / total
                if share:
                    ax.bar(step["j"] + dx, share, width=0.36, bottom=bottom,
                           color=_STATUS_COLOURS[cat], edgecolor="white", lw=0.5)
                bottom += share
        js = "-" if step["js"] is None else f"{step['js']:.2f}"
        ax.text(step["j"], 1.03, f"JS {js}", ha="center", fontsize=7)
    steps = [s["j"] for s in mix["per_step"]]
    ax.set_xticks(steps)
    ax.set_xticklabels([f"S | L\nj={s['j']} n={s['n']}" for s in mix["per_step"]], fontsize=7)
    ax.set_ylim(0, 1.12)
    ax.set_ylabel("share of student steps")
    overall = mix["overall"]["js"]
    ax.set_title(f"{run.agent}: status mix, student (S) vs learner (L); overall JS "
                 f"{'-' if overall is None else f'{overall:.3f}'}", fontsize=9)
    handles = [plt.Rectangle((0, 0), 1, 1, color=_STATUS_COLOURS[c]) for c in STATUS_CATEGORIES]
    ax.legend(handles, STATUS_CATEGORIES, fontsize=7, loc="upper left", bbox_to_anchor=(1, 1))

    att = run.behaviour["attempts"]
    keys = att["keys"]
    n = max(1, sum(att["student"].values()))
    xs = range(len(keys))
    ax2.bar([x - 0.2 for x in xs], [att["student"][k] / n for k in keys], width=0.4,
            label="students", color="#1f77b4")
    ax2.bar([x + 0.2 for x in xs], [att["learner"][k] / n for k in keys], width=0.4,
            label=run.agent, color="#ff7f0e")
    ax2.set_xticks(list(xs))
    ax2.set_xticklabels(keys, fontsize=8)
    ax2.set_xlabel("step of the first pass (later = not within the horizon)", fontsize=8)
    js = att["js"]
    ax2.set_title(f"attempts to solve (n={n} episodes), JS {'-' if js is None else f'{js:.3f}'}",
                  fontsize=9)
    ax2.legend(fontsize=7)
    fig.tight_layout()
    return fig


def save_figure(fig, path: str | os.PathLike[str]) -> Path:
    """Write a figure as PNG and close it."""
    plt = _pyplot()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out


def figure_data_uri(fig) -> str:
    """A figure as a ``data:image/png;base64,...`` URI (for a self-contained page); closes it."""
    plt = _pyplot()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def plot_per_step(runs: Sequence[Results], path: str | os.PathLike[str]) -> Path:
    """Draw the per-step curves of ``runs`` to a PNG.

    Returns:
        The path of the PNG written.
    """
    return save_figure(per_step_figure(runs), path)

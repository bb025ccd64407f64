"""The results tables (rich): the paper's metrics, behaviour vs students, per step, paired
differences. Every table leads with pooled Coverage, the paper's headline."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from student_gym.evaluation.results import Results


def fmt(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def fmt_ci(value: float | None, ci: Sequence[float | None] | None) -> str:
    """``0.611±.047``: the value and the half-width of its bootstrap interval."""
    if value is None:
        return "-"
    if not ci or ci[0] is None or ci[1] is None:
        return f"{value:.3f}"
    half = f"{(ci[1] - ci[0]) / 2:.3f}".removeprefix("0")
    return f"{value:.3f}±{half}"


def fmt_interval(value: float | None, ci: Sequence[float | None] | None) -> str:
    """``+0.012 [-0.004, +0.030]``: a signed difference and its interval."""
    if value is None:
        return "-"
    if not ci or ci[0] is None or ci[1] is None:
        return f"{value:+.3f}"
    return f"{value:+.3f} [{ci[0]:+.3f}, {ci[1]:+.3f}]"


def _pct(part: int, whole: int) -> str:
    return "-" if not whole else f"{100 * part / whole:.0f}%"


def not_computed(runs: Sequence[Results]) -> list[str]:
    """``CodeBLEU: not computed (reason)``, once per distinct reason among ``runs``; the
    tables show "-" in those cells and this line under them."""
    reasons = dict.fromkeys(run.unavailable("codebleu") for run in runs)
    return [f"CodeBLEU: not computed ({reason})" for reason in reasons if reason]


# Columns of the summary table: header -> a cell from one run.
SUMMARY_COLUMNS = {
    "Cov": lambda r: fmt_ci(r.value("coverage"), r.metrics["coverage"]["ci"]),
    "GP": lambda r: fmt_ci(r.value("grade_proximity"), r.metrics["grade_proximity"]["ci"]),
    "CB": lambda r: fmt_ci(r.value("codebleu"), r.metrics["codebleu"]["ci"]),
    "Cov/step": lambda r: fmt(r.value("coverage_step_mean")),
    "CBfix": lambda r: fmt(r.value("codebleu_fixed")),
    "Ceil": lambda r: fmt(r.value("self_similarity")),
    "GP@1": lambda r: fmt_ci(r.step1["grade_proximity"]["value"], r.step1["grade_proximity"]["ci"]),
    "CB@1": lambda r: fmt_ci(r.step1["codebleu"]["value"], r.step1["codebleu"]["ci"]),
    "Eps": lambda r: str(r.counts.get("episodes", "")),
}
SUMMARY_TITLE = (
    "Evaluation: Cov = pooled coverage (Σ valid pairs / Σ student steps), Cov/step = mean of "
    "per-step coverage; GP, CB = mean over steps j; @1 = step 1 only; ±: half 95% CI over "
    "students"
)


def summary_table(runs: Sequence[Results], title: str = SUMMARY_TITLE):
    """One row per run: the paper's three numbers first, then the rest of the picture."""
    from rich.table import Table

    table = Table(title=title)
    table.add_column("Agent", style="bold", no_wrap=True)
    for header in SUMMARY_COLUMNS:
        table.add_column(header, justify="right", no_wrap=True)
    for run in runs:
        label = run.agent + (" (stopped)" if run.stopped else "")
        table.add_row(label, *[cell(run) for cell in SUMMARY_COLUMNS.values()])
    return table


def behaviour_cells(run: Results) -> dict[str, str]:
    """The behaviour table's cells for one run (also used by the HTML report)."""
    finish = run.behaviour["finish"]
    counts, n = finish["counts"], finish["episodes"]
    mix = run.behaviour["status_mix"]
    return {
        "Agree": fmt(finish["agreement"]),
        "Same": _pct(counts["same"], n),
        "Earlier": _pct(counts["earlier"], n),
        "Later": _pct(counts["later"], n),
        "Not≤H": _pct(counts["not_within_horizon"], n),
        "Censored (L fin.)": f"{_pct(finish['censored'], n)} "
        f"({counts['censored_learner_finished']})",
        "JS status": fmt(mix["overall"]["js"]),
        "JS by step": " ".join(fmt(s["js"], 2) for s in mix["per_step"]),
        "JS attempts": fmt(run.behaviour["attempts"]["js"]),
    }


def behaviour_table(runs: Sequence[Results]):
    """One row per run: finish-step agreement and JS divergences from the students."""
    from rich.table import Table

    table = Table(
        title="Behaviour vs the students: finish step (share of episodes), Jensen-Shannon "
        "divergence of status mix and attempts-to-solve (0 = same)"
    )
    table.add_column("Agent", style="bold", no_wrap=True)
    rows = [behaviour_cells(run) for run in runs]
    for header in rows[0] if rows else []:
        table.add_column(header, justify="right", no_wrap=True)
    for run, cells in zip(runs, rows, strict=True):
        table.add_row(run.agent, *cells.values())
    return table


PER_STEP_ROWS = {
    "Cov": "coverage",
    "GP": "grade_proximity",
    "CB": "codebleu",
    "CB ceiling": "self_similarity",
}


def per_step_table(
    runs: Sequence[Results], title: str = "Per step j (n = student steps), and Δ = mean j>=2 of (m_j - m_1)"
):
    """One row per (run, metric): the metric at j = 1..steps and its Δ."""
    from rich.table import Table

    steps = max((run.steps for run in runs), default=0)
    table = Table(title=title)
    table.add_column("Agent", style="bold", no_wrap=True)
    table.add_column("Metric", no_wrap=True)
    for j in range(1, steps + 1):
        n = runs[0].metrics["coverage"]["n_per_step"][j - 1] if runs else 0
        table.add_column(f"j={j} (n={n})", justify="right", no_wrap=True)
    table.add_column("Δ", justify="right", no_wrap=True)
    for run in runs:
        for short, key in PER_STEP_ROWS.items():
            values = list(run.metrics[key]["per_step"]) + [None] * (steps - run.steps)
            table.add_row(
                run.agent, short, *[fmt(v) for v in values], fmt(run.metrics[key]["delta"])
            )
    return table


def comparison_table(comparison: dict[str, Any]):
    """Paired differences (each run minus the baseline) with their 95% intervals: one row per
    metric, one column per compared run."""
    from rich.table import Table

    from student_gym.evaluation.compare import DIFFERENCES

    table = Table(
        title=f"Paired differences vs {comparison['baseline']} over the same "
        f"{comparison['students']} students ({comparison['confidence']:.0%} paired bootstrap "
        "CI); matched = only steps where every run has a valid pair"
    )
    table.add_column("Δ metric", style="bold", no_wrap=True)
    for row in comparison["differences"]:
        table.add_column(f"{row['agent']} - {row['vs']}", justify="right", no_wrap=True)
    for key, label in DIFFERENCES.items():
        cells = [
            fmt_interval(row["metrics"][key]["value"], row["metrics"][key]["ci"])
            for row in comparison["differences"]
        ]
        table.add_row(label, *cells)
    return table


def wide_console():
    """A rich console for tables: the terminal's width on a terminal, else 200 columns (files,
    pipes and logs get whole tables instead of cells cut to 80 columns)."""
    import sys

    from rich.console import Console

    return Console() if sys.stdout.isatty() else Console(width=200)


def print_tables(runs: Sequence[Results], console=None, comparison: dict | None = None) -> None:
    """Print the tables to ``console`` (default: stdout)."""
    console = console or wide_console()
    console.print(summary_table(runs))
    for line in not_computed(runs):  # one unwrapped line: "[metrics]" is not markup
        console.print(line, markup=False, highlight=False, soft_wrap=True)
    console.print(behaviour_table(runs))
    console.print(per_step_table(runs))
    if comparison is not None:
        console.print(comparison_table(comparison))

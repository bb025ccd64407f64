"""The paper-style results tables (rich): Cov / GP / CB with confidence intervals, per step."""

from __future__ import annotations

from collections.abc import Sequence

from student_gym.evaluation.results import COLUMNS, Results


def _fmt(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _fmt_ci(mean: float | None, ci: Sequence[float | None] | None) -> str:
    """``0.611±.047``: the mean and the half-width of its bootstrap interval."""
    if mean is None:
        return "-"
    if not ci or ci[0] is None or ci[1] is None:
        return f"{mean:.3f}"
    half = f"{(ci[1] - ci[0]) / 2:.3f}".removeprefix("0")
    return f"{mean:.3f}±{half}"


def summary_table(runs: Sequence[Results], title: str = "Evaluation (mean over steps j)"):
    """One row per run: Cov, GP, CB (the package's value) with the half-width of their 95%
    bootstrap interval over students, the bug-fixed CB, the self-similarity ceiling and the
    number of episodes (columns CBfix, Ceil, Eps)."""
    from rich.table import Table

    table = Table(title=title)
    table.add_column("Agent", style="bold", no_wrap=True)
    for short in COLUMNS:
        table.add_column(short, justify="right", no_wrap=True)
    table.add_column("CBfix", justify="right", no_wrap=True)
    table.add_column("Ceil", justify="right", no_wrap=True)
    table.add_column("Eps", justify="right", no_wrap=True)
    for run in runs:
        m = run.metrics
        cells = [run.agent + (" (stopped)" if run.stopped else "")]
        cells += [_fmt_ci(m[key]["mean"], m[key].get("ci")) for key in COLUMNS.values()]
        cells.append(_fmt(m["codebleu_fixed"]["mean"]))
        cells.append(_fmt(m["self_similarity"]["mean"]))
        cells.append(str(run.counts.get("episodes", "")))
        table.add_row(*cells)
    return table


def per_step_table(
    runs: Sequence[Results], title: str = "Per step j, and Δ = mean j>=2 of (m_j - m_1)"
):
    """One row per (run, metric): the metric at j = 1..steps and its Δ."""
    from rich.table import Table

    steps = max((run.steps for run in runs), default=0)
    table = Table(title=title)
    table.add_column("Agent", style="bold", no_wrap=True)
    table.add_column("Metric", no_wrap=True)
    for j in range(1, steps + 1):
        table.add_column(f"j={j}", justify="right", no_wrap=True)
    table.add_column("Δ", justify="right", no_wrap=True)
    rows = [*COLUMNS.items(), ("CB ceiling", "self_similarity")]
    for run in runs:
        for short, key in rows:
            values = list(run.metrics[key]["per_step"]) + [None] * (steps - run.steps)
            table.add_row(
                run.agent, short, *[_fmt(v) for v in values], _fmt(run.metrics[key]["delta"])
            )
    return table


def print_tables(runs: Sequence[Results], console=None) -> None:
    """Print both tables to ``console`` (default: stdout)."""
    from rich.console import Console

    console = console or Console()
    console.print(summary_table(runs))
    console.print(per_step_table(runs))

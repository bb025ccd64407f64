"""``student-gym report RUN_DIR...``: one static, self-contained HTML page of evaluation runs.

The page holds the results table with confidence intervals (pooled Coverage first), the
behaviour table, paired differences when the runs are comparable, the per-step curves and the
status-mix plots (PNG images embedded as data URIs), and a browsable list of episodes: for
each (trajectory, start), the student's real submissions next to each learner's, step by step,
with the grader's status, score and feedback on both and a diff of the two programs.

Everything shown from an episode (programs, model replies, feedback) is untrusted text and is
HTML-escaped; the page loads nothing from anywhere (no scripts or styles from the network).
"""

from __future__ import annotations

import difflib
import html
import os
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from student_gym.evaluation.compare import Run, compare_runs, load_run
from student_gym.evaluation.episodes import EpisodeRecord
from student_gym.evaluation.plots import (
    figure_data_uri,
    per_step_figure,
    plots_unavailable,
    status_mix_figure,
)
from student_gym.evaluation.tables import (
    PER_STEP_ROWS,
    SUMMARY_COLUMNS,
    behaviour_cells,
    fmt,
    fmt_interval,
    not_computed,
)

_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1400px;color:#222}
h1{font-size:22px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:3px 7px}
th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums}
.note{color:#555;font-size:12px;max-width:1100px}img{max-width:100%;border:1px solid #eee}
details.episode{border:1px solid #ddd;margin:4px 0;padding:2px 8px}
details.episode>summary{cursor:pointer}.pair{display:grid;grid-template-columns:1fr 1fr;gap:8px}
pre{background:#f8f8f8;padding:6px;overflow-x:auto;margin:2px 0;font-size:12px;white-space:pre}
.side h4{margin:6px 0 2px;font-size:13px}.passed{color:#1a7f37}.bad{color:#b42318}
.diff .add{background:#e6ffec}.diff .del{background:#ffebe9}.diff .hunk{color:#6f42c1}
.fb{background:#fffbe6}.tag{font-size:11px;padding:0 5px;border-radius:3px;background:#eee}
"""
_FINISH_WORDS = {
    "same": "finishes at the student's step",
    "earlier": "finishes earlier",
    "later": "finishes later",
    "not_within_horizon": "does not finish within the horizon",
    "censored_learner_finished": "finishes; the student does not within the horizon",
    "censored_neither": "neither finishes within the horizon",
}


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], cls: str = "") -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(
            f'<td class="{"num" if i else ""}">{_e(c)}</td>' for i, c in enumerate(row)
        ) + "</tr>"
        for row in rows
    )  # fmt: skip
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _diff(student: str, learner: str) -> str:
    """A unified diff, student -> learner, as escaped, coloured lines."""
    lines = list(
        difflib.unified_diff(
            student.splitlines(), learner.splitlines(), "student", "learner", lineterm=""
        )
    )
    if not lines:
        return '<pre class="diff">(identical programs)</pre>'
    out = []
    for line in lines:
        cls = "hunk" if line.startswith("@@") else ""
        if line.startswith("+") and not line.startswith("+++"):
            cls = "add"
        elif line.startswith("-") and not line.startswith("---"):
            cls = "del"
        out.append(f'<span class="{cls}">{_e(line)}</span>')
    return '<pre class="diff">' + "\n".join(out) + "</pre>"


def _verdict(status: str | None, score: float | None) -> str:
    cls = "passed" if status == "passed" else "bad"
    shown = "-" if score is None else f"{score:.2f}"
    return f'<span class="{cls}">{_e(status or "?")}</span> score {_e(shown)}'


def _side(title: str, code: str | None, status: str | None, score, feedback: str) -> str:
    if code is None:
        return f'<div class="side"><h4>{_e(title)}</h4><p class="note">(no submission)</p></div>'
    return (
        f'<div class="side"><h4>{_e(title)}: {_verdict(status, score)}</h4>'
        f"<pre>{_e(code)}</pre><pre class=\"fb\">{_e(feedback)}</pre></div>"
    )


def _episode_block(label: str, record: EpisodeRecord, validity: str) -> str:
    from student_gym.evaluation.behaviour import finish_category

    parts = [
        f'<h4>{_e(label)} <span class="tag">{_e(_FINISH_WORDS[finish_category(record)])}</span>'
        "</h4>"
    ]
    last = max(len(record.steps), len(record.student_submissions))
    by_j = {s.j: s for s in record.steps}
    for j in range(1, last + 1):
        real = record.student_submissions[j - 1] if j <= len(record.student_submissions) else {}
        step = by_j.get(j)
        learner_title = f"{label}, step {j}"
        if step is not None and not step.has_program(validity):
            learner_title += " (no program)"
        parts.append(f"<div><b>step {j}</b></div><div class=\"pair\">")
        parts.append(_side(f"student, submission {record.prefix + j}", real.get("code"),
                           real.get("status"), real.get("score"), real.get("feedback", "")))
        if step is None:
            parts.append(_side(learner_title, None, None, None, ""))
        else:
            parts.append(_side(learner_title, step.code, step.status, step.score, step.feedback))
        parts.append("</div>")
        if step is not None and real.get("code") is not None:
            parts.append(_diff(real["code"], step.code))
    return "".join(parts)


def _episodes_section(runs: Sequence[Run], max_episodes: int) -> str:
    keys: list[str] = []
    seen: set[str] = set()
    for run in runs:
        for record in run.episodes:
            if record.key not in seen:
                seen.add(record.key)
                keys.append(record.key)
    by_run = [{r.key: r for r in run.episodes} for run in runs]
    shown = keys[:max_episodes]
    out = [
        f'<p class="note">{len(shown)} of {len(keys)} episodes (trajectory #prefix). Each '
        "shows, step by step, the student's real submission and each learner's program with "
        "the grader's verdict and feedback, and the diff student → learner. Filter: "
        '<input id="filter" placeholder="assignment, trajectory or outcome" size="40" '
        "oninput=\"for(const d of document.querySelectorAll('details.episode'))"
        "d.style.display=d.textContent.toLowerCase().includes(this.value.toLowerCase())"
        "?'':'none'\"></p>"
    ]
    for key in shown:
        records = [(run, index.get(key)) for run, index in zip(runs, by_run, strict=True)]
        first = next(r for _, r in records if r is not None)
        student = first.student_finish
        summary = (
            f"{_e(first.trajectory)} #{first.prefix} · {_e(first.assignment)} · student "
            f"{'passes at step ' + str(student) if student else 'does not pass within the horizon'}"
        )
        blocks = [
            _episode_block(run.label, record, run.results.validity)
            for run, record in records
            if record is not None
        ]
        out.append(
            f'<details class="episode" data-key="{_e(key)}"><summary>{summary}</summary>'
            + "<hr>".join(blocks)
            + "</details>"
        )
    return "\n".join(out)


def _results_section(runs: Sequence[Run]) -> str:
    results = [run.results for run in runs]
    headers = ["Agent", *SUMMARY_COLUMNS]
    rows = [[r.agent + (" (stopped)" if r.stopped else ""),
             *[cell(r) for cell in SUMMARY_COLUMNS.values()]] for r in results]  # fmt: skip
    cells = [behaviour_cells(r) for r in results]
    steps = max(r.steps for r in results)
    n = results[0].metrics["coverage"]["n_per_step"]
    step_rows = [
        [r.agent, short, *[fmt(v) for v in r.metrics[key]["per_step"]], fmt(r.metrics[key]["delta"])]
        for r in results
        for short, key in PER_STEP_ROWS.items()
    ]
    return (
        '<h2 id="results">Results</h2>'
        '<p class="note">Cov = pooled coverage, Σ valid pairs / Σ student steps (the paper\'s '
        "headline); Cov/step = the unweighted mean of per-step coverage; GP, CB = mean over "
        "steps j of per-step means; @1 = step 1 only (every episode has one: no survivor bias); "
        "± = half the 95% bootstrap interval over students. Validity rule: "
        f"{_e(', '.join(sorted({r.validity for r in results})))}.</p>"
        + _table(headers, rows, "results")
        + "".join(f'<p class="note not-computed">{_e(line)}</p>' for line in not_computed(results))
        + '<h3>Behaviour vs the students</h3><p class="note">Finish step per episode (share of '
        "episodes; censored = the student does not pass within the horizon, in brackets how "
        "many of those the learner passed); Jensen-Shannon divergence (base 2) of the status "
        "mix (overall and per step) and of the attempts-to-solve distribution.</p>"
        + _table(["Agent", *(cells[0] if cells else {})],
                 [[r.agent, *c.values()] for r, c in zip(results, cells, strict=True)],
                 "behaviour")
        + "<h3>Per step</h3>"
        + _table(["Agent", "Metric", *[f"j={j} (n={n[j - 1]})" for j in range(1, steps + 1)],
                  "Δ"], step_rows, "per-step")
    )


def _comparison_section(runs: Sequence[Run]) -> str:
    from student_gym.evaluation.compare import DIFFERENCES

    if len(runs) < 2:
        return ""
    try:
        comparison = compare_runs(runs, validity=runs[0].results.validity,
                                  bootstrap=int(runs[0].settings.get("bootstrap", 1000)) or 1000)
    except ValueError as exc:
        return f'<h2>Paired differences</h2><p class="note">Not compared: {_e(exc)}</p>'
    rows = [[d["agent"], *[fmt_interval(d["metrics"][k]["value"], d["metrics"][k]["ci"])
                           for k in DIFFERENCES]] for d in comparison["differences"]]
    matched = [[agent, fmt(m["grade_proximity"]), fmt(m["codebleu"]), str(m["pairs"])]
               for agent, m in comparison["matched"].items()]
    return (
        f'<h2 id="compare">Paired differences vs {_e(comparison["baseline"])}</h2>'
        f'<p class="note">Each run minus the first, with a 95% paired bootstrap interval over '
        f'the same {comparison["students"]} students. "matched" = only the (episode, step) '
        "pairs where every run has a valid pair, so late steps average the same episodes.</p>"
        + _table(["Agent", *[f"Δ {v}" for v in DIFFERENCES.values()]], rows, "compare")
        + _table(["Agent", "GP matched", "CB matched", "pairs"], matched, "matched")
    )


def render_report(runs: Sequence[Run], max_episodes: int = 200) -> str:
    """The whole page as a string."""
    if not runs:
        raise ValueError("a report needs at least one run")
    settings = runs[0].settings
    if (no_plots := plots_unavailable()) is None:
        per_step = (
            '<img class="per-step" alt="per-step curves" '
            f'src="{figure_data_uri(per_step_figure([run.results for run in runs]))}">'
        )
        mixes = "".join(
            f'<img class="status-mix" alt="status mix of {_e(run.label)}" '
            f'src="{figure_data_uri(status_mix_figure(run.results))}">'
            for run in runs
        )
    else:
        per_step = mixes = f'<p class="note not-drawn">Plots not drawn ({_e(no_plots)}).</p>'
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    listing = ", ".join(f"{_e(run.label)} ({_e(run.path)})" for run in runs)
    return (
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<title>student-gym evaluation report</title>"
        f"<style>{_CSS}</style></head><body>"
        "<h1>student-gym evaluation report</h1>"
        f'<p class="note">Runs: {listing}. Course {_e(str(settings.get("course_sha256", ""))[:12])}, '
        f'split {_e(settings.get("split"))}, horizon {_e(settings.get("steps"))} steps, '
        f"written {when}.</p>"
        + _results_section(runs)
        + _comparison_section(runs)
        + '<h2 id="plots">Per-step curves</h2><p class="note">Bands: 95% bootstrap interval '
        "per step; n under each step = student steps at that step; the GP and CB legends give "
        f"each run's valid pairs per step (what each point averages).</p>{per_step}"
        + f'<h2 id="status">Status mix and attempts vs the students</h2>{mixes}'
        + f'<h2 id="episodes">Episodes</h2>{_episodes_section(runs, max_episodes)}'
        + "</body></html>\n"
    )


def write_report(
    run_dirs: Sequence[str | os.PathLike[str]],
    path: str | os.PathLike[str],
    *,
    validity: str | None = None,
    max_episodes: int = 200,
) -> Path:
    """Read run directories and write the report page.

    Args:
        run_dirs: ``OUT/<agent>`` directories of ``student-gym evaluate``.
        path: the HTML file to write.
        validity: re-aggregate every run under this rule (default: each run's own).
        max_episodes: episodes listed (in course order).

    Raises:
        ValueError: a directory is not a run of the current protocol.
    """
    runs = [load_run(d, validity=validity) for d in run_dirs]
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_report(runs, max_episodes), encoding="utf-8")
    return out

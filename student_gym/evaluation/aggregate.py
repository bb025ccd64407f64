"""The three metrics of the protocol, aggregated exactly as DESIGN.md states them.

Per step j = 1..steps, over all episodes:

* coverage_j = valid pairs at j / student steps at j (a student step at j exists when the
  student made at least j submissions after the prefix; a pair is valid when the learner also
  produced a program at step j, so stopping early lowers coverage);
* grade proximity_j = mean of 1 - |grade_learner - grade_student| over valid pairs at j;
* CodeBLEU_j = mean CodeBLEU (package value, and the bug-fixed total) over valid pairs at j;
* self-similarity_j = mean CodeBLEU of each student program against itself over student steps
  at j: the ceiling a perfect copy reaches.

Each metric is then averaged over steps without weights (steps where it is undefined are left
out), Δ = mean over j >= 2 of (metric_j - metric_1), and a percentile bootstrap over students
(resampling whole students with all their episodes) gives a confidence interval of the mean.
Pooled coverage (all valid pairs / all student steps) is reported too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from student_gym.evaluation.episodes import EpisodeRecord
from student_gym.metrics import coverage

METRICS = (
    "coverage",
    "grade_proximity",
    "codebleu",
    "codebleu_fixed",
    "self_similarity",
    "self_similarity_fixed",
)
# The sums every metric is a ratio of: metric -> (numerator, denominator).
_RATIOS = {
    "coverage": ("valid", "student"),
    "grade_proximity": ("gp", "gp_n"),
    "codebleu": ("cb", "valid"),
    "codebleu_fixed": ("cbf", "valid"),
    "self_similarity": ("ss", "student"),
    "self_similarity_fixed": ("ssf", "student"),
}
_SUMS = ("valid", "student", "gp", "gp_n", "cb", "cbf", "ss", "ssf")


def _episode_sums(record: EpisodeRecord, steps: int) -> dict[str, np.ndarray]:
    """Per-step contributions of one episode to every sum."""
    sums = {name: np.zeros(steps) for name in _SUMS}
    for j in range(min(record.student_steps, steps)):
        sums["student"][j] = 1.0
        if j < len(record.target_self):
            sums["ss"][j] = record.target_self[j]["codebleu"]
            sums["ssf"][j] = record.target_self[j]["codebleu_fixed"]
    for step in record.steps:
        j = step.j - 1
        if j >= min(record.student_steps, steps) or not step.valid:
            continue
        sums["valid"][j] = 1.0
        if step.grade_proximity is not None:
            sums["gp"][j] = step.grade_proximity
            sums["gp_n"][j] = 1.0
        sums["cb"][j] = step.codebleu or 0.0
        sums["cbf"][j] = step.codebleu_fixed or 0.0
    return sums


def _ratios(totals: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """metric -> per-step values (NaN where undefined); works on (steps,) or (B, steps)."""
    out = {}
    with np.errstate(invalid="ignore", divide="ignore"):
        for metric, (num, den) in _RATIOS.items():
            out[metric] = np.where(totals[den] > 0, totals[num] / totals[den], np.nan)
    return out


def _mean_and_delta(per_step: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unweighted mean over defined steps, and Δ = mean_{j>=2}(m_j - m_1); last axis = steps."""
    with np.errstate(invalid="ignore"), _quiet_nanmean():
        mean = np.nanmean(per_step, axis=-1)
        later = per_step[..., 1:] - per_step[..., :1]
        delta = np.nanmean(later, axis=-1) if later.shape[-1] else np.full(mean.shape, np.nan)
    return mean, delta


class _quiet_nanmean:
    """Silence numpy's "mean of empty slice" warning: an all-NaN metric is simply undefined."""

    def __enter__(self) -> None:
        import warnings

        self._catch = warnings.catch_warnings()
        self._catch.__enter__()
        warnings.simplefilter("ignore", category=RuntimeWarning)

    def __exit__(self, *exc: object) -> None:
        self._catch.__exit__(*exc)


def _clean(x: float) -> float | None:
    return None if x is None or np.isnan(x) else float(x)


def aggregate(
    episodes: Sequence[EpisodeRecord],
    steps: int = 5,
    *,
    bootstrap: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> dict[str, Any]:
    """Aggregate episode records into the protocol's metrics.

    Args:
        episodes: finished episode records (their pair metrics filled).
        steps: the step limit of the protocol.
        bootstrap: bootstrap resamples over students for the confidence intervals (0: none).
        confidence: the interval's coverage probability.
        seed: seed of the bootstrap.

    Returns:
        ``{"metrics": {name: {"per_step": [...], "mean": m, "delta": d, "ci": [lo, hi]}},
        "coverage_pooled": c, "counts": {...}}``; undefined values are None.
    """
    students = sorted({e.student for e in episodes})
    index = {s: i for i, s in enumerate(students)}
    per_student = {name: np.zeros((len(students), steps)) for name in _SUMS}
    for record in episodes:
        row = index[record.student]
        for name, values in _episode_sums(record, steps).items():
            per_student[name][row] += values

    totals = {name: m.sum(axis=0) for name, m in per_student.items()}
    per_step = _ratios(totals)
    result: dict[str, Any] = {"metrics": {}}
    cis: dict[str, list[float | None]] = {m: [None, None] for m in METRICS}
    if bootstrap > 0 and len(students) > 1:
        rng = np.random.default_rng(seed)
        weights = rng.multinomial(
            len(students), np.full(len(students), 1 / len(students)), size=bootstrap
        )
        boot = _ratios({name: weights @ m for name, m in per_student.items()})
        alpha = (1 - confidence) / 2
        for metric, values in boot.items():
            means, _ = _mean_and_delta(values)
            means = means[~np.isnan(means)]
            if means.size:
                lo, hi = np.quantile(means, [alpha, 1 - alpha])
                cis[metric] = [float(lo), float(hi)]
    for metric in METRICS:
        mean, delta = _mean_and_delta(per_step[metric])
        result["metrics"][metric] = {
            "per_step": [_clean(v) for v in per_step[metric]],
            "mean": _clean(float(mean)),
            "delta": _clean(float(delta)),
            "ci": cis[metric],
        }
    student_steps = int(totals["student"].sum())
    valid = int(totals["valid"].sum())
    result["coverage_pooled"] = coverage(valid, student_steps) if student_steps else None
    result["counts"] = {
        "episodes": len(episodes),
        "trajectories": len({e.trajectory for e in episodes}),
        "students": len(students),
        "student_steps": student_steps,
        "valid_pairs": valid,
        "learner_steps": sum(len(e.steps) for e in episodes),
        "ended_correct": sum(e.end == "correct" for e in episodes),
    }
    return result

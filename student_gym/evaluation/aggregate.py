"""The protocol's metrics, aggregated as the paper's results table reports them.

Per step j = 1..steps, over all episodes (a *student step* at j exists when the student made at
least j submissions after the prefix; a *valid pair* at j when the learner also produced a
program at j, under the run's validity rule, see :mod:`student_gym.evaluation.episodes`):

* coverage_j = valid pairs at j / student steps at j;
* grade proximity_j = mean of 1 - |grade_learner - grade_student| over valid pairs at j;
* CodeBLEU_j = mean CodeBLEU (package value, and the bug-fixed total) over valid pairs at j;
* self-similarity_j = mean CodeBLEU of each student program against itself over student steps
  at j: the ceiling a perfect copy reaches.

The headline numbers, as in the paper's table:

* **Coverage is pooled**: Σ valid pairs / Σ student steps over all episodes and steps (stopping
  early is penalised in proportion to the steps lost). The unweighted mean of coverage_j over
  steps is reported beside it as ``coverage_step_mean``.
* **GP and CodeBLEU** are the unweighted mean of their per-step values over j = 1..steps
  (a step where no valid pair exists is left out of the mean).
* Δ = mean over j >= 2 of (metric_j - metric_1).

Late steps are computed on the episodes the learner has not solved yet, so two learners' late
GP/CB are averages over different episodes (survivor bias). Two views without it are given:
``step1`` (every episode has a step 1) and, across runs, the matched view of
:mod:`student_gym.evaluation.compare`. Confidence intervals: percentile bootstrap over students
(resampling whole students with all their episodes).

CodeBLEU needs the ``metrics`` extra. An episode scored without it contributes NaN to the
CodeBLEU sums, so every CodeBLEU number of a run with such an episode is None (never a CodeBLEU
of 0), and the metric's ``unavailable`` field says why; Coverage and GP are computed as usual.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from student_gym.evaluation.episodes import EpisodeRecord

METRICS = (
    "coverage",
    "coverage_step_mean",
    "grade_proximity",
    "codebleu",
    "codebleu_fixed",
    "self_similarity",
    "self_similarity_fixed",
)
AGGREGATION = {m: "mean over steps" for m in METRICS} | {"coverage": "pooled"}
STEP1_METRICS = ("coverage", "grade_proximity", "codebleu", "codebleu_fixed")
# The sums every per-step metric is a ratio of: metric -> (numerator, denominator).
_RATIOS = {
    "coverage": ("valid", "student"),
    "coverage_step_mean": ("valid", "student"),
    "grade_proximity": ("gp", "gp_n"),
    "codebleu": ("cb", "valid"),
    "codebleu_fixed": ("cbf", "valid"),
    "self_similarity": ("ss", "student"),
    "self_similarity_fixed": ("ssf", "student"),
}
SUMS = ("valid", "student", "gp", "gp_n", "cb", "cbf", "ss", "ssf")
CODEBLEU_SUMS = ("cb", "cbf", "ss", "ssf")
CODEBLEU_METRICS = ("codebleu", "codebleu_fixed", "self_similarity", "self_similarity_fixed")
# keep(record, j) -> whether step j (1-based) of the record enters the sums (matched views).
Keep = Callable[[EpisodeRecord, int], bool]


def codebleu_scored(record: EpisodeRecord) -> bool:
    """Whether the episode's pairs got CodeBLEU (False: scored without the ``metrics`` extra)."""
    if record.student_steps > 0 and not record.target_self:
        return False
    return all(
        s.codebleu is not None for s in record.steps if s.target_code is not None and s.code.strip()
    )


def codebleu_reason(episodes: Sequence[EpisodeRecord]) -> str | None:
    """Why the episodes' CodeBLEU is not computed (None: every episode has it)."""
    if all(codebleu_scored(e) for e in episodes):
        return None
    from student_gym.evaluation.metrics import codebleu_unavailable

    return codebleu_unavailable() or (
        "some episodes were scored in an install without student-gym[metrics]; rerun them "
        "with --no-resume"
    )


def episode_sums(
    record: EpisodeRecord, steps: int, validity: str = "paper", keep: Keep | None = None
) -> dict[str, np.ndarray]:
    """Per-step contributions of one episode to every sum."""
    sums = {name: np.zeros(steps) for name in SUMS}
    paired = min(record.student_steps, steps)
    for j in range(paired):
        if keep is not None and not keep(record, j + 1):
            continue
        sums["student"][j] = 1.0
        if j < len(record.target_self):
            sums["ss"][j] = record.target_self[j]["codebleu"]
            sums["ssf"][j] = record.target_self[j]["codebleu_fixed"]
    for step in record.steps:
        j = step.j - 1
        if j >= paired or not step.valid(validity):
            continue
        if keep is not None and not keep(record, step.j):
            continue
        sums["valid"][j] = 1.0
        if step.grade_proximity is not None:
            sums["gp"][j] = step.grade_proximity
            sums["gp_n"][j] = 1.0
        sums["cb"][j] = step.codebleu or 0.0
        sums["cbf"][j] = step.codebleu_fixed or 0.0
    if not codebleu_scored(record):  # not computed: NaN, so no CodeBLEU total is made up
        for name in CODEBLEU_SUMS:
            sums[name][:] = np.nan
    return sums


def student_sums(
    episodes: Sequence[EpisodeRecord],
    steps: int,
    validity: str = "paper",
    students: Sequence[str] | None = None,
    keep: Keep | None = None,
) -> tuple[list[str], dict[str, np.ndarray]]:
    """Every sum per student: name -> array (students, steps); rows follow ``students``."""
    order = sorted({e.student for e in episodes}) if students is None else list(students)
    index = {s: i for i, s in enumerate(order)}
    out = {name: np.zeros((len(order), steps)) for name in SUMS}
    for record in episodes:
        row = index[record.student]
        for name, values in episode_sums(record, steps, validity, keep).items():
            out[name][row] += values
    return order, out


def per_step_ratios(totals: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """metric -> per-step values (NaN where undefined); the last axis is the step."""
    out = {}
    with np.errstate(invalid="ignore", divide="ignore"):
        for metric, (num, den) in _RATIOS.items():
            out[metric] = np.where(totals[den] > 0, totals[num] / totals[den], np.nan)
    return out


def _nanmean(values: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():  # an all-NaN slice is simply undefined
        warnings.simplefilter("ignore", category=RuntimeWarning)
        return np.nanmean(values, axis=-1)


def scalars(totals: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Every scalar the tables report, from summed totals (any leading axes, steps last).

    Keys: each metric's value (``coverage`` pooled, the others mean over steps),
    ``<metric>.delta`` and ``<metric>.step1``.
    """
    per_step = per_step_ratios(totals)
    out: dict[str, np.ndarray] = {}
    for metric in METRICS:
        values = per_step[metric]
        if AGGREGATION[metric] == "pooled":
            num, den = _RATIOS[metric]
            n, d = totals[num].sum(axis=-1), totals[den].sum(axis=-1)
            with np.errstate(invalid="ignore", divide="ignore"):
                out[metric] = np.where(d > 0, n / d, np.nan)
        else:
            out[metric] = _nanmean(values)
        later = values[..., 1:] - values[..., :1]
        out[f"{metric}.delta"] = (
            _nanmean(later) if later.shape[-1] else np.full(values.shape[:-1], np.nan)
        )
        out[f"{metric}.step1"] = values[..., 0]
    return out


def bootstrap_weights(n_students: int, resamples: int, seed: int) -> np.ndarray:
    """(resamples, n_students) counts: how often each student is drawn in each resample."""
    rng = np.random.default_rng(seed)
    return rng.multinomial(n_students, np.full(n_students, 1 / n_students), size=resamples)


def interval(values: np.ndarray, confidence: float) -> list[float | None]:
    """Percentile interval of bootstrap values (NaN resamples dropped) along axis 0."""
    alpha = (1 - confidence) / 2
    values = np.asarray(values, dtype=float)
    if values.ndim == 1:
        kept = values[~np.isnan(values)]
        if not kept.size:
            return [None, None]
        lo, hi = np.quantile(kept, [alpha, 1 - alpha])
        return [float(lo), float(hi)]
    return [interval(values[:, i], confidence) for i in range(values.shape[1])]  # type: ignore[misc]


def clean(x: Any) -> float | None:
    """A JSON-ready float (None for NaN/None)."""
    return None if x is None or np.isnan(x) else float(x)


def aggregate(
    episodes: Sequence[EpisodeRecord],
    steps: int = 5,
    *,
    validity: str = "paper",
    bootstrap: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> dict[str, Any]:
    """Aggregate episode records into the protocol's metrics.

    Args:
        episodes: finished episode records (their pair metrics filled).
        steps: the step limit of the protocol.
        validity: which learner steps are programs: "paper" (default) or "strict".
        bootstrap: bootstrap resamples over students for the confidence intervals (0: none).
        confidence: the interval's coverage probability.
        seed: seed of the bootstrap.

    Returns:
        ``{"validity", "metrics": {name: {"aggregation", "value", "ci", "delta",
        "delta_ci", "per_step", "per_step_ci", "n_per_step", "unavailable"}}, "step1":
        {name: {"value", "ci", "n", "unavailable"}}, "behaviour": {...}, "counts": {...}}``;
        undefined values are None; ``unavailable`` is None, or why a metric was not computed
        (CodeBLEU without the ``metrics`` extra), its values then all None.
    """
    from student_gym.evaluation.behaviour import behaviour

    students, per_student = student_sums(episodes, steps, validity)
    totals = {name: m.sum(axis=0) for name, m in per_student.items()}
    point = scalars(totals)
    per_step = per_step_ratios(totals)
    none_ci = [None, None]
    boot_scalars: dict[str, np.ndarray] = {}
    boot_steps: dict[str, np.ndarray] = {}
    if bootstrap > 0 and len(students) > 1:
        weights = bootstrap_weights(len(students), bootstrap, seed)
        boot_totals = {name: weights @ m for name, m in per_student.items()}
        boot_scalars = scalars(boot_totals)
        boot_steps = per_step_ratios(boot_totals)

    def ci(key: str) -> list[float | None]:
        return interval(boot_scalars[key], confidence) if key in boot_scalars else none_ci

    reason = codebleu_reason(episodes)
    unavailable = {m: reason if m in CODEBLEU_METRICS else None for m in METRICS}
    n_of = {m: totals[_RATIOS[m][1]] for m in METRICS}
    n_of["grade_proximity"] = totals["gp_n"]
    metrics = {}
    for metric in METRICS:
        metrics[metric] = {
            "aggregation": AGGREGATION[metric],
            "value": clean(point[metric]),
            "ci": ci(metric),
            "delta": clean(point[f"{metric}.delta"]),
            "delta_ci": ci(f"{metric}.delta"),
            "per_step": [clean(v) for v in per_step[metric]],
            "per_step_ci": (
                interval(boot_steps[metric], confidence)
                if metric in boot_steps
                else [none_ci] * steps
            ),
            "n_per_step": [int(n) for n in n_of[metric]],
            "unavailable": unavailable[metric],
        }
    step1 = {
        m: {
            "value": clean(point[f"{m}.step1"]),
            "ci": ci(f"{m}.step1"),
            "n": int(n_of[m][0]) if steps else 0,
            "unavailable": unavailable[m],
        }
        for m in STEP1_METRICS
    }
    student_steps = int(totals["student"].sum())
    return {
        "validity": validity,
        "metrics": metrics,
        "step1": step1,
        "behaviour": behaviour(episodes, steps, validity),
        "counts": {
            "episodes": len(episodes),
            "trajectories": len({e.trajectory for e in episodes}),
            "students": len(students),
            "student_steps": student_steps,
            "valid_pairs": int(totals["valid"].sum()),
            "learner_steps": sum(len(e.steps) for e in episodes),
            "ended_correct": sum(e.end == "correct" for e in episodes),
        },
    }

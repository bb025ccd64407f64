"""Comparing evaluation runs: paired bootstrap intervals and the matched-episodes view.

"SFT beats PARA" is a statement about the same students, so a comparison reads each run's
``episodes.jsonl`` back, checks that the runs are comparable (same course, split, step limit,
seed and students; otherwise it refuses), and resamples *students* once for all runs: each
bootstrap draw weighs every run's per-student sums with the same counts, so the interval is
for the paired difference. A run compared with itself gives a difference of exactly 0 with a
zero-width interval.

The matched view removes survivor bias between learners: at each step j it keeps only the
episodes where *every* compared run has a valid pair, so late-step GP and CodeBLEU are
averages over the same episodes for all of them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from student_gym.evaluation.aggregate import (
    bootstrap_weights,
    clean,
    interval,
    scalars,
    student_sums,
)
from student_gym.evaluation.episodes import PROTOCOL_VERSION, EpisodeRecord, read_episodes
from student_gym.evaluation.results import Results
from student_gym.evaluation.runner import results_from_episodes

# Settings two runs must share to be compared (the run.json key, and how to say it).
COMPARABLE = {
    "course_sha256": "course",
    "split": "split",
    "steps": "step limit",
    "seed": "seed",
}
# The paired differences reported, in table order: scalar key -> label.
DIFFERENCES = {
    "coverage": "Cov (pooled)",
    "grade_proximity": "GP",
    "codebleu": "CB",
    "codebleu_fixed": "CB fixed",
    "coverage_step_mean": "Cov (step mean)",
    "grade_proximity.step1": "GP@1",
    "codebleu.step1": "CB@1",
    "matched:grade_proximity": "GP matched",
    "matched:codebleu": "CB matched",
}


@dataclass
class Run:
    """A finished evaluation directory read back: its settings, episodes and results."""

    path: Path
    settings: dict[str, Any]
    episodes: list[EpisodeRecord]
    results: Results

    @property
    def label(self) -> str:
        return self.results.agent

    @property
    def students(self) -> list[str]:
        return sorted({e.student for e in self.episodes})


def load_run(
    path: str | Path, *, validity: str | None = None, bootstrap: int | None = None
) -> Run:
    """Read a run directory (or the ``results.json`` inside one) and re-aggregate it.

    Args:
        path: ``OUT/<agent>`` of ``student-gym evaluate``, or its results.json.
        validity: re-aggregate under this rule (default: the run's own).
        bootstrap: resamples for the run's own intervals (default: the run's own).

    Raises:
        ValueError: not a run directory, or one written by an older protocol.
    """
    root = Path(path)
    if root.is_file():
        root = root.parent
    run_file, episodes_file = root / "run.json", root / "episodes.jsonl"
    for needed in (run_file, episodes_file):
        if not needed.is_file():
            raise ValueError(f"{root}: not an evaluation run directory (no {needed.name})")
    try:
        settings = json.loads(run_file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{run_file}: not valid JSON ({exc})") from None
    if not isinstance(settings, dict):
        raise ValueError(f"{run_file}: not a JSON object")
    if settings.get("protocol") != PROTOCOL_VERSION:
        raise ValueError(
            f"{run_file}: written by an older evaluation protocol "
            f"({settings.get('protocol')!r}, now {PROTOCOL_VERSION}); rerun it with --no-resume"
        )
    episodes, _ = read_episodes(episodes_file)
    previous: dict[str, Any] = {}
    results_file = root / "results.json"
    if results_file.is_file():
        try:
            previous = Results.load(results_file).to_dict()
        except ValueError:
            previous = {}
    steps = int(settings.get("steps", 5))
    results = results_from_episodes(
        str(settings.get("agent", root.name)),
        episodes,
        steps,
        validity=validity or settings.get("validity", "paper"),
        bootstrap=int(settings.get("bootstrap", 1000)) if bootstrap is None else bootstrap,
        seed=int(settings.get("seed", 0)),
        provenance=previous.get("provenance", {}),
        stopped=previous.get("stopped"),
        planned=(previous.get("counts") or {}).get("planned_episodes"),
    )
    return Run(path=root, settings=settings, episodes=episodes, results=results)


def check_comparable(runs: Sequence[Run]) -> None:
    """Refuse runs that are not over the same course, split, step limit, seed and students.

    Raises:
        ValueError: one line naming the first difference.
    """
    base = runs[0]
    for other in runs[1:]:
        for key, words in COMPARABLE.items():
            if base.settings.get(key) != other.settings.get(key):
                raise ValueError(
                    f"cannot compare {base.path} and {other.path}: different {words} "
                    f"({base.settings.get(key)!r} vs {other.settings.get(key)!r}); a paired "
                    "comparison needs the same course, split, step limit, seed and students"
                )
        if base.students != other.students:
            only = sorted(set(base.students) ^ set(other.students))
            raise ValueError(
                f"cannot compare {base.path} and {other.path}: different students "
                f"({len(base.students)} vs {len(other.students)}, e.g. {only[0]!r} is in one "
                "only); a paired comparison needs the same students (same --limit, and runs "
                "that finished)"
            )


def matched_pairs(runs: Sequence[Run], validity: str) -> set[tuple[str, int]]:
    """(episode key, step j) where every run has a valid pair."""
    sets = []
    for run in runs:
        sets.append(
            {(e.key, s.j) for e in run.episodes for s in e.steps
             if s.j <= min(e.student_steps, run.results.steps) and s.valid(validity)}
        )  # fmt: skip
    return set.intersection(*sets) if sets else set()


def _scalars_for(run: Run, students: list[str], validity: str, keep=None):
    _, sums = student_sums(run.episodes, run.results.steps, validity, students, keep)
    return sums


def compare_runs(
    runs: Sequence[Run],
    *,
    validity: str = "paper",
    bootstrap: int = 1000,
    confidence: float = 0.95,
) -> dict[str, Any]:
    """Paired differences of every run against the first, and the matched view.

    Returns:
        ``{"baseline", "validity", "students", "matched": {agent: {...}},
        "differences": [{"agent", "vs", "metrics": {key: {"value", "ci"}}}]}``.

    Raises:
        ValueError: the runs are not comparable (see :func:`check_comparable`).
    """
    if len(runs) < 2:
        raise ValueError("a comparison needs at least two runs")
    check_comparable(runs)
    students = runs[0].students
    matched = matched_pairs(runs, validity)

    def keep(record: EpisodeRecord, j: int) -> bool:
        return (record.key, j) in matched

    seed = int(runs[0].settings.get("seed", 0))
    weights = bootstrap_weights(len(students), bootstrap, seed) if bootstrap > 0 else None

    def all_scalars(run: Run) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Point and bootstrap scalars, plain and matched (``matched:`` keys)."""
        point: dict[str, np.ndarray] = {}
        boot: dict[str, np.ndarray] = {}
        for prefix, k in (("", None), ("matched:", keep)):
            sums = _scalars_for(run, students, validity, k)
            for key, value in scalars({n: m.sum(axis=0) for n, m in sums.items()}).items():
                point[prefix + key] = value
            if weights is not None:
                for key, value in scalars({n: weights @ m for n, m in sums.items()}).items():
                    boot[prefix + key] = value
        return point, boot

    computed = [all_scalars(run) for run in runs]
    base_point, base_boot = computed[0]
    differences = []
    for run, (point, boot) in zip(runs[1:], computed[1:], strict=True):
        metrics = {}
        for key in DIFFERENCES:
            diff = point[key] - base_point[key]
            metrics[key] = {
                "value": clean(diff),
                "ci": interval(boot[key] - base_boot[key], confidence) if boot else [None, None],
            }
        differences.append({"agent": run.label, "vs": runs[0].label, "metrics": metrics})
    matched_view = {
        run.label: {
            "pairs": len(matched),
            "grade_proximity": clean(point["matched:grade_proximity"]),
            "codebleu": clean(point["matched:codebleu"]),
            "codebleu_fixed": clean(point["matched:codebleu_fixed"]),
        }
        for run, (point, _) in zip(runs, computed, strict=True)
    }
    return {
        "baseline": runs[0].label,
        "validity": validity,
        "students": len(students),
        "bootstrap": bootstrap,
        "confidence": confidence,
        "matched": matched_view,
        "differences": differences,
    }

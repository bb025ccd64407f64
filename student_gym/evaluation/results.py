"""Results of an evaluation run: metrics, behaviour, counts and provenance, saved as JSON."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

# The paper's table columns: short name -> metric key. Coverage is pooled (see aggregate).
COLUMNS = {"Cov": "coverage", "GP": "grade_proximity", "CB": "codebleu"}
FORMAT = "student-gym/results"
VERSION = 2


@dataclass
class Results:
    """One agent's evaluation.

    Attributes:
        agent: the agent's label.
        steps: the step limit of the protocol.
        metrics: metric -> {"aggregation", "value", "ci": [lo, hi], "delta", "per_step",
            "per_step_ci", "n_per_step", ...} (see
            :func:`student_gym.evaluation.aggregate.aggregate`); ``coverage`` is pooled,
            ``coverage_step_mean`` the mean of per-step coverage.
        counts: episodes, trajectories, students, student steps, valid pairs, ...
        validity: the rule that decided which learner steps are programs ("paper"/"strict").
        step1: coverage, GP and CodeBLEU at step 1 only (free of survivor bias), with CIs.
        behaviour: status mix per step, attempts to solve, finish-step agreement
            (:mod:`student_gym.evaluation.behaviour`).
        provenance: versions, seeds, hashes, settings.
        stopped: why the run stopped before finishing (e.g. the API cost cap), else None.
    """

    agent: str
    steps: int
    metrics: dict[str, dict[str, Any]]
    counts: dict[str, int]
    validity: str = "paper"
    step1: dict[str, dict[str, Any]] = field(default_factory=dict)
    behaviour: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    stopped: str | None = None

    def value(self, metric: str) -> float | None:
        """A metric's headline value (``coverage`` pooled, the others mean over steps)."""
        return self.metrics[metric]["value"]

    def unavailable(self, metric: str) -> str | None:
        """Why a metric was not computed (CodeBLEU without the ``metrics`` extra), or None."""
        return self.metrics[metric].get("unavailable")

    def summary(self) -> dict[str, float | None]:
        """The paper's three numbers: {"Cov": pooled coverage, "GP": .., "CB": ..}."""
        return {short: self.value(key) for short, key in COLUMNS.items()}

    def headline(self) -> dict[str, Any]:
        """The paper's three numbers with their intervals, how each is aggregated, and why one
        was not computed (``unavailable``, None when it was)."""
        return {
            short: {
                "metric": key,
                "value": self.value(key),
                "ci": self.metrics[key].get("ci"),
                "aggregation": self.metrics[key].get("aggregation"),
                "unavailable": self.unavailable(key),
            }
            for short, key in COLUMNS.items()
        }

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        head = {"format": FORMAT, "version": VERSION, "agent": data.pop("agent")}
        return {**head, "headline": self.headline(), **data}

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "results") -> Results:
        if data.get("format") != FORMAT:
            raise ValueError(f"{where}: not a student-gym results file (field 'format')")
        if data.get("version") != VERSION:
            raise ValueError(
                f"{where}: results version {data.get('version')!r}, this student-gym reads "
                f"version {VERSION}; rerun `student-gym evaluate` into the same --out (finished "
                "episodes are redone only when the protocol changed)"
            )
        missing = [k for k in ("agent", "steps", "metrics", "counts") if k not in data]
        if missing:
            raise ValueError(f"{where}: missing field(s) {missing}")
        names = cls.__dataclass_fields__.keys()
        return cls(**{k: v for k, v in data.items() if k in names})

    @classmethod
    def load(cls, path: str | Path) -> Results:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: not valid JSON ({exc})") from None
        if not isinstance(data, dict):
            raise ValueError(f"{path}: not a student-gym results file (not a JSON object)")
        return cls.from_dict(data, where=str(path))

"""Results of an evaluation run: metrics, counts and provenance, saved as JSON."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

# The paper's table columns: short name -> metric key.
COLUMNS = {"Cov": "coverage", "GP": "grade_proximity", "CB": "codebleu"}


@dataclass
class Results:
    """One agent's evaluation.

    Attributes:
        agent: the agent's label.
        steps: the step limit of the protocol.
        metrics: metric -> {"per_step": [...], "mean", "delta", "ci": [lo, hi]} (see
            :func:`student_gym.evaluation.aggregate.aggregate`).
        coverage_pooled: all valid pairs / all student steps.
        counts: episodes, trajectories, students, student steps, valid pairs, ...
        provenance: versions, seeds, hashes, settings.
        stopped: why the run stopped before finishing (e.g. the API cost cap), else None.
    """

    agent: str
    steps: int
    metrics: dict[str, dict[str, Any]]
    coverage_pooled: float | None
    counts: dict[str, int]
    provenance: dict[str, Any] = field(default_factory=dict)
    stopped: str | None = None

    def mean(self, metric: str) -> float | None:
        """The unweighted mean over steps of one metric (``coverage``, ``codebleu``, ...)."""
        return self.metrics[metric]["mean"]

    def summary(self) -> dict[str, float | None]:
        """The paper's three numbers: {"Cov": .., "GP": .., "CB": ..}."""
        return {short: self.mean(key) for short, key in COLUMNS.items()}

    def to_dict(self) -> dict[str, Any]:
        return {"format": "student-gym/results", "version": 1, **asdict(self)}

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "results") -> Results:
        if data.get("format") != "student-gym/results":
            raise ValueError(f"{where}: not a student-gym results file (field 'format')")
        names = cls.__dataclass_fields__.keys()
        missing = [k for k in ("agent", "steps", "metrics") if k not in data]
        if missing:
            raise ValueError(f"{where}: missing field(s) {missing}")
        return cls(**{k: v for k, v in data.items() if k in names})

    @classmethod
    def load(cls, path: str | Path) -> Results:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: not valid JSON ({exc})") from None
        return cls.from_dict(data, where=str(path))

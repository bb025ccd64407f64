"""The evaluation rollout: protocol, batched driver, metrics aggregation, tables, plots.

``evaluate(agent, course, ...) -> Results`` runs the 5-step protocol of docs/env.md; see
docs/env.md for the protocol, the output files and the CLI (``student-gym evaluate``).
"""

from __future__ import annotations

from student_gym.evaluation.aggregate import METRICS, aggregate
from student_gym.evaluation.episodes import EpisodeRecord, Start, StepRecord, protocol_starts
from student_gym.evaluation.results import Results
from student_gym.evaluation.rollout import StopEvaluation, rollout
from student_gym.evaluation.runner import evaluate, evaluate_many

__all__ = [
    "METRICS",
    "EpisodeRecord",
    "Results",
    "Start",
    "StepRecord",
    "StopEvaluation",
    "aggregate",
    "evaluate",
    "evaluate_many",
    "protocol_starts",
    "rollout",
]

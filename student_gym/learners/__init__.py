"""Learners that need no torch: the agent contract, the replay agent and the rule-based novice.

Model-backed learners (Hugging Face LMs, OpenAI-compatible APIs) live in
``student_gym_agents``; every learner implements the one contract of
:mod:`student_gym.learners.contract`.
"""

from __future__ import annotations

from student_gym.learners.contract import (
    Agent,
    Info,
    Observation,
    StopEvaluation,
    agent_name,
    request_replies,
)
from student_gym.learners.novice import NoviceAgent
from student_gym.learners.replay import ReplayAgent

__all__ = [
    "Agent",
    "Info",
    "NoviceAgent",
    "Observation",
    "ReplayAgent",
    "StopEvaluation",
    "agent_name",
    "request_replies",
]

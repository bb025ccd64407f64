"""Registers StudentProgramming-v0 and its variants with Gymnasium on ``import student_gym``.

A string entry point keeps the import cheap: the env module (and the course it loads) is only
imported when ``gym.make`` is called.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym

ENTRY_POINT = "student_gym.env.programming_env:StudentProgrammingEnv"

# id -> (keyword arguments of the one env class, what the variant is); every id gets
# max_episode_steps=5 (the paper's horizon). Variants are kwargs, as Gymnasium registers
# FrozenLake8x8-v1: gym.make's own kwargs override them, and the class refuses a combination
# it cannot honour (PARA with a feedback level).
ENV_IDS: dict[str, tuple[dict[str, Any], str]] = {
    "StudentProgramming-v0": (
        {},
        "replay a held-out student's prefix, grader feedback (summary level)",
    ),
    "StudentProgramming-PARA-v0": (
        {"para": True, "feedback_level": "none"},
        "PARA / no feedback: every feedback turn is one neutral line",
    ),
    "StudentProgramming-Free-v0": (
        {"mode": "free"},
        "free mode: start from the bare assignment, no real student",
    ),
}
MAX_EPISODE_STEPS = 5


def register_envs() -> None:
    """Register every id in :data:`ENV_IDS` (idempotent)."""
    for env_id, (kwargs, _) in ENV_IDS.items():
        if env_id not in gym.registry:
            gym.register(
                id=env_id,
                entry_point=ENTRY_POINT,
                kwargs=kwargs,
                max_episode_steps=MAX_EPISODE_STEPS,
            )


register_envs()

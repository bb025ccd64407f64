"""Registers StudentProgramming-v0 and its variants with Gymnasium on ``import student_gym``.

String entry points keep the import cheap: the env module (and the course it loads) is only
imported when ``gym.make`` is called.
"""

from __future__ import annotations

import gymnasium as gym

# id -> (entry point, what the variant is); every id gets max_episode_steps=5.
ENV_IDS: dict[str, tuple[str, str]] = {
    "StudentProgramming-v0": (
        "student_gym.env:StudentProgrammingEnv",
        "replay a held-out student's prefix, grader feedback (summary level)",
    ),
    "StudentProgramming-PARA-v0": (
        "student_gym.env:ParaStudentProgrammingEnv",
        "PARA / no feedback: every feedback turn is one neutral line",
    ),
    "StudentProgramming-Free-v0": (
        "student_gym.env:FreeStudentProgrammingEnv",
        "free mode: start from the bare assignment, no real student",
    ),
}
MAX_EPISODE_STEPS = 5


def register_envs() -> None:
    """Register every id in :data:`ENV_IDS` (idempotent)."""
    for env_id, (entry_point, _) in ENV_IDS.items():
        if env_id not in gym.registry:
            gym.register(id=env_id, entry_point=entry_point, max_episode_steps=MAX_EPISODE_STEPS)


register_envs()

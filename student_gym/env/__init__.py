"""The environment: ``StudentProgramming-v0``, its spaces, reward terms, wrappers, registration.

``import student_gym`` registers the ids with Gymnasium; ``gym.make("StudentProgramming-v0")``
builds :class:`StudentProgrammingEnv` (docs/env.md). The env module (and the course it loads)
is imported on first use of a name below, so that ``import student_gym`` stays cheap for the
grader's fork server, which imports it before anything else.
"""

from __future__ import annotations

from typing import Any

__all__ = ["MODES", "Episode", "PendingStep", "StepResult", "StudentProgrammingEnv", "step_many"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from student_gym.env import programming_env

        return getattr(programming_env, name)
    raise AttributeError(f"module 'student_gym.env' has no attribute {name!r}")

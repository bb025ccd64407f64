"""The bundled course: the generated CS1 course shipped in ``student_gym/data/course/``.

It is the default course of the env, the demo and the tests. The file stores every
submission's regraded report, so loading it grades nothing. Regenerate it with
``python -m tools.course_generator --out student_gym/data/course/course.jsonl.gz``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from student_gym.course.model import Course
from student_gym.course.native import load_course

BUNDLED_PATH = Path(__file__).resolve().parent.parent / "data" / "course" / "course.jsonl.gz"


@lru_cache(maxsize=1)
def bundled_course() -> Course:
    """The shipped sample course (cached: every call returns the same object; do not mutate it).

    Splits: ``{"2024-fall": "train", "2025-spring": "test"}``.
    """
    return load_course(BUNDLED_PATH)

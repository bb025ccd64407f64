"""student_gym: the environment side of the artificial-programming-students toolkit.

Imports and grades without torch.
"""

from __future__ import annotations

from student_gym.grader import grade, grade_many, start_server
from student_gym.grader.assignments import (
    Assignment,
    CallTest,
    CheckTest,
    IOTest,
    Limits,
    ScriptTest,
)
from student_gym.grader.report import GradeReport, TestResult

__version__ = "0.1.0"

__all__ = [
    "Assignment",
    "CallTest",
    "CheckTest",
    "GradeReport",
    "IOTest",
    "Limits",
    "ScriptTest",
    "TestResult",
    "grade",
    "grade_many",
    "start_server",
]
from student_gym.env import registration as _registration  # noqa: F401

"""The sandboxed unit-test grader (see docs/grader.md)."""

from __future__ import annotations

from student_gym.grader.report import STATUSES, GradeReport, TestResult

__all__ = ["STATUSES", "GradeReport", "TestResult"]

"""Course logs: the data model, importers and the bundled sample course."""

from __future__ import annotations

from student_gym.course.model import Course, Submission, Trajectory

__all__ = ["Course", "Submission", "Trajectory"]

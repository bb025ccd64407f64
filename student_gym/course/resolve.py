"""Which course an env, an evaluation or a CLI command runs on, and the part of it that can be graded."""

from __future__ import annotations

import os

from student_gym.course.model import Course


def resolve_course(course: Course | str | os.PathLike[str] | None) -> Course:
    """The course an env or evaluation runs on: a Course, a path to a native course, or None.

    None means the bundled sample course.
    """
    if isinstance(course, Course):
        return course
    if course is None:
        from student_gym.course import bundled_course

        return bundled_course()
    from student_gym.course import load_course

    return load_course(course)


def gradable_course(course: Course, command: str) -> Course:
    """The part of ``course`` the grader can run (problems with tests, Python code).

    Raises:
        NoTestsError: (a ValueError) the course has logged grades only; says where tests go.
    """
    from student_gym.course.model import require_tests

    require_tests(course, command)
    return course if course.grading == "regraded" else course.gradable_only()

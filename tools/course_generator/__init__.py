"""The generator of the bundled CS1 course: ``python -m tools.course_generator --out DIR``.

Real course logs cannot be shipped, so the package ships a course it generates: the problems
of :mod:`.problems_functions`, :mod:`.problems_collections`, :mod:`.problems_programs` and
:mod:`.problems_longer` (each
with a statement, reference solutions and call or io tests, the last two hidden) and
trajectories of simulated novices (:mod:`.novice_model`) over two terms, whose statistics
are calibrated against published CS1 logs (docs/course.md, "Course statistics"). Every program is
graded by the real grader, in rounds (one ``grade_many`` batch per submission number), and the
grade is both the logged score and the stored report, so a regrade agrees by construction.
The output is a pure function of the seed (and the grader's verdicts).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from student_gym.course.model import Course, Submission, Trajectory
from student_gym.grader.assignments import Assignment
from student_gym.grader.report import GradeReport
from tools.course_generator.novice_model import (
    Attempt,
    draw_student,
    gives_up,
    next_program,
    start_attempt,
)
from tools.course_generator.problem_bank import Problem, build_assignment
from tools.course_generator.problems_collections import COLLECTION_PROBLEMS
from tools.course_generator.problems_functions import FUNCTION_PROBLEMS
from tools.course_generator.problems_longer import LONGER_PROBLEMS
from tools.course_generator.problems_programs import PROGRAM_PROBLEMS
from tools.course_generator.style import HABITS, apply_habits

PROBLEMS: tuple[Problem, ...] = (
    FUNCTION_PROBLEMS + COLLECTION_PROBLEMS + PROGRAM_PROBLEMS + LONGER_PROBLEMS
)
GradeMany = Callable[[Iterable[tuple[str, Assignment]]], list[GradeReport]]


@dataclass(frozen=True)
class Term:
    name: str
    split: str
    students: int
    starts: datetime


TERMS = (
    Term("2024-fall", "train", 66, datetime(2024, 9, 2, 8, 0)),
    Term("2025-spring", "test", 28, datetime(2025, 1, 13, 8, 0)),
)
DEFAULT_SEED = 2024
ATTEMPT_RATE = 0.7  # chance that a student attempts a given problem


def _default_grade_many(pairs: Iterable[tuple[str, Assignment]]) -> list[GradeReport]:
    from student_gym.grader import grade_many

    return grade_many(list(pairs))


def _stored(report: GradeReport) -> GradeReport:
    # Runtime and the machine's isolation layers would make the file differ between machines.
    return replace(report, runtime=0.0, layers=())


def check_references(
    assignments: dict[str, Assignment], grade_many: GradeMany, problems: Sequence[Problem]
) -> None:
    """Every reference style of every problem must pass its own tests in the grader."""
    pairs = [(s, assignments[p.id]) for p in problems for s in p.solutions]
    for (code, a), report in zip(pairs, grade_many(pairs), strict=True):
        if report.status != "passed":
            raise ValueError(
                f"reference solution of {a.id!r} does not pass: {report.to_dict()}\n{code}"
            )


Valid = dict[str, dict[int, tuple[str, ...]]]  # problem -> style index -> habits that keep it


def valid_habits(
    assignments: dict[str, Assignment], grade_many: GradeMany, problems: Sequence[Problem]
) -> Valid:
    """For every reference style, the habits (:data:`.style.HABITS`) whose rewrite still passes.

    Habits are text rewrites; one that breaks a style (or a rule of the assignment) is simply
    not used on that style, so every student's clean program passes.
    """
    pairs, keys = [], []
    for p in problems:
        for i, solution in enumerate(p.solutions):
            for habit in HABITS:
                code = apply_habits(solution, (habit,))
                if code != solution:
                    pairs.append((code, assignments[p.id]))
                    keys.append((p.id, i, habit))
    ok = {key for key, r in zip(keys, grade_many(pairs), strict=True) if r.status == "passed"}
    return {p.id: {i: tuple(h for h in HABITS if (p.id, i, h) in ok)
                   for i in range(len(p.solutions))} for p in problems}


def simulate(
    rng: random.Random,
    attempts: list[Attempt],
    assignments: dict[str, Assignment],
    grade_many: GradeMany,
    valid: Valid,
) -> None:
    """Run all attempts to the end, one grading round per submission number."""
    pending = attempts
    while pending:
        programs = [a.render() for a in pending]
        reports = grade_many(
            [(code, assignments[a.problem.id]) for code, a in zip(programs, pending, strict=True)]
        )
        for attempt, code, report in zip(pending, programs, reports, strict=True):
            attempt.programs.append(code)
            attempt.reports.append(_stored(report))
            if report.status == "passed" or gives_up(rng, attempt):
                attempt.done = True
            else:
                next_program(rng, attempt, report, valid[attempt.problem.id])
        pending = [a for a in pending if not a.done]


def generate_course(
    *,
    seed: int = DEFAULT_SEED,
    terms: Sequence[Term] = TERMS,
    problems: Sequence[Problem] = PROBLEMS,
    attempt_rate: float = ATTEMPT_RATE,
    grade_many: GradeMany | None = None,
    name: str = "student-gym-cs1",
) -> Course:
    """Generate the course (deterministic for a seed).

    Args:
        seed: the random seed.
        terms: the terms, their split, student count and start date.
        problems: the problem bank (the order is the week of the course).
        attempt_rate: the chance that a student attempts a problem.
        grade_many: the batch grader (default :func:`student_gym.grader.grade_many`).
        name: the course name.
    """
    grade_many = grade_many or _default_grade_many
    assignments = {p.id: build_assignment(p) for p in problems}
    check_references(assignments, grade_many, problems)
    valid = valid_habits(assignments, grade_many, problems)
    rng = random.Random(seed)
    plan: list[tuple[Term, int, Attempt]] = []  # (term, week, attempt)
    for term in terms:
        for _ in range(term.students):
            student = draw_student(rng, f"s{rng.getrandbits(40):010x}")
            for week, problem in enumerate(problems):
                if rng.random() < attempt_rate:
                    plan.append((term, week, start_attempt(rng, student, problem,
                                                           valid[problem.id])))
    simulate(rng, [a for _, _, a in plan], assignments, grade_many, valid)
    clock = random.Random(seed + 1)  # timestamps: a separate stream, so they never shift grades
    trajectories = []
    for term, week, a in plan:
        when = term.starts + timedelta(
            days=7 * (week // 2) + clock.randint(0, 6), minutes=clock.randint(0, 12 * 60)
        )
        subs = []
        for order, (code, report) in enumerate(zip(a.programs, a.reports, strict=True)):
            subs.append(
                Submission(
                    student=a.student.id,
                    assignment=a.problem.id,
                    order=order,
                    code=code,
                    timestamp=when.isoformat(),
                    logged_score=report.score,
                    report=report,
                )
            )
            when += timedelta(minutes=clock.randint(1, 25), seconds=clock.randint(0, 59))
        trajectories.append(
            Trajectory(
                id=f"{term.name}/{a.student.id}/{a.problem.id}",
                student=a.student.id,
                assignment=a.problem.id,
                term=term.name,
                submissions=tuple(subs),
            )
        )
    return Course(
        name=name,
        assignments=assignments,
        trajectories=trajectories,
        splits={t.name: t.split for t in terms},
        metadata={
            "generator": "tools.course_generator",
            "seed": seed,
            "synthetic": True,
            "description": "SYNTHETIC CS1 course: no real student wrote these programs. "
            "Simulated novices on introductory Python problems; every score and report comes "
            "from the student_gym grader.",
            "how_made": "python -m tools.course_generator --seed N: each student has traits "
            "kept across problems (skill, care, persistence, habits: trying the function with "
            "calls at the bottom, debugging prints, loop and print styles); each writes a "
            "reference idea in their style with problem-specific and generic mistakes, reads "
            "the grader's detailed feedback, and fixes the mistake it points at with a "
            "probability that depends on what the feedback says (line of a syntax error, "
            "exception name, Expected/Got of a visible test, only a count of hidden failures) "
            "and on the student, else misreads it (a new mistake, a half fix, a debug print, "
            "the same program again); may give up after each failure (docs/course.md).",
            "calibrated_against": "published ITAP statistics (CSEDM 2018, 888 trajectories): "
            "median length 1, mean 3.15, 6.5% >= 10 submissions, 33% syntax errors, 48% "
            "first-try correct, 80% ever correct, 81% distinct programs; compare with "
            "`student-gym course stats bundled`",
            "feedback_students_read": "detailed",
        },
    )

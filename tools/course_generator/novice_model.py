"""The model of novice behaviour that produces the generated course's trajectories.

A student is a skill and a persistence drawn once. On each problem they attempt, they write the
reference idea in their own style (:mod:`.style`) with a few mistakes: problem-specific ones
(misreading the statement, a wrong bound) and generic ones (:mod:`.mutators`). They submit,
read the grader's feedback and edit, one submission at a time:

* a syntax error is usually fixed first (the feedback names the line);
* a runtime error steers the fix to a mistake that raises (forgotten ``int()``, missing guard);
* otherwise they fix one mistake (more often the more skilled they are), or make a partial fix
  that swaps a mistake for another one, or flail: resubmit with a cosmetic change or a debug
  print, sometimes the same program again;
* editing sometimes slips in a new typo;
* after each failed submission they may give up (less often the more persistent they are), and
  everyone stops after ten submissions.

A trajectory ends at the first fully correct submission. Everything is drawn from one
``random.Random``, so a seed fixes the course; only the grader decides scores.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from student_gym.grader.report import GradeReport
from tools.course_generator.mutators import generic_bugs
from tools.course_generator.problem_bank import Bug, Problem
from tools.course_generator.style import draw_header, draw_renames, rename_identifiers

MAX_SUBMISSIONS = 10


@dataclass(frozen=True)
class Student:
    id: str
    skill: float  # 0..1: fewer first mistakes, likelier real fixes
    persistence: float  # 0..1: less likely to give up


@dataclass
class Attempt:
    """One student's work on one problem: their clean program and current mistakes."""

    student: Student
    problem: Problem
    clean: str  # the student's correct program in their style (the target of their fixes)
    specific: list[Bug]  # problem-specific mistakes, applied to the unstyled solution
    solution: str  # the unstyled reference style they follow
    renames: dict[str, str]
    header: str
    generic: list[Bug] = field(default_factory=list)  # line edits applied after styling
    debug_line: str | None = None  # a debug print they added while flailing
    programs: list[str] = field(default_factory=list)
    reports: list[GradeReport] = field(default_factory=list)
    done: bool = False

    def render(self) -> str:
        code = self.solution
        for bug in self.specific:
            code = code.replace(bug.old, bug.new, 1)
        code = self.header + rename_identifiers(code, self.renames)
        for bug in self.generic:
            code = code.replace(bug.old, bug.new, 1)
        if self.debug_line:
            code = _insert_debug(code, self.debug_line)
        return code

    @property
    def bugs(self) -> list[Bug]:
        return self.specific + self.generic


def _insert_debug(code: str, debug: str) -> str:
    lines = code.splitlines(keepends=True)
    for i, line in enumerate(lines):
        if line.lstrip().startswith("return ") and not line.startswith("return"):
            indent = line[: len(line) - len(line.lstrip())]
            lines.insert(i, f"{indent}{debug}\n")
            return "".join(lines)
    return code


def start_attempt(rng: random.Random, student: Student, problem: Problem) -> Attempt:
    """The student's first program: their style plus 0-3 mistakes."""
    solution = rng.choice(problem.solutions)
    keep = {problem.entry_point} if problem.entry_point else set()
    renames = draw_renames(rng, solution, keep, rate=0.3 + 0.4 * rng.random())
    header = draw_header(rng, problem.title)
    clean = header + rename_identifiers(solution, renames)
    attempt = Attempt(student, problem, clean, [], solution, renames, header)
    # Skilled students make fewer mistakes; a few get it right at once.
    weights = [0.12 * student.skill, 0.4, 0.33, 0.1 + 0.15 * (1 - student.skill)]
    n_bugs = rng.choices(range(4), weights=weights)[0]
    for _ in range(n_bugs):
        _add_mistake(rng, attempt, allow_syntax=rng.random() < 0.25)
    return attempt


def _add_mistake(rng: random.Random, attempt: Attempt, *, allow_syntax: bool) -> bool:
    """Add one problem-specific (preferred) or generic mistake that changes the program."""
    before = attempt.render()
    specific = [
        b
        for b in attempt.problem.bugs
        if b.old in attempt.solution
        and b not in attempt.specific
        and not any(b.old in s.old or s.old in b.old for s in attempt.specific)
    ]
    if specific and rng.random() < 0.6:
        target, bug = attempt.specific, rng.choice(specific)
    else:
        lines_taken = {b.old for b in attempt.generic}
        generic = [
            b
            for b in generic_bugs(attempt.clean)
            if b.old not in lines_taken and (allow_syntax or b.kind != "syntax")
        ]
        if not generic:
            return False
        target, bug = attempt.generic, rng.choice(generic)
    target.append(bug)
    if attempt.render() == before:  # the edit does not apply on this program: undo it
        target.pop()
        return False
    return True


def _fix(rng: random.Random, attempt: Attempt, kinds: tuple[str, ...]) -> bool:
    candidates = [b for b in attempt.bugs if b.kind in kinds] or attempt.bugs
    if not candidates:
        return False
    bug = rng.choice(candidates)
    (attempt.specific if bug in attempt.specific else attempt.generic).remove(bug)
    return True


def next_program(rng: random.Random, attempt: Attempt, report: GradeReport) -> None:
    """Edit the attempt in response to the feedback on its last program."""
    skill = attempt.student.skill
    attempt.debug_line = None if rng.random() < 0.6 else attempt.debug_line
    if report.status == "syntax_error":
        if not _fix(rng, attempt, ("syntax",)) or rng.random() < 0.1:
            _add_mistake(rng, attempt, allow_syntax=False)
        return
    raised = report.status == "runtime_error" or any(t.error_type for t in report.tests)
    roll = rng.random()
    if roll < 0.3 + 0.35 * skill:
        _fix(rng, attempt, ("runtime",) if raised else ("logic", "runtime"))
        if rng.random() < 0.08:
            _add_mistake(rng, attempt, allow_syntax=True)  # a typo while editing
    elif roll < 0.92:
        # partial fix: the student changes the right place the wrong way
        if _fix(rng, attempt, ("logic", "runtime")):
            _add_mistake(rng, attempt, allow_syntax=False)
    elif attempt.problem.entry_point and rng.random() < 0.6:
        attempt.debug_line = "print('debug', " + rng.choice(["'here'", "'check'", "1"]) + ")"
    # else: resubmit unchanged, as real students do


def gives_up(rng: random.Random, attempt: Attempt) -> bool:
    n = len(attempt.programs)
    if n >= MAX_SUBMISSIONS:
        return True
    return rng.random() < 0.02 + 0.06 * (1 - attempt.student.persistence) * n

"""The model of novice behaviour that produces the generated course's trajectories.

A student is a set of traits drawn once and kept across every problem (so a student's history
predicts their next problem): *skill* (fewer first mistakes, better reading of feedback),
*care* (fewer syntax slips when typing and editing), *persistence* (gives up later) and
habits: calling their function at the bottom to try it (``print(f(...))``), debugging prints,
index loops instead of for-each loops, ``total = total + x`` instead of ``+=``,
``if c: return True else: return False`` instead of ``return c``, a header comment.

On each problem they attempt, they write one reference idea in their style (:mod:`.style`) with
some mistakes: problem-specific ones (misreading the statement, a wrong bound) and generic ones
(:mod:`.mutators`), plus a syntax slip now and then. They submit and read the grader's
*detailed* feedback; what it says decides how likely the next edit fixes the right mistake:

* a syntax error names its line: careful, skilled students fix it; others edit around it
  (another slip, a cosmetic change) and resubmit, which makes the long syntax-error tails of
  real logs;
* an exception names its type and line: a mistake that raises is fixed (a ``NameError`` points
  at a misspelt name, most often read right);
* ``Got: None`` on a visible test points at a ``print`` instead of a ``return``;
* a visible test's ``Expected``/``Got`` localises a wrong value: fixed more often than a
  failure only counted among hidden tests ("2 hidden tests failed"), which students misread:
  they change a correct line (a new mistake), half-fix, add a debug print or resubmit;
* debugging prints that show up in a program's output are removed once the feedback shows them;
* after several failures a student sometimes rewrites the program in another style;
* each edit can slip in a new typo, less often the more careful the student.

After each failed submission they may give up (less often the more persistent they are).
A trajectory ends at the first fully correct submission. Everything is drawn from one
``random.Random``, so a seed fixes the course; only the grader decides scores.
"""

from __future__ import annotations

import copy
import random
import re
from dataclasses import dataclass, field

from student_gym.grader.report import GradeReport
from tools.course_generator.mutators import generic_bugs
from tools.course_generator.problem_bank import Bug, Problem, run_function
from tools.course_generator.style import (
    HEADERS,
    apply_habits,
    draw_renames,
    rename_identifiers,
)

MAX_SUBMISSIONS = 60  # a backstop: real logs have tails of 80+, the hazard stops most far earlier
HABIT_RATES = (  # share of students with each habit of :data:`.style.HABITS`
    ("expand_augmented", 0.4), ("index_loops", 0.35), ("bool_if", 0.4), ("while_loops", 0.35),
    ("separate_conversion", 0.4), ("concat_print", 0.4), ("named_result", 0.4),
    ("store_then_print", 0.45), ("strip_input", 0.35), ("main_function", 0.4),
)
DEBUG_MESSAGES = ("'debug'", "'here'", "'value:'", "'check'", "'>>>'", "'test'")


@dataclass(frozen=True)
class Student:
    """Traits drawn once per student, kept across every problem."""

    id: str
    skill: float  # 0..1: fewer first mistakes, better reading of feedback
    care: float  # 0..1: fewer syntax slips
    persistence: float  # 0..1: less likely to give up
    tries_calls: bool  # calls their function at the bottom of the file to try it
    debug_prints: float  # 0..1: chance to add a debugging print after a wrong answer
    habits: tuple[str, ...]  # style habits (:data:`.style.HABITS`)
    header: str  # their usual header comment (a format string with {title})


def draw_student(rng: random.Random, sid: str) -> Student:
    return Student(
        id=sid,
        skill=rng.betavariate(2.2, 1.6),
        care=rng.betavariate(2, 1.5),
        persistence=rng.betavariate(2, 2),
        tries_calls=rng.random() < 0.5,
        debug_prints=rng.betavariate(1, 3),
        habits=tuple(h for h, p in HABIT_RATES if rng.random() < p),
        header=rng.choice(HEADERS),
    )


@dataclass
class Attempt:
    """One student's work on one problem: their clean program and current mistakes."""

    student: Student
    problem: Problem
    solution: str  # the unstyled reference style they follow
    habits: tuple[str, ...]  # the student's habits that keep this solution correct
    renames: dict[str, str]
    header: str
    tail: str = ""  # calls at the bottom that try the function
    specific: list[Bug] = field(default_factory=list)  # edits of the unstyled solution
    generic: list[Bug] = field(default_factory=list)  # line edits applied after styling
    debug_line: str | None = None  # a debugging print they added
    cosmetic: int = 0  # blank lines added while fiddling (text changes, program does not)
    programs: list[str] = field(default_factory=list)
    reports: list[GradeReport] = field(default_factory=list)
    done: bool = False

    @property
    def clean(self) -> str:
        """The student's correct program in their style (what their fixes converge to)."""
        code = apply_habits(rename_identifiers(self.solution, self.renames), self.habits)
        return self.header + code + self.tail

    def render(self) -> str:
        code = self.solution
        for bug in self.specific:
            code = code.replace(bug.old, bug.new, 1)
        code = self.header + apply_habits(rename_identifiers(code, self.renames), self.habits)
        code += self.tail
        for bug in self.generic:
            code = code.replace(bug.old, bug.new, 1)
        if self.debug_line:
            code = _insert_debug(code, self.debug_line)
        if self.cosmetic:
            lines = code.split("\n")
            at = min(self.cosmetic, len(lines) - 1)
            code = "\n".join(lines[:at] + [""] + lines[at:])
        return code

    @property
    def bugs(self) -> list[Bug]:
        return self.specific + self.generic


def _insert_debug(code: str, debug: str) -> str:
    """Put a debugging print before the first indented ``return`` (or after the first
    assignment of a program without functions)."""
    lines = code.splitlines(keepends=True)
    for i, line in enumerate(lines):
        stripped = line.lstrip()
        if stripped.startswith("return ") and line != stripped:
            indent = line[: len(line) - len(stripped)]
            lines.insert(i, f"{indent}{debug}\n")
            return "".join(lines)
    for i, line in enumerate(lines):
        if " = " in line and line == line.lstrip() and "input()" not in line:
            lines.insert(i + 1, f"{debug}\n")
            return "".join(lines)
    return code


def _debug_print(rng: random.Random, solution: str, renames: dict[str, str]) -> str:
    """A debugging print of a parameter (always in scope) or a bare marker."""
    params = re.findall(r"\w+", solution.split("(", 1)[1].split(")", 1)[0]) if \
        solution.startswith("def ") else []
    message = rng.choice(DEBUG_MESSAGES)
    if params and rng.random() < 0.7:
        param = rng.choice(params)
        return f"print({message}, {renames.get(param, param)})"
    return f"print({message}, {rng.randint(0, 9)})"


def _tail(rng: random.Random, problem: Problem) -> str:
    """The calls a student writes to try their function: the statement's example or theirs."""
    visible = problem.call_args[: max(1, len(problem.call_args) - 2)]
    picks = [_own_args(rng, problem, args) if rng.random() < 0.7 else args
             for args in rng.sample(visible, k=min(len(visible), rng.choice((1, 1, 2, 3))))]
    calls = "".join(
        f"print({problem.entry_point}({', '.join(repr(a) for a in args)}))\n" for args in picks
    )
    if rng.random() < 0.3:
        calls = "if __name__ == '__main__':\n" + "".join("    " + c + "\n" for c in
                                                          calls.splitlines())
    return "\n" + calls


def _own_args(rng: random.Random, problem: Problem, args: tuple) -> tuple:
    """Arguments a student makes up: the example's shape with their own small numbers (kept
    only where the reference solution accepts them, so a correct program never crashes on its
    own try)."""
    def own(value: object) -> object:
        if isinstance(value, bool) or not isinstance(value, (int, list)):
            return value
        if isinstance(value, int):
            return rng.randint(0, 20) if value >= 0 else -rng.randint(1, 20)
        return [own(v) for v in value] + ([rng.randint(0, 9)] if value and rng.random() < 0.3
                                          else [])
    made = tuple(own(a) for a in args)
    try:
        run_function(problem.solutions[0], problem.entry_point or "", copy.deepcopy(made))
    except Exception:  # noqa: BLE001 - our own reference code; any failure means "not these"
        return args
    return made


def start_attempt(
    rng: random.Random, student: Student, problem: Problem, valid: dict[int, tuple[str, ...]]
) -> Attempt:
    """The student's first program: their style, habits and 0-3 mistakes.

    ``valid`` maps each reference style's index to the habits that keep it correct.
    """
    index = rng.choice(sorted(valid))
    solution = problem.solutions[index]
    habits = tuple(h for h in student.habits if h in valid[index])
    keep = {problem.entry_point} if problem.entry_point else set()
    renames = draw_renames(rng, solution, keep, rate=0.3 + 0.4 * rng.random())
    header = student.header.format(title=problem.title) if rng.random() < 0.8 else ""
    tail = _tail(rng, problem) if problem.entry_point and student.tries_calls else ""
    attempt = Attempt(student, problem, solution, habits, renames, header, tail)
    # Skilled students more often get it right at once; the rest make 1-3 mistakes.
    if rng.random() >= 0.18 + 0.72 * student.skill ** 1.3:
        for _ in range(rng.choices((1, 2, 3), weights=(0.55, 0.3, 0.15))[0]):
            _add_mistake(rng, attempt, allow_syntax=False)
    if problem.entry_point and rng.random() < student.debug_prints:
        attempt.debug_line = _debug_print(rng, solution, renames)  # to watch a value while writing
    if rng.random() < 0.45 * (1 - student.care) ** 1.2:
        _add_mistake(rng, attempt, syntax_only=True)  # a slip while typing
    return attempt


def _add_mistake(
    rng: random.Random, attempt: Attempt, *, allow_syntax: bool = False, syntax_only: bool = False
) -> bool:
    """Add one problem-specific (preferred) or generic mistake that changes the program."""
    before = attempt.render()
    specific = [
        b
        for b in attempt.problem.bugs
        if b.old in attempt.solution
        and b not in attempt.specific
        and not any(b.old in s.old or s.old in b.old for s in attempt.specific)
    ]
    if specific and not syntax_only and rng.random() < 0.6:
        target, bug = attempt.specific, rng.choice(specific)
    else:
        lines_taken = {b.old for b in attempt.generic}
        generic = [
            b
            for b in generic_bugs(attempt.clean)
            if b.old not in lines_taken
            and (b.kind == "syntax" if syntax_only else (allow_syntax or b.kind != "syntax"))
        ]
        if not generic:
            return False
        target, bug = attempt.generic, rng.choice(generic)
    target.append(bug)
    if attempt.render() == before:  # the edit does not apply on this program: undo it
        target.pop()
        return False
    return True


def _fix(rng: random.Random, attempt: Attempt, pick: list[Bug]) -> bool:
    if not pick:
        return False
    bug = rng.choice(pick)
    (attempt.specific if bug in attempt.specific else attempt.generic).remove(bug)
    return True


def _rewrite(rng: random.Random, attempt: Attempt, valid: dict[int, tuple[str, ...]]) -> None:
    """Start over in another reference style (keeping names and habits), with a fresh mistake."""
    others = [i for i in valid if attempt.problem.solutions[i] != attempt.solution]
    if not others:
        return
    index = rng.choice(others)
    attempt.solution = attempt.problem.solutions[index]
    attempt.habits = tuple(h for h in attempt.student.habits if h in valid[index])
    attempt.specific.clear()
    attempt.generic.clear()
    attempt.debug_line = None
    if rng.random() < 0.5:
        _add_mistake(rng, attempt)


def next_program(
    rng: random.Random, attempt: Attempt, report: GradeReport, valid: dict[int, tuple[str, ...]]
) -> None:
    """Edit the attempt in response to the detailed feedback on its last program."""
    student = attempt.student
    skill, care = student.skill, student.care
    kinds = {k: [b for b in attempt.bugs if b.kind == k] for k in ("syntax", "runtime", "logic")}
    failed = [t for t in report.tests if not t.passed]
    visible = [t for t in failed if not t.hidden]
    raised = report.error_type or next((t.error_type for t in failed if t.error_type), None)
    fixed = False
    if report.status == "syntax_error":
        if rng.random() < 0.1 + 0.4 * skill + 0.35 * care ** 2:
            fixed = _fix(rng, attempt, kinds["syntax"])
        else:  # edits around the line the message names: another try at the same slip
            attempt.cosmetic += 1
            if rng.random() < 0.25:
                _add_mistake(rng, attempt, syntax_only=True)
            return
    elif raised and raised != "AssertionError":
        named = [b for b in attempt.bugs if b.label == "misspelt name"] if raised == "NameError" \
            else []
        if rng.random() < (0.85 if named else 0.5 + 0.4 * skill):
            fixed = _fix(rng, attempt, named or kinds["runtime"] or attempt.bugs)
    elif attempt.debug_line and not attempt.problem.entry_point and visible:
        # the debugging print shows in "Your output": take it out
        if rng.random() < 0.8:
            attempt.debug_line = None
            fixed = True
    elif any(t.got == "None" for t in visible) and any(
        b.label in ("print instead of return", "missing return") for b in attempt.bugs
    ) and rng.random() < 0.85:
        fixed = _fix(rng, attempt, [b for b in attempt.bugs
                                    if b.label in ("print instead of return", "missing return")])
    elif visible and rng.random() < 0.25 + 0.5 * skill:  # Expected/Got localise the mistake
        fixed = _fix(rng, attempt, kinds["logic"] + kinds["runtime"] or attempt.bugs)
    elif not visible and rng.random() < 0.05 + 0.3 * skill:  # only hidden tests: a guess
        fixed = _fix(rng, attempt, kinds["logic"] + kinds["runtime"] or attempt.bugs)
    if not fixed:
        _misread(rng, attempt, valid)
    elif rng.random() < 0.4 * (1 - care) ** 1.5:
        _add_mistake(rng, attempt, syntax_only=True)  # a typo while editing


def _misread(rng: random.Random, attempt: Attempt, valid: dict[int, tuple[str, ...]]) -> None:
    """What a student does who did not find the mistake the feedback points at."""
    student = attempt.student
    if len(attempt.programs) >= 3 and rng.random() < 0.12:
        _rewrite(rng, attempt, valid)
        return
    roll = rng.random()
    if roll < student.debug_prints:
        attempt.debug_line = _debug_print(rng, attempt.solution, attempt.renames)
    elif roll < 0.45:
        _add_mistake(rng, attempt)  # changes a correct line: a new mistake
    elif roll < 0.75:
        if _fix(rng, attempt, attempt.bugs):  # the right place, the wrong way
            _add_mistake(rng, attempt)
    else:
        attempt.cosmetic += 1  # resubmits nearly the same program


def gives_up(rng: random.Random, attempt: Attempt) -> bool:
    n = len(attempt.programs)
    if n >= MAX_SUBMISSIONS:
        return True
    first = 0.1 + 0.25 * (1 - attempt.student.persistence)
    later = 0.012 + 0.16 * (1 - attempt.student.persistence) ** 2
    return rng.random() < (first if n == 1 else later)

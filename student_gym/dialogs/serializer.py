"""Trajectory -> chat messages: the ONE serializer that the env, SFT, DPO and DAPO share.

A dialog is ``system`` (persona + rules of the environment), ``user`` (the assignment
statement), then alternating ``assistant`` (a full program in a fenced python block) and
``user`` (the grader's feedback on that program). Messages are plain ``{"role", "content"}``
dicts, always freshly built, so callers may hand them out or mutate them safely.

Courses with logged grades only (no tests) serialize the same way: a submission without a
grader report is answered with the feedback the log holds, or a grade-level line made from its
logged grade (:func:`logged_feedback`); code in another language gets its own fence.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from student_gym.course.model import PYTHON, Course, Problem, Submission, Trajectory, logged_pass
from student_gym.course.model import collapse as collapse_submissions
from student_gym.grader.assignments import Assignment
from student_gym.grader.feedback import FEEDBACK_LEVELS, NEUTRAL_FEEDBACK, render_feedback
from student_gym.grader.report import GradeReport

# NEUTRAL_FEEDBACK (PARA): one fixed line that says a program arrived and nothing about it;
# it is also what render_feedback gives at level "none".

# The persona: what the paper's system prompt says in substance (a first-year novice who
# works by trial and error and makes beginner mistakes), in our own words. Evaluated learners
# and trained ones see the same text, so baselines are run as the paper ran them.
_PERSONA = (
    "You are a first-year student learning Python, working on an assignment until your "
    "program passes all of its tests. You are no expert and rarely get it right on the first "
    "try. You make beginner mistakes (off-by-one errors, wrong variable names, wrong logic, a "
    "forgotten return), misread the assignment or the feedback, and sometimes add a bug while "
    "fixing another. You work by trial and error and never resubmit an identical program."
)
_RULES_COMMON = (
    "Each turn, reply with your complete program in one ```python code block, with nothing "
    "after the closing fence."
)
_RULES_WITH_FEEDBACK = (
    "After each submission the environment replies with feedback: your grade and a summary "
    "of the tests."
)
_RULES_WITHOUT_FEEDBACK = (
    "After each submission the environment only confirms that it received your program: no "
    "test results, grade or other feedback."
)


@dataclass(frozen=True)
class DialogStyle:
    """How trajectories are rendered as dialogs.

    Attributes:
        feedback_level: what each feedback turn says, one of :data:`FEEDBACK_LEVELS`
            (rendered by :func:`student_gym.grader.feedback.render_feedback`); "none" is the neutral
            line.
        para: the PARA baseline: every feedback turn is :data:`NEUTRAL_FEEDBACK` whatever the
            level, and the system prompt says that no feedback will be given.
        system_prompt: replaces the default persona + rules text when set.
    """

    feedback_level: str = "summary"
    para: bool = False
    system_prompt: str | None = None

    def __post_init__(self) -> None:
        if self.feedback_level not in FEEDBACK_LEVELS:
            raise ValueError(
                f"DialogStyle: feedback_level must be one of {FEEDBACK_LEVELS}, "
                f"got {self.feedback_level!r}"
            )

    @classmethod
    def para_style(cls) -> DialogStyle:
        """The PARA baseline: neutral feedback, a system prompt that promises none."""
        return cls(feedback_level="none", para=True)

    @property
    def gives_feedback(self) -> bool:
        """Whether feedback turns carry anything about the program."""
        return not self.para and self.feedback_level != "none"


def system_prompt(style: DialogStyle) -> str:
    """The system message: the novice persona and the rules of the environment."""
    if style.system_prompt is not None:
        return style.system_prompt
    rules = _RULES_WITH_FEEDBACK if style.gives_feedback else _RULES_WITHOUT_FEEDBACK
    return f"{_PERSONA}\n\n{_RULES_COMMON} {rules}"


def statement_text(assignment: Assignment | Problem) -> str:
    """The first user turn: the assignment statement as the course wrote it."""
    return assignment.statement.strip()


def format_program(code: str, language: str = PYTHON) -> str:
    """A program as an assistant turn: one fenced block tagged with its language.

    The fence is longer than any run of backticks in the code (CommonMark), so a program
    containing a ``` string still round-trips through
    :class:`student_gym.dialogs.replies.ReplyParser`. The one fence writer: replies, sampled
    actions and dialogs all use it.
    """
    longest, run = 0, 0
    for ch in code:
        run = run + 1 if ch == "`" else 0
        longest = max(longest, run)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{code.rstrip()}\n{fence}"


def feedback_text(report: GradeReport, style: DialogStyle) -> str:
    """The user turn that answers a program: the grader's feedback at the style's level."""
    if style.para:
        return NEUTRAL_FEEDBACK  # whatever the level: PARA reveals nothing
    return render_feedback(report, style.feedback_level)


def program_turn(code: str, language: str = PYTHON) -> dict[str, str]:
    """The assistant turn of one submission: the program in its fence.

    A training row's completion is this turn alone; :func:`submission_turns` adds the
    feedback after it.
    """
    return {"role": "assistant", "content": format_program(code, language)}


def submission_turns(
    code: str, feedback: GradeReport | str, style: DialogStyle, language: str = PYTHON
) -> list[dict[str, str]]:
    """The two turns one submission adds to a dialog: THE place a dialog turn is made.

    The assistant turn is the program in its fence (:func:`format_program`); the user turn is
    the grader's feedback on it at the style's level (:func:`feedback_text`), or the feedback
    text already rendered for ``style`` when a string is given (logged-grade courses). The env,
    SFT, DPO, DAPO and evaluation all build their dialogs through this function, so the env's
    observation after k steps equals the serializer's dialog of the same k programs.

    Args:
        code: the program submitted.
        feedback: the grader's report on it, or its rendered feedback text.
        style: how feedback is rendered.
        language: the program's language (its fence tag).
    """
    text = feedback if isinstance(feedback, str) else feedback_text(feedback, style)
    return [program_turn(code, language), {"role": "user", "content": text}]


def logged_feedback(sub: Submission, style: DialogStyle) -> str:
    """The user turn answering a submission that only has a logged grade (no tests).

    PARA and level "none": the neutral line. Level "grade": the logged grade. "summary" and
    "detailed": the feedback text the log holds (a script's output, a ProgSnap2 message), else
    the logged grade with "All tests passed." at full marks. A submission without any logged
    grade or feedback gets the neutral line.
    """
    if not style.gives_feedback:
        return NEUTRAL_FEEDBACK
    if style.feedback_level != "grade" and sub.feedback:
        return sub.feedback
    if sub.logged_score is None:
        return NEUTRAL_FEEDBACK
    text = f"{sub.logged_score * 100:.1f}".removesuffix(".0")
    line = f"Grade: {text}/100"
    if style.feedback_level != "grade" and logged_pass(sub):
        line += "\nAll tests passed."
    return line


def submission_feedback(sub: Submission, style: DialogStyle) -> str:
    """The feedback turn after ``sub``: the grader's on its report, else the logged one."""
    if sub.report is not None:
        return feedback_text(sub.report, style)
    return logged_feedback(sub, style)


def dialog_messages(
    assignment: Assignment | Problem,
    turns: Sequence[tuple[str, GradeReport | str]],
    style: DialogStyle,
    language: str = PYTHON,
) -> list[dict[str, str]]:
    """system, user(statement), then (assistant program, user feedback) per turn.

    Args:
        assignment: the assignment (or problem without tests) being solved.
        turns: (program code, grader report on it, or the feedback text already rendered for
            ``style``) in submission order.
        style: how to render it.
        language: the programs' language (their fence tag).
    """
    messages = [
        {"role": "system", "content": system_prompt(style)},
        {"role": "user", "content": statement_text(assignment)},
    ]
    for code, feedback in turns:
        messages.extend(submission_turns(code, feedback, style, language))
    return messages


def submission_messages(
    assignment: Assignment | Problem,
    subs: Sequence[Submission],
    style: DialogStyle,
    language: str = PYTHON,
) -> list[dict[str, str]]:
    """:func:`dialog_messages` of submissions, each answered by :func:`submission_feedback`."""
    turns = [(s.code, submission_feedback(s, style)) for s in subs]
    return dialog_messages(assignment, turns, style, language)


# -- which submissions form the dialog -------------------------------------------------------


def graded_submissions(
    trajectory: Trajectory, assignment: Assignment | None = None
) -> list[Submission]:
    """The trajectory's submissions, each with its regraded report.

    Submissions without a report are graded lazily, in one parallel batch, with
    :func:`student_gym.grade_many` against ``assignment`` (courses loaded from the native
    format already carry their reports, so this normally grades nothing).

    Raises:
        ValueError: a submission has no report and no assignment was given to grade it.
    """
    missing = [i for i, s in enumerate(trajectory.submissions) if s.report is None]
    subs = list(trajectory.submissions)
    if not missing:
        return subs
    if assignment is None:
        raise ValueError(
            f"trajectory {trajectory.id!r}: submission {subs[missing[0]].order} has no grade "
            "report; pass the assignment so that it can be graded"
        )
    from student_gym.grader import grade_many

    reports = grade_many([(subs[i].code, assignment) for i in missing])
    for i, report in zip(missing, reports, strict=True):
        subs[i] = replace(subs[i], report=report)
    return subs


def effective_submissions(
    trajectory: Trajectory, assignment: Assignment | Problem | None = None,
    source: str = "regraded",
) -> list[Submission]:
    """The submissions that become assistant turns.

    The trajectory is first cut after its first fully correct submission (regraded status
    ``passed``; with ``source="logged"``, full logged marks); then each run of consecutive
    submissions with the same normalized AST (:func:`student_gym.course.program_ast.same_program`) is
    collapsed to the *first* of the run: the moment the student first submitted that program.
    With the regraded source, returned submissions carry reports (graded lazily when missing,
    see :func:`graded_submissions`); the logged source grades nothing.
    """
    if source == "logged":
        return collapse_submissions(trajectory.submissions, logged_pass)
    if not isinstance(assignment, Assignment) and assignment is not None:
        raise ValueError(
            f"trajectory {trajectory.id!r}: problem {trajectory.assignment!r} has no tests; "
            "use its logged grades (source='logged')"
        )
    subs = graded_submissions(trajectory, assignment)
    return collapse_submissions(subs, lambda s: s.report.status == "passed")


def prefix_messages(
    course: Course, trajectory: Trajectory, prefix: int, style: DialogStyle
) -> list[dict[str, str]]:
    """The dialog after the first ``prefix`` effective submissions and their feedback.

    It ends with a user turn (the statement when ``prefix`` is 0); the student's next real
    submission is ``effective_submissions(trajectory)[prefix]``. This is exactly the env's
    observation for (trajectory, prefix) and the prompt of SFT/DPO/DAPO rows.

    Raises:
        KeyError: the course has no assignment for the trajectory.
        ValueError: ``prefix`` is outside ``0..len(effective_submissions)``.
    """
    assignment = course_assignment(course, trajectory)
    subs = effective_submissions(trajectory, assignment, course.grade_source(trajectory))
    if not 0 <= prefix <= len(subs):
        raise ValueError(
            f"trajectory {trajectory.id!r}: prefix {prefix} is outside 0..{len(subs)} "
            f"({len(subs)} effective submissions)"
        )
    return submission_messages(assignment, subs[:prefix], style, trajectory.language)


def course_assignment(course: Course, trajectory: Trajectory) -> Assignment | Problem:
    """The assignment (or problem without tests) of a trajectory; the error names both."""
    try:
        return course.problem(trajectory.assignment)
    except KeyError:
        raise KeyError(
            f"trajectory {trajectory.id!r}: assignment {trajectory.assignment!r} is not in "
            f"course {course.name!r}"
        ) from None


# -- truncation ------------------------------------------------------------------------------


def truncate_messages(
    messages: Sequence[dict[str, str]],
    count_tokens: Callable[[list[dict[str, str]]], int],
    max_tokens: int,
) -> list[dict[str, str]]:
    """Left-truncate a dialog to ``max_tokens`` by whole turns.

    The head (everything up to and including the first user turn: system + statement) is
    always kept; (assistant, user) pairs are dropped from the front, oldest first, until
    ``count_tokens`` of the result fits. When even the head alone does not fit, the head alone
    is returned (a prompt without its assignment is worse than an over-long one).

    Args:
        messages: the dialog (not modified).
        count_tokens: tokens of a message list, e.g. the length of the chat-templated prompt.
        max_tokens: the budget.
    """
    messages = [dict(m) for m in messages]
    if count_tokens(messages) <= max_tokens:
        return messages
    first_user = next((i for i, m in enumerate(messages) if m["role"] == "user"), 0)
    head, tail = messages[: first_user + 1], messages[first_user + 1 :]
    # Fewer turns never cost more tokens, so binary-search the fewest pairs to drop: a real
    # tokenizer count renders the whole dialog, and long trajectories would otherwise pay
    # one rendering per dropped pair.
    pairs = (len(tail) + 1) // 2
    low, high = 1, pairs  # dropping `high` pairs (everything) always "fits": the head rule
    while low < high:
        mid = (low + high) // 2
        if count_tokens(head + tail[2 * mid :]) <= max_tokens:
            high = mid
        else:
            low = mid + 1
    return head + tail[2 * high :]

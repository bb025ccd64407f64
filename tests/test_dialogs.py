"""The serializer: dialog messages, effective submissions, prefixes and truncation."""

from __future__ import annotations

import pytest

from student_gym.course.model import Course, Submission, Trajectory
from student_gym.dialogs import (
    NEUTRAL_FEEDBACK,
    DialogStyle,
    dialog_messages,
    effective_submissions,
    feedback_text,
    format_program,
    prefix_messages,
    system_prompt,
    truncate_messages,
)
from student_gym.grader import report as grade_report
from student_gym.grader.assignments import Assignment, CallTest
from student_gym.grader.report import GradeReport

ASSIGNMENT = Assignment(
    id="double",
    title="Double",
    statement="Write `double(n)` that returns twice `n`.\n",
    entry_point="double",
    tests=(
        CallTest(name="zero", args=(0,), expected=0),
        CallTest(name="two", args=(2,), expected=4),
    ),
)


def report(passed: int, status: str | None = None) -> GradeReport:
    """A hand-made report of `passed` out of 2 tests."""
    status = status or ("passed" if passed == 2 else "failed")
    tests = tuple(
        grade_report.TestResult(name=n, kind="call", passed=i < passed, score=float(i < passed),
                   call=f"double({a})", expected=repr(a * 2), got=repr(a * 2 if i < passed else a))
        for i, (n, a) in enumerate((("zero", 0), ("two", 2)))
    )
    if status == "syntax_error":
        return GradeReport(score=0.0, passed=0, total=2, status=status, error_type="SyntaxError",
                           error="SyntaxError: expected ':' (line 1)", line=1)
    return GradeReport(score=passed / 2, passed=passed, total=2, status=status, tests=tests)


def trajectory(tid: str, programs: list[tuple[str, GradeReport | None]], term: str = "S21") -> Trajectory:
    subs = tuple(
        Submission(student="s1", assignment="double", order=i, code=code, report=rep)
        for i, (code, rep) in enumerate(programs)
    )
    return Trajectory(id=tid, student="s1", assignment="double", term=term, submissions=subs)


SYNTAX = "def double(n)\n    return n\n"
WRONG = "def double(n):\n    return n\n"
WRONG_RENAMED = "def double(x):\n    # same thing\n    return x\n"
RIGHT = "def double(n):\n    return n * 2\n"

TRAJ = trajectory(
    "S21/s1/double",
    [(SYNTAX, report(0, "syntax_error")), (WRONG, report(1)), (WRONG_RENAMED, report(1)),
     (RIGHT, report(2)), ("def double(n):\n    return 2 * n\n", report(2))],
)
COURSE = Course(name="toy", assignments={"double": ASSIGNMENT}, trajectories=[TRAJ],
                splits={"S21": "train"})
PARA = DialogStyle.para_style()


def test_effective_submissions_collapse_same_ast_and_cut_at_first_pass() -> None:
    subs = effective_submissions(TRAJ)
    # WRONG_RENAMED collapses into WRONG (the first of the run is kept); after RIGHT passes,
    # the trajectory ends.
    assert [s.code for s in subs] == [SYNTAX, WRONG, RIGHT]
    assert [s.order for s in subs] == [0, 1, 3]


def test_only_consecutive_repeats_collapse() -> None:
    traj = trajectory("t", [(WRONG, report(1)), (SYNTAX, report(0, "syntax_error")),
                            (WRONG_RENAMED, report(1))])
    assert len(effective_submissions(traj)) == 3


def test_missing_report_without_assignment_is_a_clear_error() -> None:
    traj = trajectory("S21/x/double", [(WRONG, None)])
    with pytest.raises(ValueError, match=r"trajectory 'S21/x/double': submission 0 has no grade"):
        effective_submissions(traj)


def test_dialog_structure_alternates_and_ends_with_a_user_turn() -> None:
    messages = prefix_messages(COURSE, TRAJ, 2, PARA)
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user", "assistant", "user"]
    assert messages[1]["content"] == ASSIGNMENT.statement.strip()
    assert messages[2]["content"] == format_program(SYNTAX)
    assert messages[4]["content"] == f"```python\n{WRONG.rstrip()}\n```"
    assert prefix_messages(COURSE, TRAJ, 0, PARA) == messages[:2]
    # The full dialog (prefix = number of effective submissions) is allowed; more is not.
    assert len(prefix_messages(COURSE, TRAJ, 3, PARA)) == 8
    with pytest.raises(ValueError, match="prefix 4 is outside 0..3"):
        prefix_messages(COURSE, TRAJ, 4, PARA)


def test_messages_are_fresh_dicts_every_time() -> None:
    a = prefix_messages(COURSE, TRAJ, 1, PARA)
    b = prefix_messages(COURSE, TRAJ, 1, PARA)
    assert a == b
    assert all(x is not y for x, y in zip(a, b, strict=True))


def test_para_feedback_reveals_nothing_and_the_system_prompt_says_so() -> None:
    turns = [(SYNTAX, report(0, "syntax_error")), (WRONG, report(1)), (RIGHT, report(2))]
    messages = dialog_messages(ASSIGNMENT, turns, PARA)
    assert [m["content"] for m in messages[3::2]] == [NEUTRAL_FEEDBACK] * 3
    assert "no test results" in system_prompt(PARA)
    assert "replies with feedback" in system_prompt(DialogStyle())
    assert "replies with feedback" not in system_prompt(PARA)
    # A custom system prompt replaces the default.
    custom = DialogStyle(system_prompt="Be a student.")
    assert dialog_messages(ASSIGNMENT, [], custom)[0] == {"role": "system", "content": "Be a student."}


def test_feedback_levels_use_the_grader_feedback() -> None:
    from student_gym.grader import feedback

    for level in ("grade", "summary", "detailed"):
        style = DialogStyle(feedback_level=level)
        messages = dialog_messages(ASSIGNMENT, [(WRONG, report(1))], style)
        assert messages[3]["content"] == feedback.render_feedback(report(1), level)
        assert feedback_text(report(1), style) != NEUTRAL_FEEDBACK
    assert feedback_text(report(1), DialogStyle(feedback_level="none")) == NEUTRAL_FEEDBACK
    # PARA ignores the level: the line is the same whatever the program did.
    para_detailed = DialogStyle(feedback_level="detailed", para=True)
    texts = {feedback_text(r, para_detailed) for r in (report(0, "syntax_error"), report(1), report(2))}
    assert texts == {NEUTRAL_FEEDBACK}


def test_the_persona_has_the_papers_substance_in_our_words() -> None:
    text = system_prompt(DialogStyle())
    for phrase in ("first-year", "learning Python", "passes all of its tests", "no expert",
                   "rarely get it right on the first try", "off-by-one", "variable names",
                   "wrong logic", "forgotten return", "misread the assignment or the feedback",
                   "add a bug while fixing another", "trial and error",
                   "never resubmit an identical program", "complete program",
                   "one ```python code block", "nothing after the closing fence",
                   "grade and a summary of the tests"):
        assert phrase in text, phrase
    para = system_prompt(DialogStyle.para_style())
    assert "off-by-one" in para and "grade and a summary" not in para


def test_bad_feedback_level_is_refused() -> None:
    with pytest.raises(ValueError, match="feedback_level must be one of"):
        DialogStyle(feedback_level="verbose")


def test_missing_assignment_names_trajectory_and_course() -> None:
    course = Course(name="toy", assignments={}, trajectories=[TRAJ])
    with pytest.raises(KeyError, match="assignment 'double' is not in course 'toy'"):
        prefix_messages(course, TRAJ, 1, PARA)


def count_chars(messages: list[dict[str, str]]) -> int:
    return sum(len(m["content"]) for m in messages)


def test_truncation_drops_whole_pairs_from_the_front_and_keeps_the_head() -> None:
    messages = prefix_messages(COURSE, TRAJ, 3, PARA)
    head, pairs = messages[:2], messages[2:]
    assert truncate_messages(messages, count_chars, 10**6) == messages
    # Budget for the head and the last pair only.
    budget = count_chars(head + pairs[-2:])
    kept = truncate_messages(messages, count_chars, budget)
    assert kept == head + pairs[-2:]
    assert kept[-1]["role"] == "user"
    # Budget one char short of two pairs keeps one.
    assert truncate_messages(messages, count_chars, count_chars(head + pairs[-4:]) - 1) == head + pairs[-2:]
    # Not even the head fits: the head alone, never less.
    assert truncate_messages(messages, count_chars, 5) == head


def test_feedback_follows_its_own_program() -> None:
    from student_gym.grader.feedback import render_feedback

    turns = [(SYNTAX, report(0, "syntax_error")), (WRONG, report(1))]
    messages = dialog_messages(ASSIGNMENT, turns, DialogStyle(feedback_level="detailed"))
    assert messages[3]["content"] == render_feedback(turns[0][1], "detailed")
    assert messages[5]["content"] == render_feedback(turns[1][1], "detailed")
    assert messages[3]["content"] != messages[5]["content"]


def test_submissions_without_reports_are_graded_lazily() -> None:
    traj = trajectory("S21/lazy/double", [(WRONG, None), (WRONG_RENAMED, None), (RIGHT, None),
                                          (WRONG, None)])
    subs = effective_submissions(traj, ASSIGNMENT)
    assert [s.code for s in subs] == [WRONG, RIGHT]
    assert [(s.report.status, s.report.score) for s in subs] == [("failed", 0.5), ("passed", 1.0)]
    course = Course(name="toy", assignments={"double": ASSIGNMENT}, trajectories=[traj])
    messages = prefix_messages(course, traj, 1, DialogStyle(feedback_level="summary"))
    assert messages[3]["content"].startswith("Tests passed: 1/2")


def test_truncation_keeps_the_most_recent_turns_that_fit_for_every_budget() -> None:
    messages = prefix_messages(COURSE, TRAJ, 3, DialogStyle(feedback_level="detailed"))
    head, tail = messages[:2], messages[2:]
    for budget in range(0, count_chars(messages) + 2):
        kept = truncate_messages(messages, count_chars, budget)
        # Reference: drop pairs one at a time from the front until it fits.
        drop = 0
        while drop < len(tail) // 2 and count_chars(head + tail[2 * drop :]) > budget:
            drop += 1
        assert kept == head + tail[2 * drop :], budget

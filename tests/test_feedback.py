"""Feedback text at each level, from real grader reports."""

from __future__ import annotations

import pytest

from student_gym import grade
from student_gym.grader.assignment_files import example_assignments
from student_gym.grader.assignments import Assignment, CallTest, IOTest
from student_gym.grader.feedback import FEEDBACK_LEVELS, NEUTRAL_FEEDBACK, render_feedback
from student_gym.grader.report import GradeReport

AVERAGE = Assignment(
    id="avg", title="avg", statement="", entry_point="compute_average",
    tests=(CallTest("three", ([1, 2, 3],), 2.0), CallTest("one", ([4],), 4.0),
           CallTest("secret", ([2, 4],), 3.0, hidden=True)),
)
BUGGY = (
    "def compute_average(nums):\n"
    "    total = 0\n"
    "    for i in nums:\n"
    "        total += i\n"
    "    return average / len(nums)\n"
)


def test_levels_are_the_four_documented_ones() -> None:
    assert FEEDBACK_LEVELS == ("none", "grade", "summary", "detailed")
    with pytest.raises(ValueError, match="feedback level"):
        render_feedback(GradeReport(score=0, passed=0, total=1, status="failed"), "verbose")


def test_none_is_the_same_neutral_line_whatever_the_program() -> None:
    good = grade("def compute_average(nums):\n    return sum(nums) / len(nums)\n", AVERAGE)
    bad = grade(BUGGY, AVERAGE)
    assert good.status == "passed" and bad.status == "failed"
    assert render_feedback(good, "none") == render_feedback(bad, "none") == NEUTRAL_FEEDBACK


def test_grade_level_gives_only_the_grade() -> None:
    report = grade("def compute_average(nums):\n    return nums[0] * 1.0\n", AVERAGE)
    assert report.passed == 1
    assert render_feedback(report, "grade") == "Grade: 33.3/100"


def test_summary_names_the_first_error_and_its_line() -> None:
    report = grade(BUGGY, AVERAGE)
    assert render_feedback(report, "summary") == (
        "Tests passed: 0/3\nNameError: name 'average' is not defined (line 5)")
    assert report.feedback == render_feedback(report, "summary")


def test_summary_of_a_syntax_error_and_a_pass() -> None:
    report = grade("def compute_average(nums)\n    return 0\n", AVERAGE)
    text = render_feedback(report, "summary")
    assert text.startswith("Tests passed: 0/3\n") and "SyntaxError: expected ':' (line 1)" in text
    good = grade("def compute_average(nums):\n    return sum(nums) / len(nums)\n", AVERAGE)
    assert render_feedback(good, "summary") == "Tests passed: 3/3\nAll tests passed."


def test_detailed_shows_visible_calls_expected_and_got_but_hides_hidden_tests() -> None:
    report = grade("def compute_average(nums):\n    return sum(nums) // len(nums) + 1\n", AVERAGE)
    text = render_feedback(report, "detailed")
    assert "Call: compute_average([1, 2, 3])\nExpected: 2.0\nGot: 3" in text
    assert "Call: compute_average([4])\nExpected: 4.0\nGot: 5" in text
    assert "[2, 4]" not in text and "1 hidden test failed." in text


def test_detailed_io_test_shows_input_and_both_outputs() -> None:
    echo = Assignment(id="e", title="e", statement="", tests=(IOTest("t", "2\n", "4\n"),))
    text = render_feedback(grade("print(int(input()) + 1)\n", echo), "detailed")
    assert "Input:\n  2\nExpected output:\n  4\nYour output:\n  3" in text


def test_detailed_script_test_shows_what_the_script_printed() -> None:
    lab = example_assignments()["lab_area"]
    report = grade(lab.solution.replace("width * height", "width + height"), lab)
    text = render_feedback(report, "detailed")
    assert text.startswith("Tests passed: 0/1 (score 60/100)")
    assert "Output of the test script:\nFeedback:\nLine 1: INCORRECT (Expected: 'Area:" in text


def test_summary_of_grader_verdicts_says_what_happened_in_words() -> None:
    from student_gym.grader.assignments import Limits

    quick = Assignment(id="q", title="q", statement="", entry_point="compute_average",
                       tests=AVERAGE.tests, limits=Limits(cpu_seconds=0.3, output_bytes=100))
    timeout = grade("def compute_average(nums):\n    while True:\n        pass\n", quick)
    loud = grade("def compute_average(nums):\n    print('ha' * 100)\n", quick)
    early = grade("import sys\nx = [][0]\n", quick)
    assert render_feedback(timeout, "summary") == "Tests passed: 0/3\nYour program ran out of time."
    assert render_feedback(loud, "summary") == (
        "Tests passed: 0/3\nYour program printed too much output.")
    assert render_feedback(early, "detailed") == (
        "Tests passed: 0/3\nYour program raised an error before the tests could finish.\n"
        "IndexError: list index out of range (line 2)")


def test_detailed_shows_a_hidden_scripts_output_but_not_hidden_call_tests() -> None:
    from dataclasses import replace

    lab = example_assignments()["lab_area"]
    hidden_lab = replace(lab, tests=(replace(lab.tests[0], hidden=True),))
    report = grade(lab.solution.replace("width * height", "width + height"), hidden_lab)
    text = render_feedback(report, "detailed")
    assert "1 out of 2 lines match" in text and "hidden test" not in text


def test_broken_tests_are_the_assignments_fault_in_every_level() -> None:
    from student_gym.grader.assignments import CheckTest

    broken = CheckTest("broken", "def check(candidate):\n    assert nobody_defines_this(1)\n")
    fine = CallTest("fine", ([4],), 4.0)
    good = "def compute_average(nums):\n    return sum(nums) / len(nums)\n"
    both = Assignment(id="b", title="b", statement="", entry_point="compute_average",
                      tests=(broken, fine), solution=good)
    report = grade(good, both)
    assert report.status == "passed" and report.total == 1
    summary = render_feedback(report, "summary")
    assert "(1 broken test not counted)" in summary and "All tests passed." in summary
    assert "does not count" in render_feedback(report, "detailed")
    only = grade(good, Assignment(id="c", title="c", statement="", solution=good,
                                  entry_point="compute_average", tests=(broken,)))
    assert only.status == "test_error" and only.score is None
    assert render_feedback(only, "grade") == "Grade: none (the assignment's tests are broken)"
    assert "not your program's fault" in render_feedback(only, "summary")

"""Check and script tests are decided by a judge process outside the sandbox, which asks the
child only for the calls the test code makes (student_gym/grader/judge.py, harness.py).

Each case grades a correct program and a wrong one through the real grader: the judge must
keep every behaviour test code relies on (exceptions it catches, arguments changed in place,
generators, the assignment's helper functions, random inputs, scripts importing the program or
reading its files) and never turn a wrong program into a pass.
"""

from __future__ import annotations

import random
import textwrap

import pytest

from student_gym import Assignment, grade, grade_many
from student_gym.grader.assignments import CheckTest, ScriptTest


def check_assignment(test_code: str, entry: str = "f") -> Assignment:
    return Assignment(id="t", title="t", statement="t", entry_point=entry,
                      tests=(CheckTest("asserts", textwrap.dedent(test_code)),))


def script_assignment(script: str, filename: str = "main.py") -> Assignment:
    return Assignment(id="s", title="s", statement="s",
                      tests=(ScriptTest("script", textwrap.dedent(script), filename=filename),))


def statuses(assignment: Assignment, *programs: str) -> list[str]:
    return [r.status for r in grade_many([(textwrap.dedent(p), assignment) for p in programs])]


def test_an_uncaught_program_error_reports_the_students_line():
    a = check_assignment("def check(candidate):\n    assert candidate(0) == 1\n")
    report = grade("def f(x):\n    y = 1\n    return y // x\n", a)
    assert report.status == "failed"
    test = report.tests[0]
    assert (test.error_type, test.line) == ("ZeroDivisionError", 3)
    assert test.error == "ZeroDivisionError: integer division or modulo by zero"
    assert test.call == "assert candidate(0) == 1"


def test_a_failing_assert_names_the_statement():
    a = check_assignment("def check(candidate):\n    assert candidate(1) == 1\n"
                         "    assert candidate(2) == 4\n")
    report = grade("def f(x):\n    return x\n", a)
    assert report.status == "failed"
    assert (report.tests[0].error_type, report.tests[0].line) == ("AssertionError", None)
    assert report.tests[0].call == "assert candidate(2) == 4"


REPLAYED = {  # what test code observes of the program: (test code, right program, wrong one)
    "exception_caught_by_its_builtin_base": (
        """
        def check(candidate):
            try:
                candidate(-1)
            except ValueError:
                pass
            else:
                assert False, "no ValueError"
            assert candidate(4) == 2
        """,
        "class NegativeError(ValueError):\n    pass\ndef f(x):\n    if x < 0:\n"
        "        raise NegativeError('negative')\n    return int(x ** 0.5)\n",
        "def f(x):\n    if x < 0:\n        raise TypeError('no')\n    return int(x ** 0.5)\n",
    ),
    "argument_changed_in_place": (
        """
        def check(candidate):
            items = [3, 1, 2]
            assert candidate(items) is None
            assert items == [1, 2, 3]
        """,
        "def f(xs):\n    xs.sort()\n",
        "def f(xs):\n    sorted(xs)\n",
    ),
    "generators_and_the_programs_helpers": (
        """
        def check(candidate):
            assert list(candidate(3)) == [0, 1, 4]
            assert tuple(candidate(2)) == (0, 1)
            assert square(5) == 25
        """,
        "def square(x):\n    return x * x\ndef f(n):\n    for i in range(n):\n"
        "        yield square(i)\n",
        "def square(x):\n    return x + x\ndef f(n):\n    return map(square, range(n))\n",
    ),
    # The program drawing random numbers must not shift the test's random inputs.
    "random_inputs": (
        """
        import random
        def check(candidate):
            for _ in range(20):
                x = random.randint(0, 1000)
                assert candidate(x) == x + 1
        """,
        "import random\ndef f(x):\n    random.random()\n    return x + 1\n",
        "def f(x):\n    return x + 2\n",
    ),
    # A program defining `abs` must not answer the test's own abs(...).
    "program_shadowing_a_builtin": (
        "def check(candidate):\n    assert abs(candidate(2) - 0.25) < 1e-9\n",
        "def f(x):\n    return 1 / x ** 2\n",
        "def abs(x):\n    return 0\ndef f(x):\n    return 99\n",
    ),
}


@pytest.mark.parametrize("case", sorted(REPLAYED))
def test_the_replay_keeps_what_test_code_observes(case):
    test_code, right, wrong = REPLAYED[case]
    assert statuses(check_assignment(test_code), right, wrong) == ["passed", "failed"]


def test_replaying_leaves_the_callers_random_alone():
    a = check_assignment("import random\nrandom.seed(99)\ndef check(candidate):\n"
                         "    assert candidate(random.random()) is not None\n")
    state = random.getstate()
    assert grade("def f(x):\n    return x\n", a).status == "passed"
    assert random.getstate() == state


def test_script_importing_the_program_and_reading_its_file():
    a = script_assignment("""
        from cs110 import autograder
        import random

        def test_passed():
            points = 0
            output, error = autograder.run_script("main.py", [3, 4])
            if "12" in output:
                points += 40
            from main import area
            if area(2, 5) == 10:
                points += 30
            with open("result.txt") as handle:
                if handle.read().strip() == "12":
                    points += 30
            print("score so far", points)
            return points
    """)
    right = """
        def area(w, h):
            return w * h
        if __name__ == "__main__":
            w, h = int(input()), int(input())
            print(area(w, h))
            with open("result.txt", "w") as handle:
                handle.write(str(area(w, h)))
    """
    wrong = right.replace("return w * h", "return w + h + 5")  # 12 for (3, 4), not 10 for (2, 5)
    good, bad = grade_many([(textwrap.dedent(right), a), (textwrap.dedent(wrong), a)])
    assert (good.status, good.score) == ("passed", 1.0), good
    assert (bad.status, bad.score) == ("failed", 0.7), bad
    assert "score so far 100\nUnit Test Returned: 100" in good.tests[0].output
    assert "Feedback:" in good.tests[0].output


def test_script_seeding_the_programs_random_numbers():
    """FalconCode scripts seed, run the program, seed again and draw the expected numbers."""
    a = script_assignment("""
        from cs110 import autograder
        import random

        def test_passed():
            random.seed(7)
            output, error = autograder.run_script("main.py", [])
            random.seed(7)
            expected = [str(random.randint(1, 6)) for _ in range(3)]
            return 100 * autograder.compare_strings(output.split(), expected) // 3
    """)
    right = "import random\nfor _ in range(3):\n    print(random.randint(1, 6))\n"
    wrong = "print(1)\nprint(1)\nprint(1)\n"
    good, bad = grade_many([(right, a), (wrong, a)])
    assert good.status == "passed", good
    assert bad.status == "failed" and bad.score < 1.0
    assert "Line 1: CORRECT" in good.tests[0].output


def test_same_report_twice():
    a = check_assignment("import random\ndef check(candidate):\n"
                         "    assert candidate(random.randint(0, 9)) == -1\n")
    first, second = grade_many([("def f(x):\n    return x\n", a)] * 2)
    assert first.to_dict(runtime=False) == second.to_dict(runtime=False)


def test_answers_too_large_to_check_fail_without_hurting_the_grader():
    # Each answer crosses on its own: many large answers are fine...
    a = check_assignment("def check(candidate):\n    for i in range(12):\n"
                         "        assert len(candidate(i)) == 400_000\n")
    assert grade("def f(i):\n    return 'x' * 400_000\n", a).status == "passed"
    # ...one over the limit of a value fails the test, naming why.
    big = check_assignment("def check(candidate):\n    assert len(candidate(1)) == 2_000_000\n")
    report = grade("def f(i):\n    return 'x' * 2_000_000\n", big)
    assert report.status == "failed", report
    assert "too large" in report.tests[0].error
    assert grade("def f(i):\n    return 'x' * 400_000\n", check_assignment(
        "def check(candidate):\n    assert len(candidate(1)) == 400_000\n")).status == "passed"

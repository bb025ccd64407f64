"""The bundled generated course: size, shape, realism, and 100% regrade agreement."""

from __future__ import annotations

import statistics
from collections import Counter
from datetime import datetime

from student_gym import grader
from student_gym.course import BUNDLED_PATH, bundled_course, regrade
from student_gym.course.stats import course_stats
from student_gym.grader.assignments import CallTest, IOTest
from tools.course_generator import PROBLEMS, Term, generate_course
from tools.course_generator.mutators import generic_bugs
from tools.course_generator.style import apply_habits, rename_identifiers


def test_bundled_course_loads_by_default_and_is_cached():
    course = bundled_course()
    assert course is bundled_course()
    assert BUNDLED_PATH.stat().st_size < 2_000_000
    assert len(course.assignments) >= 20
    assert len(course.trajectories) >= 1500
    assert course.splits == {"2024-fall": "train", "2025-spring": "test"}
    share = len(course.split("test")) / len(course.trajectories)
    assert 0.2 <= share <= 0.4
    assert course.metadata["synthetic"] is True and "SYNTHETIC" in course.metadata["description"]
    assert len({t.id for t in course.trajectories}) == len(course.trajectories)
    assert all(t.id == f"{t.term}/{t.student}/{t.assignment}" for t in course.trajectories)


def test_assignments_have_statements_solutions_and_hidden_tests():
    course = bundled_course()
    kinds = Counter()
    for a in course.assignments.values():
        assert a.statement and a.solution and 10 <= len(a.statement.split())
        assert len(a.tests) >= 5 and any(t.hidden for t in a.tests)
        assert not all(t.hidden for t in a.tests)
        kinds.update(type(t).__name__ for t in a.tests)
    assert kinds[CallTest.__name__] > 0 and kinds[IOTest.__name__] > 0


def test_trajectories_look_like_real_cs1_logs():
    """The figures docs/course.md compares with published ITAP logs (median length 1, mean
    3.15, 6.5% >= 10, 33% syntax errors, 48% first-try and 80% ever correct, 81% distinct)."""
    course = bundled_course()
    stats = course_stats(course)
    length = stats["length"]
    assert length["median"] == 1 and 2.5 <= length["mean"] <= 3.5 and length["max"] >= 40
    assert 0.03 <= length["share_ge_10"] <= 0.1
    assert 0.4 <= stats["first_try_correct"] <= 0.5
    assert 0.75 <= stats["ever_correct"] <= 0.85
    assert 0.28 <= stats["status"]["syntax_error"] <= 0.4
    assert stats["distinct_programs"]["text_share"] >= 0.8
    # a learner cannot memorise the held-out term: most of its programs are new
    seen = stats["held_out_seen_in_training"]
    assert seen["finals"] < 0.5 and seen["submissions"] < 0.3
    # enough long dialogs for evaluation starts (k >= 2) and DPO pairs
    eff = stats["effective_length"]
    assert eff["train_count_ge_3"] >= 300 and eff["held_out_count_ge_3"] >= 100
    assert {"SyntaxError", "NameError", "TypeError"} <= set(stats["error_types"])
    statuses = Counter(s.report.status for s in course.submissions())
    assert {"passed", "failed", "syntax_error", "runtime_error"} <= set(statuses)
    for t in course.trajectories:
        assert all(s.logged_score == s.report.score for s in t.submissions)
        assert all(s.report.status != "passed" for s in t.submissions[:-1])
        stamps = [datetime.fromisoformat(s.timestamp) for s in t.submissions]
        assert stamps == sorted(stamps)
    # students write the same problem differently
    for aid in course.assignments:
        firsts = [t.submissions[0].code for t in course.trajectories if t.assignment == aid]
        assert len(set(firsts)) >= len(firsts) * 0.8


def test_students_keep_their_traits_across_assignments():
    """A student's history predicts their next assignment: first-try success on their
    earlier problems predicts it on their later ones, and habits recur."""
    course = bundled_course()
    by_student: dict[str, list] = {}
    for t in sorted(course.split("train"), key=lambda t: t.submissions[0].timestamp):
        by_student.setdefault(t.student, []).append(t)
    early, late = [], []
    for trajectories in by_student.values():
        half = len(trajectories) // 2
        first_try = [t.submissions[0].report.status == "passed" for t in trajectories]
        early.append(statistics.fmean(first_try[:half]))
        late.append(statistics.fmean(first_try[half:]))
    assert statistics.correlation(early, late) > 0.3
    # the habit of trying the function at the bottom: most students always or never do it
    tries = []
    for trajectories in by_student.values():
        calls = [("\nprint(" + t.assignment + "(") in t.submissions[0].code
                 or ("    print(" + t.assignment + "(") in t.submissions[0].code
                 for t in trajectories if course.assignments[t.assignment].entry_point]
        tries.append(statistics.fmean(calls))
    assert sum(x == 0 for x in tries) >= len(tries) * 0.3
    assert sum(x >= 0.5 for x in tries) >= len(tries) * 0.3


def test_regrading_the_whole_bundled_course_agrees_100_percent():
    result = regrade(bundled_course(), grade_many=grader.grade_many)
    assert result.compared == sum(1 for _ in bundled_course().submissions())
    assert result.agreement == 1.0 and not result.mismatched_trajectories
    assert all(a.agreement == 1.0 for a in result.per_assignment.values())


def test_generator_is_deterministic_and_grader_driven():
    terms = (
        Term("2024-fall", "train", 3, datetime(2024, 9, 2)),
        Term("2025-spring", "test", 2, datetime(2025, 1, 13)),
    )
    small = dict(terms=terms, problems=PROBLEMS[:3] + PROBLEMS[-3:], seed=7)
    a = generate_course(**small)
    b = generate_course(**small)
    assert a == b
    assert a != generate_course(**{**small, "seed": 8})
    assert set(a.splits) == {"2024-fall", "2025-spring"}


def test_style_and_mutators_edit_source_like_novices():
    code = (
        "def f(nums):\n    total = 0\n    for i in range(len(nums)):\n        total += nums[i]\n"
        "    print(f'{total} total')\n    return total\n"
    )
    renamed = rename_identifiers(code, {"total": "acc", "nums": "xs"})
    assert "acc = 0" in renamed and "f'{acc} total'" in renamed and "xs[i]" in renamed
    labels = {b.label for b in generic_bugs(code)}
    assert {
        "off-by-one",
        "print instead of return",
        "missing return",
        "syntax: missing colon",
    } <= labels
    assert "misspelt name" in labels  # a NameError, the commonest runtime error of novices
    for bug in generic_bugs(code):
        assert bug.old in code and bug.old != bug.new


def test_habits_rewrite_programs_the_way_some_novices_always_write_them():
    code = (
        "def f(nums):\n    total = 0\n    for x in nums:\n        total += x\n"
        "    return total * 2 == 8\n"
    )
    habits = apply_habits(code, ("expand_augmented", "index_loops", "bool_if"))
    assert "total = total + x" in habits and "for idx in range(len(nums)):" in habits
    assert "if total * 2 == 8:\n        return True\n    else:\n        return False" in habits
    namespace: dict = {}
    exec(habits, namespace)  # noqa: S102 - our own test program
    assert namespace["f"]([1, 3]) is True and namespace["f"]([1]) is False
    program = "n = int(input())\nfor i in range(1, n + 1):\n    print('Row:', i)\n"
    io_habits = apply_habits(program, ("separate_conversion", "while_loops", "concat_print",
                                       "main_function"))
    assert io_habits == (
        "def main():\n    n = input()\n    n = int(n)\n    i = 1\n    while i < n + 1:\n"
        "        print('Row: ' + str(i))\n        i += 1\n\n\nmain()\n"
    )

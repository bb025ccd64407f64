"""The bundled generated course: size, shape, realism, and 100% regrade agreement."""

from __future__ import annotations

import statistics
from collections import Counter
from datetime import datetime

from student_gym import grader
from student_gym.course import BUNDLED_PATH, bundled_course, regrade
from student_gym.grader.assignments import CallTest, IOTest
from tools.course_generator import PROBLEMS, Term, generate_course
from tools.course_generator.mutators import generic_bugs
from tools.course_generator.style import rename_identifiers


def test_bundled_course_loads_by_default_and_is_cached():
    course = bundled_course()
    assert course is bundled_course()
    assert BUNDLED_PATH.stat().st_size < 2_000_000
    assert len(course.assignments) >= 20
    assert len(course.trajectories) >= 400
    assert course.splits == {"2024-fall": "train", "2025-spring": "test"}
    share = len(course.split("test")) / len(course.trajectories)
    assert 0.2 <= share <= 0.4
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


def test_trajectories_look_like_novices():
    course = bundled_course()
    lengths = [len(t) for t in course.trajectories]
    assert max(lengths) <= 10 and 2 <= statistics.median(lengths) <= 10
    assert sum(n >= 2 for n in lengths) / len(lengths) > 0.8
    finals = Counter(t.submissions[-1].report.status for t in course.trajectories)
    assert 0.05 < 1 - finals["passed"] / len(lengths) < 0.4  # some students give up
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
        assert len(set(firsts)) >= len(firsts) * 0.5


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
    for bug in generic_bugs(code):
        assert bug.old in code and bug.old != bug.new

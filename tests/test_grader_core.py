"""The grader core: every test kind, every status, determinism, hostile programs."""

from __future__ import annotations

import pytest

from student_gym import grade, grade_many
from student_gym.grader import STATUSES
from student_gym.grader.assignment_files import example_assignments
from student_gym.grader.assignments import (
    Assignment,
    CallTest,
    CheckTest,
    IOTest,
    Limits,
    ScriptTest,
)

FAST = Limits(cpu_seconds=0.5, wall_factor=2.0, memory_mb=256, output_bytes=2000)

ADD = Assignment(
    id="add", title="add", statement="Add two numbers.", entry_point="add", limits=FAST,
    tests=(CallTest("small", (1, 2), 3), CallTest("pair", (2, 2), (2, 2)),
           CallTest("hidden", (0, 1), 1, hidden=True)),
)
DOUBLE = Assignment(
    id="double", title="double", statement="", entry_point="f", limits=FAST,
    tests=(CheckTest("asserts", "def check(candidate):\n    assert candidate(2) == 4\n"
                     "    assert candidate(-1) == -2\n"),),
)
ECHO = Assignment(
    id="echo", title="echo", statement="", limits=FAST,
    tests=(IOTest("three", "3\n", "6\n"), IOTest("ten", "10\n", "20\n", hidden=True)),
)

_ISOLATION_LAYERS = ("landlock", "user_namespace", "network_namespace", "ipc_namespace",
                     "mount_namespace", "seccomp", "uid_drop", "no_new_privs")

GOOD_ADD = "def add(a, b):\n    if a == b:\n        return (a, b)\n    return a + b\n"


def test_call_tests_compare_with_exact_types() -> None:
    report = grade(GOOD_ADD, ADD)
    assert report.status == "passed" and report.score == 1.0 and report.passed == 3
    # A list where a tuple is expected fails, and the visible test shows expected vs got.
    wrong = grade("def add(a, b):\n    return [a, b] if a == b else a + b\n", ADD)
    assert wrong.status == "failed" and wrong.passed == 2 and wrong.score == pytest.approx(2 / 3)
    pair = wrong.tests[1]
    assert (pair.call, pair.expected, pair.got) == ("add(2, 2)", "(2, 2)", "[2, 2]")
    assert wrong.tests[2].expected is None and wrong.tests[2].got is None  # hidden test


def test_io_tests_compare_normalised_stdout() -> None:
    assert grade("n = int(input())\nprint(n * 2, '  ')\n", ECHO).status == "passed"
    report = grade("n = int(input())\nprint(n * 3)\n", ECHO)
    assert report.status == "failed"
    assert (report.tests[0].call, report.tests[0].expected, report.tests[0].got) == (
        "3\n", "6\n", "9\n")


def test_check_tests_and_their_failing_assert() -> None:
    assert grade("def f(x):\n    return 2 * x\n", DOUBLE).status == "passed"
    report = grade("def f(x):\n    return abs(2 * x)\n", DOUBLE)
    assert report.status == "failed"
    assert report.tests[0].error_type == "AssertionError"
    assert report.tests[0].call == "assert candidate(-1) == -2"


def test_example_assignments_cover_every_kind_and_their_solutions_pass() -> None:
    examples = example_assignments()
    kinds = {t.kind for a in examples.values() for t in a.tests}
    assert kinds == {"call", "io", "check", "script"}
    reports = grade_many([(a.solution, a) for a in examples.values()])
    assert [r.status for r in reports] == ["passed"] * len(examples)


def test_scored_script_gives_partial_points_and_its_output() -> None:
    lab = example_assignments()["lab_area"]
    wrong = lab.solution.replace("2 * (width + height)", "width + height")
    report = grade(wrong, lab)
    assert report.status == "failed" and report.score == pytest.approx(0.6)
    output = report.tests[0].output
    assert "Line 1: CORRECT" in output and "Line 2: INCORRECT (Expected: 'Perimeter:" in output
    assert output.rstrip().endswith("Unit Test Returned: 60")
    crash = grade(lab.solution.replace("height = int", "height = 1 / 0 + int"), lab)
    assert crash.score == pytest.approx(0.0)
    assert 'File "lab_area.py", line 2' in crash.tests[0].output
    assert "ZeroDivisionError: division by zero" in crash.tests[0].output


def test_script_helpers_are_importable_both_ways() -> None:
    script = (
        "import autograder\nfrom cs110 import autograder as ag\n"
        "def test_passed():\n"
        "    assert autograder is ag\n"
        "    out, err = ag.run_script('p.py', [4])\n"
        "    ok = ag.equals(float(out.split()[-1]), 16.004) and ag.code_compiles('p.py')\n"
        "    ag.print_styled('bold', 'styled', '!\\n')\n"
        "    return 100 if ok and err == '' else 10\n"
    )
    a = Assignment(id="s", title="s", statement="", limits=FAST,
                   tests=(ScriptTest("script", script, filename="p.py"),))
    program = "import sys\nx = int(input())\nprint('square', x * x)\nsys.exit(0)\n"
    report = grade(program, a)  # run_script catches SystemExit: no traceback, full points
    assert report.status == "passed", report
    assert "styled!" in report.tests[0].output


@pytest.mark.parametrize(
    ("code", "status", "error_type", "line"),
    [
        ("def add(a, b)\n    return a + b\n", "syntax_error", "SyntaxError", 1),
        ("def add(a, b):\n  return a\n   x = 1\n", "syntax_error", "IndentationError", 3),
        ("x = 1\ny = x / 0\ndef add(a, b):\n    return a + b\n", "runtime_error",
         "ZeroDivisionError", 2),
        ("def add(a, b):\n    while True:\n        pass\n", "timeout", "Timeout", None),
        ("def add(a, b):\n    return [0] * (10 ** 10)\n", "memory_error", "MemoryError", 2),
        ("def add(a, b):\n    print('x' * 5000)\n", "output_limit", "OutputLimit", None),
        ("import os\ndef add(a, b):\n    os._exit(3)\n", "crashed", "Crashed", None),
    ],
)
def test_program_level_statuses(code: str, status: str, error_type: str, line: int | None) -> None:
    report = grade(code, ADD)
    assert report.status == status
    assert report.error_type == error_type
    assert report.line == line
    assert report.score == 0.0 and report.passed == 0


def test_runtime_error_line_is_the_students_and_reads_like_cpython() -> None:
    report = grade("def add(a, b):\n    items = []\n    return items[a]\n", ADD)
    assert report.status == "failed"
    assert report.tests[0].error == "IndexError: list index out of range"
    assert report.tests[0].line == 3


def test_too_large_never_runs() -> None:
    small = Assignment(id="t", title="t", statement="", entry_point="add", tests=ADD.tests,
                       limits=Limits(code_bytes=100))
    report = grade(GOOD_ADD + "#" * 200, small)
    assert report.status == "too_large" and report.layers == ()


def test_always_equal_object_is_forbidden_in_check_tests() -> None:
    code = "class Yes:\n    def __eq__(self, other):\n        return True\ndef f(x):\n    return Yes()\n"
    assert grade(code, DOUBLE).status == "forbidden"
    sub = "class Two(int):\n    def __eq__(self, other):\n        return True\ndef f(x):\n    return Two(0)\n"
    assert grade(sub, DOUBLE).status == "forbidden"
    # In call tests such an object can never equal the expected value (exact types).
    report = grade("class Yes:\n    def __eq__(s, o):\n        return True\ndef add(a, b):\n"
                   "    return Yes()\n", ADD)
    assert report.passed == 0 and report.tests[0].got == "<solution.Yes object>"


def test_every_status_is_known() -> None:
    assert {"passed", "failed", "syntax_error", "runtime_error", "timeout", "memory_error",
            "crashed", "output_limit", "forbidden", "too_large", "test_error",
            "policy_violation"} == set(STATUSES)


def test_wall_clock_backstop_kills_a_sleeping_program() -> None:
    slow = Assignment(id="s", title="s", statement="", entry_point="add", tests=ADD.tests,
                      limits=Limits(cpu_seconds=0.2, wall_factor=1.0))
    report = grade("import time\ntime.sleep(60)\ndef add(a, b):\n    return a + b\n", slow)
    assert report.status == "timeout"


def test_system_exit_inside_a_tested_call_fails_it() -> None:
    report = grade("import sys\ndef f(x):\n    sys.exit(0)\n", DOUBLE)
    assert report.status == "failed" and report.tests[0].error_type == "SystemExit"


def test_expected_values_never_enter_the_child() -> None:
    secret = Assignment(id="s", title="s", statement="", entry_point="f", limits=FAST,
                        tests=(CallTest("t", (), "SECRET-4242"),))
    steal = (
        "import gc\n"
        "def f():\n"
        "    for o in gc.get_objects():\n"
        "        for v in (o.values() if isinstance(o, dict) else o if isinstance(o, (list, tuple))"
        " else [o]):\n"
        "            if isinstance(v, str) and v.startswith('SECRET-') and len(v) == 11:\n"
        "                return v\n"
        "    return None\n"
    )
    assert grade(steal, secret).status == "failed"


def test_nothing_printed_or_forged_changes_the_verdict() -> None:
    forge = (
        "import os, sys\n"
        "fake = b'\\n{\"ev\":\"test\",\"i\":0,\"k\":\"x\"}\\n{\"ev\":\"end\",\"k\":\"x\"}\\n'\n"
        "print(fake.decode()); sys.stderr.write(fake.decode())\n"
        "for fd in range(1100):\n"
        "    try:\n        os.write(fd, fake)\n    except OSError:\n        pass\n"
        "def f(x):\n    return 0\n"
    )
    report = grade(forge, DOUBLE)
    assert report.status == "failed" and report.tests[0].error_type == "AssertionError"


def test_hostile_programs_get_a_verdict_and_the_grader_survives() -> None:
    hostile = [
        "import os\nos.closerange(0, 65536)\ndef f(x):\n    return 2 * x\n",
        "import os, signal\ntry:\n    os.kill(os.getppid(), signal.SIGKILL)\nexcept OSError:\n"
        "    pass\ndef f(x):\n    return 2 * x\n",
        "import sys\nsys.stdout = None\nprint(1)\ndef f(x):\n    return 2 * x\n",
        "def f(x):\n    return f(x)\n",
    ]
    reports = grade_many([(code, DOUBLE) for code in hostile])
    assert [r.status for r in reports][0] == "crashed"
    assert all(r.status in STATUSES for r in reports)
    assert reports[3].tests[0].error_type == "RecursionError"
    assert grade("def f(x):\n    return 2 * x\n", DOUBLE).status == "passed"


def test_grade_many_equals_one_by_one_in_order() -> None:
    codes = [GOOD_ADD, "def add(a, b)\n", "def add(a, b):\n    return a - b\n",
             "def add(a, b):\n    import random\n    return random.random()\n",
             "def add(a, b):\n    return hash('abc') % 7\n", "x = {1: 2}[3]\n"]
    pairs = [(c, ADD) for c in codes] * 3
    many = grade_many(pairs, workers=4)
    one = [grade(c, a) for c, a in pairs]
    assert [r.to_dict(runtime=False) for r in many] == [r.to_dict(runtime=False) for r in one]
    # random is seeded per run and the hash seed is fixed: repeated runs agree exactly.
    assert many[3].tests[0].got == many[9].tests[0].got == many[15].tests[0].got


def test_grade_many_equals_one_by_one_for_io_and_scripts() -> None:
    lab = example_assignments()["lab_area"]
    pairs = [("n = int(input())\nprint(n * 2)\n", ECHO), ("print(input() * 2)\n", ECHO),
             (lab.solution, lab), (lab.solution.replace("width * height", "width"), lab),
             ("import random\nprint(random.randint(1, 10 ** 9))\n", ECHO)] * 2
    many = grade_many(pairs, workers=3)
    one = [grade(c, a) for c, a in pairs]
    assert [r.to_dict(runtime=False) for r in many] == [r.to_dict(runtime=False) for r in one]
    assert [r.status for r in many[:5]] == ["passed", "failed", "passed", "failed", "failed"]


def test_layers_include_the_baseline() -> None:
    layers = grade(GOOD_ADD, ADD).layers
    assert {"process_group", "rlimits", "scrubbed_env", "private_tmp"} <= set(layers)


def test_io_program_that_always_raises_is_a_runtime_error() -> None:
    report = grade("n = int(input())\nprint(n / 0)\n", ECHO)
    assert report.status == "runtime_error"
    assert (report.error, report.line) == ("ZeroDivisionError: division by zero", 2)


def test_timeout_keeps_the_tests_finished_before_it() -> None:
    code = "def add(a, b):\n    while a == 2:\n        pass\n    return a + b\n"
    report = grade(code, ADD)
    assert report.status == "timeout"
    assert [t.passed for t in report.tests] == [True, False, False]
    assert report.score == pytest.approx(1 / 3)


def test_a_program_that_kills_the_server_is_crashed_and_the_rest_still_graded(monkeypatch) -> None:
    from student_gym.grader.client import ServerClient
    from student_gym.grader.verdict import build_report, make_job, wall_limit

    # Without the isolation layers (uid drop, seccomp, Landlock...) a child can kill its parent.
    monkeypatch.setenv("STUDENT_GYM_ISOLATION_DISABLE", ",".join(_ISOLATION_LAYERS))
    killer = "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\ndef f(x):\n    return 2 * x\n"
    good = "def f(x):\n    return 2 * x\n"
    codes = [good, killer, good, good]
    client = ServerClient()
    try:
        outcomes = client.run([make_job(c, DOUBLE) for c in codes], [wall_limit(DOUBLE)] * 4, 2)
    finally:
        client.stop()
    statuses = [build_report(DOUBLE, o).status for o in outcomes]
    assert statuses == ["passed", "crashed", "passed", "passed"]


def test_hash_seed_is_fixed_across_servers() -> None:
    from student_gym.grader.client import ServerClient
    from student_gym.grader.verdict import build_report, make_job, wall_limit

    code = "def add(a, b):\n    return hash('student') % 1000003\n"
    client = ServerClient()
    try:
        outcome = client.run([make_job(code, ADD)], [wall_limit(ADD)], 1)[0]
    finally:
        client.stop()
    fresh = build_report(ADD, outcome).tests[0].got
    assert fresh == grade(code, ADD).tests[0].got


def test_without_pidfds_the_server_reaps_on_sigchld(monkeypatch) -> None:
    from student_gym.grader.client import ServerClient
    from student_gym.grader.verdict import build_report, make_job, wall_limit

    monkeypatch.setenv("STUDENT_GYM_NO_PIDFD", "1")  # the path other platforms take
    codes = [GOOD_ADD, "import os\nos._exit(3)\n", "def add(a, b):\n    while True:\n        pass\n",
             "def add(a, b):\n    return a - b\n"]
    client = ServerClient()
    try:
        outcomes = client.run([make_job(c, ADD) for c in codes], [wall_limit(ADD)] * 4, 2)
    finally:
        client.stop()
    statuses = [build_report(ADD, o).status for o in outcomes]
    assert statuses == ["passed", "crashed", "timeout", "failed"]


def test_a_sandbox_that_fails_in_the_child_is_the_graders_error(tmp_path) -> None:
    import os

    from student_gym.grader import child
    from student_gym.grader.client import Outcome
    from student_gym.grader.verdict import SandboxError, build_report

    class BrokenIsolation:
        @staticmethod
        def enter_child_sandbox(limits: Limits, workdir: str, ruleset_fds: tuple[int, ...] = (),
                                uid: int | None = None) -> tuple[str, ...]:
            raise OSError("landlock refused")

    read_fd, write_fd = os.pipe()
    job_read, job_write = os.pipe()
    devnull = os.open(os.devnull, os.O_RDWR)
    plan = child.plan_child({"limits": {"cpu_seconds": 1.0}})
    pid = os.fork()
    if pid == 0:  # the child never returns: child_main ends with os._exit
        child._isolation = BrokenIsolation()
        child.child_main("child", child.ChildFds(job_read, write_fd), str(tmp_path), devnull, plan)
    for fd in (write_fd, job_read, job_write):
        os.close(fd)
    out = b""
    while chunk := os.read(read_fd, 65536):
        out += chunk
    os.close(read_fd)
    os.close(devnull)
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 71
    with pytest.raises(SandboxError, match="landlock refused"):
        build_report(ADD, Outcome(out=out, exit=71))
    # The same message written by a program (after "hello") is not believed.
    forged = b'\n{"ev":"hello","layers":[]}\n' + out
    assert build_report(ADD, Outcome(out=forged, exit=71)).status == "crashed"

"""Hostile and faulty programs against the real grader, each asserting the verdict.

Every behaviour is graded twice in one ``grade_many`` call: beside a wrong answer (the verdict
must not be a pass) and beside a correct one (the grader must still return a proper report,
not crash). After each case the grader must have left no process behind, no file outside
its temp dir must have changed, and the grader must still grade a correct program.
"""

from __future__ import annotations

import json
import os
import textwrap
import uuid

import pytest

from student_gym import Assignment, grade, grade_many
from student_gym.grader import STATUSES
from student_gym.grader.assignment_files import example_assignments
from student_gym.grader.assignments import CallTest, CheckTest, IOTest, Limits
from student_gym.grader.client import get_client

LIMITS = Limits(cpu_seconds=0.5, wall_factor=2.0, memory_mb=256, output_bytes=16 * 1024)
ADD = Assignment(
    id="add",
    title="Add two numbers",
    statement="Write add(a, b).",
    entry_point="add",
    tests=(
        CallTest("small", (1, 2), 3),
        CallTest("zero", (-5, 5), 0),
        CallTest("hidden", (10, 20), 30, hidden=True),
    ),
    limits=LIMITS,
)
ADD_CHECK = Assignment(
    id="add_check",
    title="Add two numbers (asserts)",
    statement="Write add(a, b).",
    entry_point="add",
    tests=(
        CheckTest(
            "asserts",
            "def check(candidate):\n    assert candidate(1, 2) == 3\n"
            "    assert candidate(2, 2) == 4\n",
        ),
    ),
    limits=LIMITS,
)
ECHO = Assignment(
    id="echo_sum",
    title="Sum of input",
    statement="Read two lines with numbers and print their sum.",
    tests=(IOTest("one", "1\n2\n", "3\n"), IOTest("two", "5\n5\n", "10\n")),
    limits=LIMITS,
)

RIGHT = "def add(a, b):\n    {call}\n    return a + b\n"
WRONG = "def add(a, b):\n    {call}\n    return a - b\n"

# name -> (code at module level after the function, code run inside every call)
CASES: dict[str, tuple[str, str]] = {
    "busy_loop": ("while True:\n    pass", "pass"),
    "busy_loop_in_call": ("", "while True:\n        pass"),
    "sleeping_loop": ("import time\nwhile True:\n    time.sleep(0.05)", "pass"),
    "deep_recursion": ("def f(n):\n    return f(n + 1)\nf(0)", "pass"),
    "c_level_recursion": (
        "import sys\nsys.setrecursionlimit(10**7)\ndef f(n):\n    return f(n + 1)\nf(0)",
        "pass",
    ),
    "nested_repr": ("x = []\nfor _ in range(200000):\n    x = [x]\nprint(x)", "pass"),
    "segfault": ("import ctypes\nctypes.string_at(0)", "pass"),
    "memory_bomb": ("x = bytearray(10**10)", "pass"),
    "memory_growth": ("x = []\nwhile True:\n    x.append(' ' * 10**6)", "pass"),
    "fork": ("import os\nos.fork()", "pass"),
    "fork_bomb_in_call": (
        "",
        "import os\n    for _ in range(50):\n        try:\n"
        "            os.fork()\n        except OSError:\n            pass",
    ),
    "os_system": ("import os\nos.system('echo pwned > {marker}')", "pass"),
    "subprocess": (
        "import subprocess\nsubprocess.run(['sh', '-c', 'echo pwned > {marker}'])",
        "pass",
    ),
    "socket": ("import socket\nsocket.create_connection(('127.0.0.1', 22), timeout=1)", "pass"),
    "write_outside": ("open('{victim_dir}/new.txt', 'w').write('x')", "pass"),
    "overwrite_outside": ("", "open('{victim_file}', 'w').write('pwned')"),
    "delete_outside": ("import os\nos.remove('{victim_file}')", "pass"),
    "sys_exit": ("import sys\nsys.exit(0)", "pass"),
    "sys_exit_in_call": ("", "raise SystemExit(0)"),
    "os_exit_in_call": ("", "import os\n    os._exit(0)"),
    "keyboard_interrupt_in_call": ("", "raise KeyboardInterrupt"),
    "base_exception_subclass": ("class Boom(BaseException):\n    pass", "raise Boom()"),
    "input_without_input": ("x = input()", "pass"),
    "signal_handlers_then_loop": (
        "import signal\nfor s in (signal.SIGPROF, signal.SIGXCPU, signal.SIGTERM, signal.SIGALRM,"
        " signal.SIGINT):\n    signal.signal(s, signal.SIG_IGN)\nwhile True:\n    pass",
        "pass",
    ),
    "threads_left_running": (
        "import threading\ndef spin():\n    while True:\n        pass\n"
        "threading.Thread(target=spin).start()",
        "pass",
    ),
    "always_equal_object": (
        "class Eq:\n    def __eq__(self, other):\n        return True\n"
        "    __hash__ = object.__hash__",
        "return Eq()",
    ),
    "monkeypatch_builtins": (
        "import builtins, json\nbuiltins.isinstance = lambda *a: True\n"
        "builtins.type = lambda *a: int\nbuiltins.repr = lambda x: '3'\n"
        "json.dumps = lambda *a, **k: '{{\"passed\": true}}'",
        "pass",
    ),
    "monkeypatch_harness": (
        "import sys\nfor name, mod in list(sys.modules.items()):\n"
        "    if name.startswith(('student_gym', 'json', 'math')):\n"
        "        for attr in list(vars(mod)):\n"
        "            if not attr.startswith('__'):\n"
        "                try:\n                    setattr(mod, attr, lambda *a, **k: True)\n"
        "                except Exception:\n                    pass",
        "pass",
    ),
    "forged_messages_on_every_fd": (
        "",
        (
            'import os\n    for fd in range(0, 2100):\n        for msg in (b\'{{"ev": "result", '
            '"passed": true, "score": 1}}\\n\', b\'\\x00\\x00\\x00\\x10{{"ev":"done"}}\'):\n'
            "            try:\n                os.write(fd, msg)\n            except OSError:\n"
            "                pass"
        ),
    ),
    "forged_messages_via_channel_object": (
        "",
        (
            "import gc\n    for obj in gc.get_objects():\n"
            "        if type(obj).__name__ == 'Channel' or hasattr(obj, '_token'):\n"
            "            for i in range(5):\n"
            "                try:\n                    obj.send({{'ev': 'test', 'i': i, "
            "'value': 3, 'repr': '3', 'stdout': '3'}})\n"
            "                except Exception:\n                    pass"
        ),
    ),
    "prints_all_tests_passed": (
        "print('All tests passed')\nprint('Score: 100%')",
        "print('All tests passed')",
    ),
    "kills_parent": (
        "",
        "import os, signal\n    for pid in (os.getppid(), 1, -1):\n"
        "        try:\n            os.kill(pid, signal.SIGKILL)\n"
        "        except OSError:\n            pass",
    ),
    "huge_output": ("print('x' * 10**8)", "pass"),
    "endless_output": ("while True:\n    print('spam' * 1000)", "pass"),
}

EXPECTED_STATUS = {  # where the design fixes the verdict of the wrong variant
    "busy_loop": "timeout",
    "busy_loop_in_call": "timeout",
    "sleeping_loop": "timeout",
    "signal_handlers_then_loop": "timeout",
    "segfault": "crashed",
    "memory_bomb": "memory_error",
    # 1 MB appends may reach the CPU limit first on a loaded machine: either verdict is honest.
    "memory_growth": ("memory_error", "timeout"),
    "huge_output": "output_limit",
    "endless_output": "output_limit",
}


@pytest.fixture
def victim(tmp_path):
    """A world-writable directory with one world-writable file the programs try to hurt."""
    victim_dir = tmp_path / f"victim-{uuid.uuid4().hex[:8]}"
    victim_dir.mkdir()
    os.chmod(tmp_path, 0o755)
    os.chmod(victim_dir, 0o777)
    victim_file = victim_dir / "keep.txt"
    victim_file.write_text("keep")
    os.chmod(victim_file, 0o666)
    marker = tmp_path / "pwned.txt"
    return {"victim_dir": str(victim_dir), "victim_file": str(victim_file), "marker": str(marker)}


def build(template: str, case: str, paths: dict[str, str]) -> str:
    module_code, call_code = CASES[case]
    program = template.format(call=call_code.format(**paths)) + "\n" + module_code.format(**paths)
    return program + "\n"


def server_children() -> list[str]:
    """The grader's children still alive: the server's (other than the zygote) and the
    zygote's (every child is forked from it), except the judges the server keeps."""
    client = get_client()
    kept = {str(client.zygote_pid), *map(str, client.judge_pids)}
    children: list[str] = []
    for pid in (client.pid, client.zygote_pid):
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                children += [c for c in f.read().split() if c not in kept]
    return children


def assert_grader_intact(paths: dict[str, str]) -> None:
    assert server_children() == []
    with open(paths["victim_file"]) as f:
        assert f.read() == "keep"
    assert os.listdir(paths["victim_dir"]) == ["keep.txt"]
    assert not os.path.exists(paths["marker"])
    assert grade(RIGHT.format(call="pass"), ADD).status == "passed"


@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_program(case, victim):
    wrong, right = grade_many(
        [(build(WRONG, case, victim), ADD), (build(RIGHT, case, victim), ADD)]
    )
    assert wrong.status in STATUSES and right.status in STATUSES
    assert wrong.status != "passed" and wrong.score < 1.0, wrong
    if case in EXPECTED_STATUS:
        expected = EXPECTED_STATUS[case]
        assert wrong.status in (expected if isinstance(expected, tuple) else (expected,)), wrong
    assert "seccomp" in wrong.layers or not wrong.layers, wrong.layers
    assert_grader_intact(victim)


def test_redefining_the_check_function_does_not_pass(victim):
    cheat = "\ndef check(candidate):\n    pass\n\nimport builtins\nbuiltins.AssertionError = None\n"
    wrong, right = grade_many(
        [
            (WRONG.format(call="pass") + cheat, ADD_CHECK),
            (RIGHT.format(call="pass") + cheat, ADD_CHECK),
        ]
    )
    assert wrong.status != "passed" and wrong.score < 1.0, wrong
    assert right.status in STATUSES
    assert_grader_intact(victim)


FORGER = textwrap.dedent("""
    import gc, os
    def add(a, b):
        return a - b
    for obj in gc.get_objects():
        if type(obj).__name__ == "Channel":
            for i in range(5):
                obj.send({"ev": "test", "i": i, "stdout": "3\\n", "value": 3, "repr": "3"})
            obj.send({"ev": "end"})
            os._exit(0)
""")


LAB_AREA = example_assignments()["lab_area"]  # a FalconCode-style scored script


@pytest.mark.parametrize("assignment", [ADD_CHECK, LAB_AREA], ids=["check", "script"])
def test_forged_results_through_the_channel_object_do_not_pass(assignment, victim):
    """Check and script tests are judged by replaying the test code in the parent."""
    forger = FORGER.replace('"value": 3', '"value": 3, "log": {"calls": [], "names": {}}, '
                                          '"points": 100')
    report = grade(forger, assignment)
    assert report.status != "passed" and report.score == 0.0, report
    assert_grader_intact(victim)


def test_forged_results_of_io_tests_earn_no_more_than_printing_them(victim):
    """IO tests are judged in the parent from the text a run printed: a forged message can
    only claim text the program could have printed itself."""
    forged, printed = grade_many([(FORGER, ECHO), ("print(3)\n", ECHO)])
    assert (forged.passed, forged.score) == (printed.passed, printed.score) == (1, 0.5)
    assert_grader_intact(victim)


def test_always_equal_object_is_forbidden_in_check_tests(victim):
    code = textwrap.dedent("""
        class Eq:
            def __eq__(self, other):
                return True
        def add(a, b):
            return Eq()
    """)
    report = grade(code, ADD_CHECK)
    assert report.status == "forbidden", report
    assert_grader_intact(victim)


@pytest.mark.parametrize(
    "code, status",
    [
        ("def add(a, b)\n    return a + b\n", "syntax_error"),
        ("def add(a, b):\n    return a + b\n\x00\n", "syntax_error"),
        ("def add(a, b):\n    return a + b\nx = 1 +\n", "syntax_error"),
        ("x = 1\n" * 200_000 + "def add(a, b):\n    return a + b\n", "too_large"),
    ],
    ids=["syntax", "nul_byte", "syntax_after_def", "megabyte_code"],
)
def test_programs_that_cannot_run(code, status, victim):
    report = grade(code, ADD)
    assert report.status == status, report
    assert report.score == 0.0
    assert_grader_intact(victim)


def test_lone_surrogates_in_code_and_output(victim):
    cases = [
        "def add(a, b):\n    return a - b\ns = '\ud800'\n",
        "def add(a, b):\n    print('\udcff')\n    return a - b\n",
        "def add(a, b):\n    return '\ud800'\n",
    ]
    for report in grade_many([(code, ADD) for code in cases]):
        assert report.status in STATUSES and report.status != "passed", report
        json.dumps(report.to_dict())  # the report itself must stay serialisable
    assert_grader_intact(victim)


def test_input_with_no_input_and_io_forgery(victim):
    reports = grade_many(
        [
            ("x = input()\ny = input()\nz = input()\nprint(int(x) + int(y) + 1)\n", ECHO),
            ("print('3')\nprint('All tests passed')\n", ECHO),
            ("import sys\nsys.stdout.write('3\\n')\nsys.stdout.close()\n", ECHO),
        ]
    )
    assert [r.status != "passed" for r in reports] == [True, True, True], reports
    assert_grader_intact(victim)


def test_grader_environment_does_not_leak_into_feedback(monkeypatch, victim):
    secret = f"sg-secret-{uuid.uuid4().hex}"
    monkeypatch.setenv("STUDENT_GYM_TEST_SECRET", secret)
    get_client().stop()  # the next grade starts a server that inherits the secret
    probe = textwrap.dedent("""
        import os, ctypes
        def read(path):
            try:
                with open(path, 'rb') as f:
                    return f.read().decode('latin-1')
            except OSError as exc:
                return repr(exc)
        def add(a, b):
            stat = read('/proc/self/stat')  # unreadable under Landlock's read rules
            fields = stat.rsplit(')', 1)[1].split() if ')' in stat[-60:] else []
            start, end = (int(fields[47]), int(fields[48])) if fields else (0, 0)
            memory = ctypes.string_at(start, end - start).decode('latin-1') if start else ''
            try:
                others = [read(f'/proc/{p}/cmdline') for p in os.listdir('/proc') if p.isdigit()]
            except OSError as exc:  # Landlock: /proc is not readable at all
                others = [repr(exc)]
            return ' '.join([str(dict(os.environ)), read('/proc/self/environ'),
                             read(f'/proc/{os.getppid()}/environ'), memory, *others])
    """)
    report = grade(probe, ADD)
    assert report.status == "failed", report
    assert report.tests[0].got  # the probe's findings are in the feedback...
    assert secret not in json.dumps(report.to_dict())  # ...but not the grader's secret
    assert secret not in report.feedback
    with open("/proc/self/cmdline", "rb") as f:  # nor the command line of the grading process
        own_cmdline = f.read().replace(b"\0", b" ").decode().strip()
    assert own_cmdline not in json.dumps(report.to_dict())
    assert_grader_intact(victim)


def test_temp_dir_is_removed_even_when_the_program_locks_it(victim):
    code = textwrap.dedent("""
        import os
        for i in range(20):
            os.makedirs(f'd{i}/sub', exist_ok=True)
            open(f'd{i}/sub/f.txt', 'w').write('x' * 1000)
            os.chmod(f'd{i}/sub', 0)
            os.chmod(f'd{i}', 0o500)
        def add(a, b):
            return os.getcwd()
    """)
    report = grade(code, ADD)
    workdir = report.tests[0].got.strip("'\"")
    assert workdir.startswith("/") and report.status == "failed"
    # Gone, or (a tmpfs was mounted on it) an empty mount point seen from outside.
    assert not os.path.exists(workdir) or os.listdir(workdir) == []
    assert_grader_intact(victim)


def test_command_line_of_the_grading_process_is_hidden(victim):
    code = textwrap.dedent(f"""
        def add(a, b):
            try:
                with open('/proc/{os.getpid()}/cmdline') as f:
                    return f.read()[:300]
            except OSError as exc:
                return type(exc).__name__
    """)
    report = grade(code, ADD)
    assert report.status == "failed"
    # hidden by the private /proc (root) or unreadable under Landlock's read rules
    assert report.tests[0].got in ("'FileNotFoundError'", "'PermissionError'"), report.tests[0].got
    assert_grader_intact(victim)


def test_grade_refuses_an_incomplete_sandbox_unless_unsafe(monkeypatch, victim):
    monkeypatch.setenv("STUDENT_GYM_ISOLATION_DISABLE", "seccomp")
    monkeypatch.delenv("STUDENT_GYM_UNSAFE", raising=False)
    get_client().stop()  # the next server starts without seccomp
    try:
        with pytest.raises(RuntimeError, match="refusing to grade untrusted code"):
            grade(RIGHT.format(call="pass"), ADD)
        report = grade(RIGHT.format(call="pass"), ADD, unsafe=True)
        assert report.status == "passed" and "seccomp" not in report.layers
    finally:
        get_client().stop()  # later tests get a server with every layer again


def test_a_child_cannot_list_its_siblings_directories(victim):
    """Every child has a directory of its own under a common root: the root cannot be listed,
    the child's own slot shows nothing but its own directory, and a sibling's slot (whose name
    is guessable: slots are numbered) can be neither listed nor entered."""
    code = textwrap.dedent("""
        import os
        def listing(path):
            try:
                return os.listdir(path)
            except OSError as exc:
                return type(exc).__name__
        def add(a, b):
            here = os.path.abspath(".")
            slot = os.path.dirname(here)
            root = os.path.dirname(slot)
            others = [listing(os.path.join(root, str(i))) for i in range(8)
                      if os.path.join(root, str(i)) != slot]
            others += [listing(os.path.join(root, str(i), "w")) for i in range(8)
                       if os.path.join(root, str(i)) != slot]
            return [os.path.isdir(here), listing(root), listing(slot) in (["w"], "PermissionError"),
                    sorted(set(others))]
    """)
    probe = Assignment(id="probe", title="p", statement="p", entry_point="add",
                       tests=(CallTest("c", (1, 2), [True, "PermissionError", True, []]),),
                       limits=LIMITS)
    reports = grade_many([(code, probe)] * 3 + [(code + "# 2", probe)], workers=2)
    for report in reports:
        got = eval(report.tests[0].got)  # noqa: S307 - our own program's plain data
        assert got[:3] == [True, "PermissionError", True], got
        assert set(got[3]) <= {"PermissionError", "FileNotFoundError"}, got
    assert_grader_intact(victim)

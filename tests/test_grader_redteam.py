"""Red-team attacks on the sandboxed grader, as plain Python submissions.

Each test asserts the SAFE behaviour. Tests marked "works today" in their docstring fail on
the tree they were written against (the attack succeeds); the others are attacks that are
contained, kept as regression tests. Each test's docstring names the attack and the behaviour
that contains it.

Some attacks need the judge or the child to burn real CPU; their assignments get a generous
wall-clock factor so the result does not depend on how loaded the machine is (the attacks
work with the default limits on an idle machine).
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import pytest

from student_gym import Assignment, grade, grade_many
from student_gym.grader import wire
from student_gym.grader.assignments import CallTest, CheckTest, IOTest, Limits
from student_gym.grader.client import Outcome, ServerClient
from student_gym.grader.verdict import SandboxError, build_report, make_job, wall_limit

ROOT = os.geteuid() == 0
LIMITS = Limits(cpu_seconds=1.0, wall_factor=3.0)
PATIENT = Limits(cpu_seconds=1.0, wall_factor=30.0)  # CPU-burning attacks: load-independent
ADD_CHECK = ("def check(candidate):\n"
             "    assert candidate(1, 2) == 3\n"
             "    assert candidate(20, 22) == 42\n")
CHECK = Assignment(id="add_check", title="add", statement="Write add(a, b).", entry_point="add",
                   tests=(CheckTest("asserts", ADD_CHECK),),
                   solution="def add(a, b):\n    return a + b\n", limits=LIMITS)
# An easy call test next to a hard check test (any mix of tests a program can pass and tests
# the judge runs).
MIXED = Assignment(id="mixed", title="add", statement="Write add(a, b).", entry_point="add",
                   tests=(CallTest("easy", (0, 0), 0), CheckTest("hard", ADD_CHECK)),
                   solution="def add(a, b):\n    return a + b\n", limits=LIMITS)
# Two check tests: the first is easy (add(0, 0) == 0), the second needs the real logic.
TWO_CHECKS = Assignment(
    id="two_checks", title="add", statement="Write add(a, b).", entry_point="add",
    tests=(CheckTest("zero", "def check(candidate):\n    assert candidate(0, 0) == 0\n"),
           CheckTest("real", ADD_CHECK)),
    solution="def add(a, b):\n    return a + b\n", limits=LIMITS)
GOOD = "def add(a, b):\n    return a + b\n"


def probe(code: str, limits: Limits = LIMITS) -> str:
    """Run ``code`` (which sets ``RESULT``, a short string) and return RESULT as printed."""
    assignment = Assignment(id="probe", title="probe", statement="", limits=limits,
                            tests=(IOTest("t", "", "never"),))
    report = grade(code + "\nprint(RESULT)\n", assignment)
    assert report.tests[0].got is not None, report
    return report.tests[0].got.strip()


# -- 1. broken-test laundering: a program makes the judge classify its test as broken -----------

MODULE_ENTRY = "import types\nadd = types.ModuleType('add')\n"
CALLABLE_MODULE = textwrap.dedent("""
    import types
    class Callable(types.ModuleType):
        def __call__(self, a, b):
            return 0
    add = Callable('add')
""")
SWAP_AFTER_FIRST_TEST = textwrap.dedent("""
    import types
    def add(a, b):
        globals()['add'] = types.ModuleType('add')  # the next test's listing: a module
        return 0
""")


def test_a_module_typed_entry_point_is_the_programs_fault_not_a_broken_test():
    """Works today: the listing sends a module as {"module": 1}, the judge hands the test an
    Opaque, calling it raises TypeError before any answer counted, so the test is 'broken'."""
    report = grade(MODULE_ENTRY, CHECK)
    assert report.tests[0].status == "failed", report.tests[0]
    assert report.status == "failed" and report.score == 0.0


@pytest.mark.parametrize(("code", "assignment"), [(CALLABLE_MODULE, MIXED),
                                                  (SWAP_AFTER_FIRST_TEST, TWO_CHECKS)],
                         ids=["callable_module_mixed", "swap_after_first_test"])
def test_no_full_score_by_making_the_hard_test_look_broken(code, assignment):
    """Works today: the hard test becomes test_error, is left out of total, and a program with
    no task logic gets status passed, score 1.0."""
    report = grade(code, assignment)
    assert report.status != "passed" and report.score != 1.0, report
    assert all(t.status != "test_error" for t in report.tests), report.tests


JUDGE_FLOOD = textwrap.dedent("""
    import sys
    JUNK = b'\\n{"a":[' + b','.join([b'[]'] * 1300000) + b']}\\n'  # < 4 MiB, slow to parse
    def add(a, b):
        frame = sys._getframe(1)
        while frame is not None and 'replies' not in frame.f_locals:
            frame = frame.f_back
        if frame is not None:  # the harness's pipe to the judge
            replies = frame.f_locals['replies']
            try:
                for _ in range(12):
                    replies._write(replies._fd, JUNK)
            except OSError:
                pass
        return 0
""")


@pytest.mark.parametrize("assignment", [CHECK, MIXED], ids=["check", "mixed"])
def test_flooding_the_judge_with_unreadable_lines_does_not_break_the_test(assignment):
    """Works today: each junk line (no "q") costs the judge ~1-2 s of CPU in read_message and
    up to 1,000 are skipped per answer; SIGXCPU -> JudgeTimeout -> 'TestTimeout', broken."""
    report = grade(JUDGE_FLOOD, replace(assignment, limits=PATIENT))
    assert all(t.status != "test_error" for t in report.tests), report.tests
    assert report.status != "passed" and report.score != 1.0, report


# -- 2. timeouts that do not count --------------------------------------------------------------

SLOW = textwrap.dedent("""
    import time
    def f(x):
        start = time.process_time()
        while time.process_time() - start < 2.2:  # 2.2 s of CPU with a 1 s limit
            pass
        return x
""")
IGNORE_CPU_SIGNALS = ("import signal\nsignal.signal(signal.SIGPROF, signal.SIG_IGN)\n"
                      "signal.signal(signal.SIGXCPU, signal.SIG_IGN)\n")


def test_ignoring_the_cpu_timer_signals_does_not_escape_the_timeout():
    """Works today: the timeout is SIGPROF's default action and RLIMIT_CPU's SIGXCPU; a program
    that ignores both runs until the hard limit (ceil(cpu) + 2 s) and, having answered, passes."""
    slow = Assignment(id="slow", title="slow", statement="", entry_point="f", limits=PATIENT,
                      tests=(CallTest("one", (1,), 1),))
    assert grade(SLOW, slow).status == "timeout"  # the honest slow program
    report = grade(IGNORE_CPU_SIGNALS + SLOW, slow)
    assert report.status == "timeout" and report.score != 1.0, report


# -- 3. the machine: memory left behind, siblings, the caller -----------------------------------

SHM_LEAK = textwrap.dedent("""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    libc.shmat.restype = ctypes.c_void_p
    made = []
    for key in (0x5EED0001, 0x5EED0002):
        sid = libc.shmget(key, 32 << 20, 0o1000 | 0o666)  # IPC_CREAT, world-readable
        if sid >= 0:
            addr = libc.shmat(sid, None, 0)
            if addr not in (None, ctypes.c_void_p(-1).value):
                ctypes.memset(addr, 0x41, 32 << 20)  # 32 MiB of real memory each
                ctypes.memmove(addr, b"shm-canary-5eed", 15)
                libc.shmdt(ctypes.c_void_p(addr))
                made.append(sid)
    RESULT = f"made {made}"
""")
SHM_FIND = textwrap.dedent("""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    libc.shmat.restype = ctypes.c_void_p
    info = ctypes.create_string_buffer(256)
    used = libc.shmctl(0, 14, info)  # SHM_INFO: the highest used index, or -1
    used_ids = int.from_bytes(info.raw[:4], 'little') if used >= 0 else 0
    found = b''
    sid = libc.shmget(0x5EED0001, 0, 0)
    if sid >= 0:
        addr = libc.shmat(sid, None, 0)
        if addr not in (None, ctypes.c_void_p(-1).value):
            found = ctypes.string_at(addr, 15)
    RESULT = f"used_ids={used_ids} found={found!r}"
""")


def test_sysv_shared_memory_is_neither_left_behind_nor_shared_between_submissions():
    """Works today: shmget/shmat are allowed and every child shares the server's IPC
    namespace, so segments outlive the child (memory no rlimit or tmpfs bounds: a program can
    leave gigabytes behind) and a later submission reads them."""
    probe(SHM_LEAK)
    later = probe(SHM_FIND)
    assert later == "used_ids=0 found=b''", later


SIGIO_KILL = textwrap.dedent("""
    import fcntl, os, signal
    def sigio(target, signum):
        r, w = os.pipe()
        fcntl.fcntl(r, fcntl.F_SETOWN, target)  # the kernel signals the owner on I/O
        fcntl.fcntl(r, 10, signum)  # F_SETSIG
        fcntl.fcntl(r, fcntl.F_SETFL, fcntl.fcntl(r, fcntl.F_GETFL) | os.O_ASYNC)
        os.write(w, b"x")
    try:
        sigio(TARGET, signal.SIGKILL)
    except OSError:
        pass
    def add(a, b):
        return a + b
""")


def test_sigio_cannot_signal_the_zygote_without_landlock_scoping(monkeypatch):
    """Contained as root (the child's pool uid may not signal uid 0). Works today when the
    grader runs unprivileged on a kernel without Landlock signal scoping (ABI < 6, or no
    Landlock: emulated here by disabling it): F_SETOWN + F_SETSIG(SIGKILL) + O_ASYNC is a
    kill(2) that seccomp's pid check never sees."""
    monkeypatch.setenv("STUDENT_GYM_ISOLATION_DISABLE", "landlock")
    client = ServerClient()
    try:
        client.start()
        zygote = client.zygote_pid
        code = SIGIO_KILL.replace("TARGET", "os.getppid()")
        jobs = [make_job(c, CHECK) for c in (code, GOOD)]
        outcomes = client.run(jobs, [wall_limit(CHECK)] * 2, 2)
        statuses = [build_report(CHECK, o).status for o in outcomes]
        assert zygote is not None
        os.kill(zygote, 0)  # ProcessLookupError: the child killed the process it came from
        assert client.zygote_pid == zygote, "the fork server had to be restarted"
        assert statuses == ["passed", "passed"]
    finally:
        client.stop()


def _unprivileged_command(script: str) -> list[str] | None:
    """A command running ``script`` with this interpreter as uid/gid 65534, or None.

    When the interpreter lives under a directory the user cannot enter (pyenv in /root), a
    private mount namespace lays a tmpfs over that directory with only the way to Python
    bound back (root only)."""
    if os.geteuid() == 65534:  # already the unprivileged user
        return [sys.executable, "-c", script]
    if not (shutil.which("setpriv") and shutil.which("unshare")):
        return None
    blocked = None
    for parent in reversed(Path(sys.base_prefix).resolve().parents):
        if not os.stat(parent).st_mode & stat.S_IXOTH:
            blocked = parent
            break
    if not os.stat(Path(__file__).resolve().parents[1]).st_mode & stat.S_IROTH:
        return None
    run = ("exec setpriv --reuid 65534 --regid 65534 --clear-groups env HOME=/tmp "
           f"PYTHONPATH={Path(__file__).resolve().parents[1]} {sys.executable} -c \"$1\"")
    if blocked is None:
        return ["bash", "-c", run, "_", script]
    if not ROOT:
        return None
    inner = Path(sys.base_prefix).resolve().relative_to(blocked).parts[0]
    keep = f"/tmp/redteam-bind-{os.getpid()}"
    setup = (f"mkdir -p {keep} && mount --bind {blocked}/{inner} {keep} && "
             f"mount -t tmpfs -o mode=755 tmpfs {blocked} && mkdir {blocked}/{inner} && "
             f"mount --bind {keep} {blocked}/{inner} && ")
    return ["unshare", "-m", "--propagation", "private", "bash", "-c", setup + run, "_", script]


KILL_THE_CALLER = textwrap.dedent("""
    import os
    from student_gym import grade
    from student_gym.grader.assignments import Assignment, CheckTest, Limits
    code = {code!r}.replace("TARGET", str(os.getpid()))
    a = Assignment(id="c", title="c", statement="", entry_point="add",
                   tests=(CheckTest("t", {check!r}),), limits=Limits(cpu_seconds=1.0))
    print("report", grade(code, a).status, flush=True)
    print("caller survived", flush=True)
""")


@pytest.mark.skipif(not ROOT and os.geteuid() != 65534, reason="needs root or uid 65534")
def test_an_unprivileged_grader_survives_a_child_signalling_the_caller():
    """Works today (unprivileged grader, no Landlock signal scoping): the child SIGKILLs the
    caller itself, e.g. the training process. Here the caller is a throwaway subprocess that
    runs as uid 65534 with Landlock disabled (= a kernel before 6.12)."""
    script = KILL_THE_CALLER.format(code=SIGIO_KILL, check=ADD_CHECK)
    command = _unprivileged_command(script)
    if command is None:
        pytest.skip("cannot run Python as uid 65534 here")
    env = {**os.environ, "STUDENT_GYM_ISOLATION_DISABLE": "landlock"}
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)
    assert "caller survived" in done.stdout, (done.returncode, done.stdout, done.stderr[-2000:])


# -- 4. the caller's own costs ------------------------------------------------------------------

CHANNEL_FLOOD = textwrap.dedent("""
    import gc
    JUNK = b'\\n{"a":[' + b','.join([b'[]'] * 1300000) + b']}'  # no token needed
    for obj in gc.get_objects():
        if type(obj).__name__ == "Runner":
            for _ in range(2):
                obj.channel._write(obj.channel._fd, JUNK)
    def add(a, b):
        return a + b
""")


def test_the_caller_does_not_parse_megabytes_of_junk_per_submission(monkeypatch):
    """Works today: the server relays up to 6 MiB of a child's channel and the caller parses
    every line with up to 4 MiB / 400,000 values (~2.5 s CPU and ~200 MiB per submission in
    the training process, after the whole batch; a check-only program legitimately sends a
    few hundred bytes)."""
    parsed = []
    real = wire.read_message

    def counting(line: bytes) -> dict:
        parsed.append(len(line))
        return real(line)

    monkeypatch.setattr(wire, "read_message", counting)
    report = grade(CHANNEL_FLOOD, CHECK)
    assert sum(parsed) <= 1 << 20, (sum(parsed), report.status)


def test_a_sandbox_failure_in_the_child_reaches_the_caller():
    """Works today: the child reports a failed sandbox on its channel before it has read its
    job, so without the job's token; child_messages drops every line without the token, the
    SandboxError is never raised and the grader's failure becomes the program's 'crashed'."""
    outcome = Outcome(token="0123abcd", exit=71, out=b'\n{"ev":"sandbox_error",'
                      b'"error":"IsolationError: landlock_restrict_self failed"}\n')
    with pytest.raises(SandboxError):
        build_report(CHECK, outcome)


# -- 5. verdicts that blame the wrong party -----------------------------------------------------

def test_test_code_that_blocks_is_not_the_programs_timeout():
    """Works today: test code that sleeps or blocks uses no CPU, so the judge's RLIMIT_CPU
    never fires; the caller's wall clock kills both and the correct program gets 'timeout'."""
    sleepy = replace(CHECK, id="sleepy", tests=(CheckTest(
        "sleeps", "import time\ndef check(candidate):\n    assert candidate(1, 2) == 3\n"
                  "    time.sleep(60)\n"),))
    report = grade(GOOD, sleepy)
    assert report.status != "timeout" and report.tests[0].status == "test_error", report


DEEP = "def add(a, b):\n    x = 3\n    for _ in range(120):\n        x = [x]\n    return x\n"


def test_a_deep_return_value_fails_the_test_instead_of_hanging_the_judge():
    """Works today: encode() allows 200 levels, wire.read_message 128; the judge drops the
    answer as unreadable and waits for another that never comes, until the wall clock."""
    report = grade(DEEP, CHECK)
    assert report.status == "failed", report


# -- contained attacks, kept as regression tests ------------------------------------------------

def test_an_exception_whose_builtin_base_needs_arguments_fails_normally():
    report = grade("def add(a, b):\n    raise UnicodeDecodeError('utf-8', b'x', 0, 1, 'no')\n",
                   CHECK)
    assert report.status == "failed" and report.tests[0].status == "failed", report


FORGED_SEQUENCE = textwrap.dedent("""
    import sys
    LINES = [b'{"q":0,"r":3}', b'{"q":999,"r":3}', b'{"q":-1,"r":3}', b'{"q":"2","r":3}',
             b'{"q":null,"r":3}', b'{"q":2.0,"r":3}', b'{"q":true,"r":3}', b'{"r":3}']
    def add(a, b):
        frame = sys._getframe(1)
        while frame is not None and 'replies' not in frame.f_locals:
            frame = frame.f_back
        replies = frame.f_locals['replies']
        for line in LINES:  # right answers under sequence numbers the judge did not ask
            replies._write(replies._fd, b'\\n' + line + b'\\n')
        return a - b
""")


def test_forged_or_early_answers_to_the_judge_earn_nothing():
    report = grade(FORGED_SEQUENCE, CHECK)
    assert report.status == "failed" and report.score == 0.0, report


def test_a_batch_mixing_these_attacks_gives_correct_programs_their_solo_reports():
    hostile = [MODULE_ENTRY, CALLABLE_MODULE, SWAP_AFTER_FIRST_TEST, DEEP, FORGED_SEQUENCE,
               CHANNEL_FLOOD, IGNORE_CPU_SIGNALS + "def add(a, b):\n    while True:\n        pass\n"]
    pairs = []
    for code in hostile:
        pairs += [(code, CHECK), (GOOD, MIXED), (code, TWO_CHECKS)]
    reports = grade_many(pairs, workers=2)
    assert len(reports) == len(pairs)
    solo = {a.id: grade(GOOD, a).to_dict(runtime=False) for a in (MIXED,)}
    for (code, assignment), report in zip(pairs, reports, strict=True):
        if code == GOOD:
            assert report.to_dict(runtime=False) == solo[assignment.id]

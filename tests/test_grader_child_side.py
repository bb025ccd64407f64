"""The grader's child side, attacked: a child sees only its own job, reads nothing else, and
cannot touch its siblings (answer keys, inherited memory, shared uids, disk and cleanup).

Every attack is a plain Python submission graded by the real grader; where a program cannot
observe the property itself (a sibling's token in its memory), the test inspects the running
child from outside. ``tests/test_grader_unprivileged.py`` runs this file again as an
unprivileged user.
"""

from __future__ import annotations

import json
import os
import re
import textwrap
import threading
import time
from pathlib import Path

import pytest

import student_gym
from student_gym import Assignment, grade, grade_many
from student_gym.grader import isolation_report, verdict
from student_gym.grader.assignment_files import example_assignments
from student_gym.grader.assignments import CallTest, Limits
from student_gym.grader.client import get_client

ROOT = os.geteuid() == 0
LIMITS = Limits(cpu_seconds=1.0, wall_factor=4.0)
PROBE = Assignment(id="probe", title="probe", statement="", entry_point="f", limits=LIMITS,
                   tests=(CallTest("t", (), "nothing"),))


def answer(code: str, assignment: Assignment = PROBE) -> object:
    """What ``f()`` returned in the sandbox (its repr comes back as the test's ``got``)."""
    report = grade(code, assignment)
    got = report.tests[0].got
    assert got is not None, report.tests[0]
    return eval(got)  # noqa: S307 - a repr of plain data made by the test's own program


needs_landlock = pytest.mark.skipif(
    "landlock_reads" not in isolation_report()["layers"], reason="needs Landlock read rules")


# -- 1. answer keys and other files are unreadable ----------------------------------------------

@needs_landlock
def test_a_program_can_read_no_answer_key_no_canary_and_no_other_file(tmp_path):
    canary = tmp_path / "canary.txt"
    canary.write_text("canary-secret-4412")
    os.chmod(tmp_path, 0o755)
    os.chmod(canary, 0o644)
    package = Path(student_gym.__file__).parent
    targets = [str(canary), str(package / "data" / "examples.json"),
               str(package / "data" / "course" / "course.jsonl.gz"), str(package / "__init__.py"),
               "/etc/passwd", os.getcwd(), str(Path.home())]
    code = textwrap.dedent(f"""
        import importlib.util, os
        def f():
            found = {{}}
            paths = {targets!r}
            for name in ("student_gym", "student_gym.grader", "student_gym_agents"):  # the package's files
                try:
                    spec = importlib.util.find_spec(name)
                    paths += [spec.origin] if spec and spec.origin else []
                except (ValueError, ImportError):
                    pass
            for path in paths:
                try:
                    if os.path.isdir(path):
                        found[path] = os.listdir(path)
                    else:
                        with open(path, "rb") as handle:
                            found[path] = handle.read(64).decode("latin-1")
                except OSError as exc:
                    found[path] = type(exc).__name__
            seen = 0  # a search of the whole file system for the expected value
            for top, dirs, files in os.walk("/"):
                for name in files:
                    try:
                        with open(os.path.join(top, name), "rb") as handle:
                            seen += b"canary-secret" in handle.read(1 << 16)
                    except OSError:
                        pass
            import json, decimal, colorsys  # the standard library stays importable
            refused = ("PermissionError", "FileNotFoundError")
            return {{"walk": seen, "paths": len(found),
                     "read": [p for p, v in found.items() if v not in refused][:3]}}
    """)
    found = answer(code)
    assert found["walk"] == 0 and found["read"] == [], found
    assert found["paths"] > len(targets)  # the package's own files were located, not read


@needs_landlock
def test_expected_values_of_the_bundled_course_cannot_be_found():
    """The program of the original attack: locate the package's data through importlib and
    answer every call from it. Now it finds nothing and fails."""
    lab = example_assignments()["sum_list"]
    code = textwrap.dedent("""
        import glob, importlib.util, json, os
        def sum_list(numbers):
            for root in ("/usr", "/work", "/root", "/tmp", "/home", os.getcwd()):
                for path in glob.glob(root + "/**/examples.json", recursive=True):
                    try:
                        data = json.load(open(path))
                    except OSError:
                        continue
                    for a in data["assignments"]:
                        for t in a["tests"]:
                            if t.get("args") == [numbers]:
                                return t["expected"]
            return None
    """)
    report = grade(code, lab)
    assert report.passed == 0, report


# -- 2. nothing of a sibling is in a child's memory ----------------------------------------------

def _zygote_children() -> list[int]:
    zygote = get_client().zygote_pid
    pids = []
    for tid in os.listdir(f"/proc/{zygote}/task"):
        with open(f"/proc/{zygote}/task/{tid}/children") as f:
            pids += [int(p) for p in f.read().split()]
    return [p for p in pids if p not in get_client().judge_pids]


def _memory(pid: int) -> bytes:
    """Every readable mapping of a process (as root, from outside it)."""
    chunks = []
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as mem:
        for line in maps:
            start, end = (int(x, 16) for x in line.split()[0].split("-"))
            if "r" not in line.split()[1] or end - start > 1 << 30:
                continue
            try:
                mem.seek(start)
                chunks.append(mem.read(end - start))
            except (OSError, ValueError, OverflowError):
                continue
    return b"".join(chunks)


@pytest.mark.skipif(not ROOT, reason="reading another process's memory needs root")
def test_a_childs_whole_memory_holds_no_siblings_code_or_token(monkeypatch):
    tokens: list[str] = []
    make_job = verdict.make_job

    def recording(code: str, assignment: Assignment) -> dict:
        job = make_job(code, assignment)
        tokens.append(job["child"]["token"])
        return job

    monkeypatch.setattr(verdict, "make_job", recording)
    sibling = "def f():\n    return 'sibling-canary-' + '31337'  # sibling-canary-31337\n"
    sleeper = "import time\ndef f():\n    time.sleep(3)\n    return 'nothing'\n"
    before = set(_zygote_children())
    result: list[object] = []
    worker = threading.Thread(target=lambda: result.append(
        grade_many([(sibling, PROBE), (sleeper, PROBE)], workers=2)))
    worker.start()
    memories = []
    deadline = time.monotonic() + 20
    while not memories and time.monotonic() < deadline:
        for pid in set(_zygote_children()) - before:
            try:
                with open(f"/proc/{pid}/cmdline", "rb"):
                    pass
                time.sleep(0.5)  # the sibling has long finished; the sleeper sleeps
                memories.append(_memory(pid))
            except OSError:
                continue
        time.sleep(0.05)
    worker.join()
    assert result and result[0][0].status == "failed" and memories
    sibling_token = tokens[0].encode()
    for memory in memories:
        assert b"sibling-canary-31337" not in memory
        assert sibling_token not in memory
    zygote = _memory(get_client().zygote_pid)
    assert b"sibling-canary-31337" not in zygote and sibling_token not in zygote


def test_a_program_running_its_siblings_code_gains_nothing():
    """The original attack: execute whatever other submissions' code is in memory."""
    thief = textwrap.dedent("""
        import gc
        def f():
            for obj in gc.get_objects():
                if isinstance(obj, str) and "def f" in obj and "thief" not in obj:
                    scope = {}
                    try:
                        exec(obj, scope)
                        return scope["f"]()
                    except Exception:
                        pass
            return "thief"
    """)
    correct = "def f():\n    return 'nothing'\n"
    alone = grade(thief, PROBE)
    beside = grade_many([(correct, PROBE), (thief, PROBE), (correct, PROBE)], workers=2)[1]
    assert alone.status == beside.status == "failed"


# -- 3. siblings cannot slow each other down -----------------------------------------------------

def test_scheduling_and_priority_calls_only_reach_the_child_itself():
    code = textwrap.dedent("""
        import ctypes, os
        libc = ctypes.CDLL(None, use_errno=True)
        def attempt(fn):
            try:
                fn()
                return "ok"
            except OSError as exc:
                return type(exc).__name__
        def ioprio(who):
            if libc.syscall(251, 1, who, 0) != 0:
                raise OSError(ctypes.get_errno(), "ioprio_set")
        def f():
            other = os.getppid()  # the zygote: stands for any other process, a sibling too
            cpus = os.sched_getaffinity(0)
            return {
                "affinity_self": attempt(lambda: os.sched_setaffinity(0, cpus)),
                "affinity_other": attempt(lambda: os.sched_setaffinity(other, cpus)),
                "scheduler_other": attempt(lambda: os.sched_setscheduler(
                    other, os.SCHED_IDLE, os.sched_param(0))),
                "param_other": attempt(lambda: os.sched_setparam(other, os.sched_param(0))),
                "priority_self": attempt(lambda: os.setpriority(os.PRIO_PROCESS, 0, 5)),
                "priority_other": attempt(lambda: os.setpriority(os.PRIO_PROCESS, other, 19)),
                "priority_user": attempt(lambda: os.setpriority(os.PRIO_USER, 0, 19)),
                "priority_group": attempt(lambda: os.setpriority(os.PRIO_PGRP, 0, 19)),
                "ioprio_self": attempt(lambda: ioprio(0)),
                "ioprio_other": attempt(lambda: ioprio(other)),
            }
    """)
    if os.uname().machine != "x86_64":
        code = code.replace("libc.syscall(251", "libc.syscall(30")
    found = answer(code)
    assert found["affinity_self"] == found["priority_self"] == "ok", found
    for key, outcome in found.items():
        if key.endswith(("_other", "_user", "_group")):
            assert outcome == "PermissionError", (key, outcome)


@pytest.mark.skipif(not ROOT, reason="a uid per child needs a mapped pool (root)")
def test_children_in_flight_run_as_distinct_uids():
    code = "import os, time\ndef f():\n    time.sleep(0.4)\n    return str(os.getuid())  # {}\n"
    reports = grade_many([(code.format(i), PROBE) for i in range(4)], workers=4)
    uids = [r.tests[0].got for r in reports]
    assert len(set(uids)) == 4 and "'0'" not in uids, uids


# -- 4. disk per child is bounded, cleanup is cheap and leaves nothing ---------------------------

DISK_HOGS = {
    "many_dirs": "import os\nfor i in range(8000):\n    try:\n        os.mkdir(f'd{i}')\n"
                 "    except OSError:\n        break\n",
    "deep_chain": "import os\nfor i in range(3000):\n    try:\n        os.mkdir('d')\n"
                  "        os.chdir('d')\n    except OSError:\n        break\n",
    "big_files": "written = 0\nfor i in range(64):\n    try:\n"
                 "        with open(f'f{i}', 'wb') as h:\n            h.write(b'x' * (1 << 20))\n"
                 "        written += 1 << 20\n    except OSError:\n        break\n",
}


@pytest.mark.parametrize("case", sorted(DISK_HOGS))
def test_disk_hogs_are_bounded_and_never_delay_a_sibling(case):
    hog = DISK_HOGS[case] + "def f():\n    import os\n    return str(len(os.listdir('.')))\n"
    correct = "def f():\n    return 'nothing'\n"
    reports = grade_many([(hog, PROBE)] + [(correct, PROBE)] * 6, workers=2)
    assert all(r.status == "passed" for r in reports[1:]), [r.status for r in reports]
    if "tmpfs_workdir" in reports[0].layers:
        limits = PROBE.limits
        listed = int(reports[0].tests[0].got.strip("'"))
        assert listed <= limits.disk_files
        usage = answer(DISK_HOGS["big_files"] + "def f():\n    return written\n")
        assert usage <= limits.disk_bytes


def test_nothing_is_left_behind_and_the_server_survives():
    where = grade("import os\ndef f():\n    return os.getcwd()\n", PROBE).tests[0].got
    root = os.path.dirname(os.path.dirname(where.strip("'")))
    grade_many([(DISK_HOGS[c] + "def f():\n    return 1\n", PROBE) for c in DISK_HOGS])
    assert grade("def f():\n    return 'nothing'\n", PROBE).status == "passed"
    for entry in os.listdir(root):
        base = os.path.join(root, entry)
        assert all(os.listdir(os.path.join(base, sub)) == [] for sub in os.listdir(base)), entry


def test_isolation_report_names_every_layer():
    report = isolation_report()
    assert report["available"], report
    if ROOT:
        for layer in ("landlock_reads", "uid_per_child", "tmpfs_workdir", "seccomp"):
            assert layer in report["layers"] or layer in json.dumps(report["missing"]), layer
    assert re.match(r"\w+ ", report["platform"])


def test_without_landlock_reads_are_confined_by_a_read_only_view(monkeypatch, tmp_path):
    """Where the kernel has no Landlock, children chroot into a read-only view of what they
    may read, built once in the server's mount namespace: the same attacks find nothing."""
    canary = tmp_path / "canary.txt"
    canary.write_text("canary-secret-4412")
    os.chmod(tmp_path, 0o755)
    package = Path(student_gym.__file__).parent
    code = textwrap.dedent(f"""
        import os
        def f():
            seen = {{}}
            for path in {[str(canary), str(package / "data" / "examples.json"), "/etc/passwd",
                          os.getcwd(), "/tmp"]!r}:
                try:
                    seen[path] = os.listdir(path) if os.path.isdir(path) else open(path).read(9)
                except OSError as exc:
                    seen[path] = type(exc).__name__
            open("mine.txt", "w").write("ok")
            import json, decimal  # the standard library is in the view
            return sorted(set(map(str, seen.values()))) + [open("mine.txt").read()]
    """)
    monkeypatch.setenv("STUDENT_GYM_ISOLATION_DISABLE", "landlock")
    get_client().stop()  # the next grade starts a server without Landlock
    try:
        report = grade(code, PROBE)
        assert "readonly_view" in report.layers and "landlock" not in report.layers, report
        assert eval(report.tests[0].got) in (["FileNotFoundError", "ok"],  # noqa: S307
                                             ["FileNotFoundError", "PermissionError", "ok"])
        for a in example_assignments().values():  # every kind of test still works there
            assert grade(a.solution, a).status == "passed", a.id
    finally:
        get_client().stop()


def test_a_concurrent_siblings_private_file_cannot_be_read():
    """Child A writes a secret and waits; child B, in flight at the same time, tries every
    slot's directory for it (slot paths are guessable: they are numbered)."""
    writer = ("import os, time\nopen('secret.txt', 'w').write('sibling-secret-' + '8871')\n"
              "def f():\n    time.sleep(1.5)\n    return 'nothing'\n")
    reader = textwrap.dedent("""
        import os, time
        def f():
            time.sleep(0.5)  # the writer is in flight
            slot_root = os.path.dirname(os.path.dirname(os.getcwd()))
            found = []
            for i in range(8):
                path = os.path.join(slot_root, str(i), "w", "secret.txt")
                if path.startswith(os.getcwd()):
                    continue
                try:
                    found.append(open(path).read())
                except OSError:
                    pass
            return found
    """)
    reports = grade_many([(writer, PROBE), (reader, PROBE)], workers=2)
    assert reports[1].tests[0].got == "[]", reports[1].tests[0]

"""The grader's fast paths: duplicates graded once, work planned in the fork server before
each fork, frames with raw payloads, and forking a process that holds a client."""

from __future__ import annotations

import gc
import os
import sys
import warnings

import pytest

from student_gym import grade, grade_many
from student_gym.grader import child, client, wire
from student_gym.grader.assignments import Assignment, CallTest, Limits

FAST = Limits(cpu_seconds=0.5, wall_factor=2.0, memory_mb=256)
SQUARE = Assignment(
    id="square", title="square", statement="", entry_point="square", limits=FAST,
    tests=(CallTest("two", (2,), 4), CallTest("three", (3,), 9, hidden=True)),
)
GOOD = "def square(x):\n    return x * x\n"
WRONG = "def square(x):\n    return x + x\n"
ENVIRONMENT = Assignment(
    id="env", title="env", statement="", entry_point="f", limits=FAST,
    tests=(CallTest("env", (), [["HOME", "LANG", "PATH", "PYTHONHASHSEED", "TMPDIR"], True]),),
)
SHOW_ENVIRONMENT = (
    "import os\n"
    "def f():\n"
    "    here = os.getcwd()\n"
    "    return [sorted(os.environ), os.environ['HOME'] == os.environ['TMPDIR'] == here]\n"
)


def test_duplicates_are_graded_once_and_get_equal_reports(monkeypatch) -> None:
    sent: list[int] = []
    run = client.ServerClient.run

    def counting_run(self, jobs, wall_limits, workers):  # type: ignore[no-untyped-def]
        sent.append(len(jobs))
        return run(self, jobs, wall_limits, workers)

    monkeypatch.setattr(client.ServerClient, "run", counting_run)
    other = Assignment(id="square2", title="square", statement="", entry_point="square",
                       limits=FAST, tests=SQUARE.tests)
    pairs = [(GOOD, SQUARE), (WRONG, SQUARE), (GOOD, SQUARE), (GOOD, other), (WRONG, SQUARE)]
    reports = grade_many(pairs)
    assert sent[-1] == 3  # (GOOD, SQUARE), (WRONG, SQUARE), (GOOD, other); before: a probe
    assert [r.status for r in reports] == ["passed", "failed", "passed", "passed", "failed"]
    assert reports[2] == reports[0] and reports[2] is not reports[0]
    assert reports[4] == reports[1] and reports[4] is not reports[1]
    alone = [grade(code, a) for code, a in pairs]
    assert [r.to_dict(runtime=False) for r in reports] == [r.to_dict(runtime=False) for r in alone]


def test_each_child_sees_only_the_clean_environment_and_its_own_directory() -> None:
    # Several at once: the fork server sets HOME/TMPDIR per child before each fork.
    reports = grade_many([(SHOW_ENVIRONMENT + f"# {n}\n", ENVIRONMENT) for n in range(8)],
                         workers=3)
    assert [r.status for r in reports] == ["passed"] * 8, reports[0]


def test_a_child_without_a_plan_scrubs_its_own_environment(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("SECRET_TOKEN", "hunter2")
    plan = child.plan_child({"limits": {"cpu_seconds": 1.0}})
    assert not plan.environment_ready and plan.limits.cpu_seconds == 1.0
    assert plan.limits.open_files + 64 <= plan.high_fd < plan.limits.open_files + 960
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            devnull = os.open(os.devnull, os.O_RDWR)
            fds = child.enter_sandbox(plan, str(tmp_path), child.ChildFds(devnull, write_fd),
                                      devnull)
            os.write(fds.channel, repr(sorted(os.environ.items())).encode())
        finally:
            os._exit(0)
    os.close(write_fd)
    seen = os.read(read_fd, 65536).decode()
    os.close(read_fd)
    os.waitpid(pid, 0)
    assert "hunter2" not in seen and "SECRET_TOKEN" not in seen
    assert f"('HOME', '{tmp_path}')" in seen and "('PYTHONHASHSEED', '0')" in seen


def test_frames_carry_a_raw_payload_beside_their_header() -> None:
    payload = b'x\xff\n{"ev":"end"}\n' * 3  # raw channel bytes, invalid UTF-8 included
    data = wire.frame({"ev": "done", "id": 3, "nc": 4}, payload) + wire.frame({"ev": "ready"})
    buffer = bytearray(data[:-3])
    assert wire.read_frames(buffer) == [({"ev": "done", "id": 3, "nc": 4, "n": len(payload)},
                                         payload)]
    buffer += data[-3:]
    assert wire.read_frames(buffer) == [({"ev": "ready"}, b"")] and not buffer


@pytest.mark.skipif(not hasattr(os, "register_at_fork"), reason="needs os.register_at_fork")
def test_a_forked_process_drops_the_inherited_client_silently() -> None:
    assert grade(GOOD, SQUARE).status == "passed"  # this process now holds a client + server
    parent_server = client.get_client().pid
    read_fd, write_fd = os.pipe()
    unraisable: list[object] = []
    old_hook = sys.unraisablehook
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)  # inherited by the fork
        sys.unraisablehook = unraisable.append  # a warning raised in __del__ lands here
        try:
            pid = os.fork()
            if pid == 0:  # e.g. an AsyncVectorEnv worker
                try:
                    gc.collect()
                    status = grade(GOOD, SQUARE).status
                    own = client.get_client()
                    result = f"{status} {own.pid != parent_server} {len(unraisable)}"
                    own.stop()
                    gc.collect()
                    result += f" {len(unraisable)}"
                    os.write(write_fd, result.encode())
                finally:
                    os._exit(0)
        finally:
            sys.unraisablehook = old_hook
    os.close(write_fd)
    result = os.read(read_fd, 4096).decode()
    os.close(read_fd)
    os.waitpid(pid, 0)
    assert result == "passed True 0 0"
    # The parent's server was neither stopped nor replaced.
    assert client.get_client().pid == parent_server
    assert grade(WRONG, SQUARE).status == "failed"
    assert client.get_client().pid == parent_server

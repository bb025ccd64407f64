"""The zygote: the process every grader child is forked from, and which never held a request.

The fork server (:mod:`.server`) forks the zygote once, right after its one-time setup and
before it reads any request, so the zygote's memory holds the preloaded modules, the isolation
layers' prepared state and nothing of any job. For each process to start, the server sends it
one datagram over a unix socket: the role (``child`` or ``judge``), the directory, the uid and
the limits, with the process's pipes and its Landlock rulesets attached as file descriptors
(``SCM_RIGHTS``). The zygote forks; the new process reads its job from its own pipe, which the
server writes only after the fork. So a child's memory never holds a sibling's code, token or
anything the server keeps about the jobs in flight.

The zygote is the parent of every child: it reaps them (after SIGCHLD), kills whatever is left
in each one's process group, and reports the exit status and CPU time back to the server.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import socket
from typing import Any

from student_gym.grader import child

_MAX_FDS = 6


def serve(sock: socket.socket, reset_signals: tuple[int, ...]) -> None:
    """The zygote's loop; returns when the server closes the socket.

    Children are reaped after a SIGCHLD (a wakeup fd, so it works wherever ``fork`` does).
    """
    devnull = os.open(os.devnull, os.O_RDWR)
    wake_read, wake_write = os.pipe()
    for fd in (wake_read, wake_write):
        os.set_blocking(fd, False)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    signal.set_wakeup_fd(wake_write)
    reset_signals = tuple(sorted({*reset_signals, signal.SIGCHLD}))
    selector = selectors.DefaultSelector()
    selector.register(sock, selectors.EVENT_READ)
    selector.register(wake_read, selectors.EVENT_READ)
    running: dict[int, int] = {}  # pid -> job id
    while True:
        for key, _ in selector.select():
            if key.fd == wake_read:
                _drain(wake_read)
                _reap_exited(sock, running)
                continue
            try:
                data, fds, _, _ = socket.recv_fds(sock, 65536, _MAX_FDS)
            except OSError:
                data, fds = b"", []
            if not data:
                _shutdown(running)
                return
            request = json.loads(data)
            pid = _spawn(request, fds, devnull, reset_signals)
            running[pid] = request["id"]
            sock.send(json.dumps({"ev": "pid", "id": request["id"], "role": request["role"],
                                  "pid": pid}).encode())


def _drain(fd: int) -> None:
    try:
        while os.read(fd, 4096):
            pass
    except BlockingIOError:
        pass


def _spawn(request: dict[str, Any], fds: list[int], devnull: int,
           reset_signals: tuple[int, ...]) -> int:
    """Fork one child or judge with its fds; the zygote keeps none of them."""
    count = int(request.get("rulesets", 0))
    rulesets = tuple(fds[len(fds) - count:]) if count else ()
    fds = fds[: len(fds) - count]
    workdir = request["workdir"]
    isolation = child._isolation
    child.point_environment_at(isolation.inner_path(workdir) if isolation else workdir)
    plan = child.plan_child({"limits": request["limits"]}, environment_ready=True,
                            reset_wakeup_fd=True, reset_signals=reset_signals,
                            ruleset_fds=rulesets)
    pipes = child.ChildFds(*fds, *([None] * (4 - len(fds))))
    pid = os.fork()
    if pid == 0:  # never returns
        child.child_main(request["role"], pipes, workdir, devnull, plan, request.get("uid"),
                         bool(request.get("tmpfs")) and request["role"] == "child")
        os._exit(70)
    for fd in (*fds, *rulesets):
        os.close(fd)
    return pid


def _reap_exited(sock: socket.socket, running: dict[int, int]) -> None:
    """Collect every child that has exited; report its status and CPU time."""
    while running:
        try:
            pid, status, usage = os.wait4(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if not pid:
            return
        job_id = running.pop(pid, None)
        try:  # anything left in the child's process group goes with it
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if job_id is None:
            continue
        sock.send(json.dumps({
            "ev": "exit", "id": job_id, "pid": pid,
            "exit": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
            "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
            "cpu": usage.ru_utime + usage.ru_stime}).encode())


def _shutdown(running: dict[int, int]) -> None:
    for pid in running:
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass

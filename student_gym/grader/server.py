"""The fork server: a small process that forks one sandboxed child per submission.

Started as ``python -m student_gym.grader.server`` with a fixed ``PYTHONHASHSEED`` before any
model is loaded (a fork costs ~35 ms per GiB of the parent's memory; this process stays small).
It never runs student code itself: it only forks, relays each child's result channel and exit
status, reaps, and removes the child's temporary directory.

Protocol over its stdin/stdout, each frame a 4-byte big-endian length and a JSON object:

* parent -> server: ``{"id": n, "job": {...}}`` (a job as built by :mod:`.jobs`)
* server -> parent: ``{"ev": "ready", "pid": ...}`` once;
  ``{"ev": "started", "id": n, "pid": p}`` when the child exists (the parent's wall clock
  starts and it may ``killpg(p)``); ``{"ev": "done", "id": n, "token": t, "out": text,
  "exit": code|None, "signal": sig|None, "cpu": seconds}`` after the child was reaped.
"""

from __future__ import annotations

import gc
import importlib
import json
import os
import selectors
import shutil
import signal
import struct
import sys
import tempfile
import traceback
from dataclasses import dataclass, field
from typing import Any

from student_gym.grader import child, cs110, submission_types
from student_gym.grader.cs110 import autograder

# Preloaded so children start with them (copy-on-write) instead of importing per submission.
PRELOADED = ("bisect", "collections", "copy", "fractions", "functools", "hashlib", "heapq",
             "itertools", "math", "operator", "random", "re", "statistics", "string", "time")
_MAX_RELAY = 8 * 1024 * 1024  # bytes of a child's result channel relayed to the parent
_HEADER = struct.Struct(">I")
ISOLATION_ERROR: str | None = None  # why isolation.prepare_server failed, if it did
# Linux tells us a child exited through a pidfd; elsewhere (or when told not to, to test this
# path) a SIGCHLD wakes the loop and every running child is polled.
_USE_PIDFD = hasattr(os, "pidfd_open") and not os.environ.get("STUDENT_GYM_NO_PIDFD")


@dataclass
class _Running:
    job_id: int
    pid: int
    pidfd: int | None
    read_fd: int | None
    workdir: str
    token: str
    chunks: list[bytes] = field(default_factory=list)
    size: int = 0


def read_frames(buffer: bytearray) -> list[Any]:
    """Pop every complete frame off ``buffer``."""
    frames = []
    while len(buffer) >= 4:
        (length,) = _HEADER.unpack_from(buffer)
        if len(buffer) < 4 + length:
            break
        frames.append(json.loads(bytes(buffer[4 : 4 + length])))
        del buffer[: 4 + length]
    return frames


def frame(message: dict[str, Any]) -> bytes:
    data = json.dumps(message, separators=(",", ":")).encode("utf-8")
    return _HEADER.pack(len(data)) + data


class ForkServer:
    """The server's event loop (one thread, selectors over pipes and pidfds)."""

    def __init__(self, in_fd: int, out_fd: int) -> None:
        self.in_fd, self.out_fd = in_fd, out_fd
        self.selector = selectors.DefaultSelector()
        self.running: dict[int, _Running] = {}
        self.devnull = os.open(os.devnull, os.O_RDWR)
        self.inbox = bytearray()
        self.outbox: list[bytes] = []
        if not _USE_PIDFD:
            wake_read, wake_write = os.pipe()
            os.set_blocking(wake_read, False)
            os.set_blocking(wake_write, False)
            signal.signal(signal.SIGCHLD, lambda *_: None)
            signal.set_wakeup_fd(wake_write)
            self.selector.register(wake_read, selectors.EVENT_READ, ("sigchld", None))
        self.tmp_root = tempfile.mkdtemp(prefix="student-gym-")

    def send(self, message: dict[str, Any]) -> None:
        """Queue a message; :meth:`flush` writes the queue at the end of each loop turn
        (one write, one wake-up of the parent, however many events the turn handled)."""
        self.outbox.append(frame(message))

    def flush(self) -> None:
        data = memoryview(b"".join(self.outbox))
        self.outbox.clear()
        while data:
            data = data[os.write(self.out_fd, data) :]

    def spawn(self, job_id: int, job: dict[str, Any]) -> None:
        read_fd, write_fd = os.pipe()
        workdir = tempfile.mkdtemp(dir=self.tmp_root)
        token = os.urandom(12).hex()
        pid = os.fork()
        if pid == 0:  # the child: never returns
            child.child_main(job, write_fd, workdir, token, self.devnull)
            os._exit(70)
        os.close(write_fd)
        os.set_blocking(read_fd, False)
        pidfd = os.pidfd_open(pid) if _USE_PIDFD else None
        run = _Running(job_id, pid, pidfd, read_fd, workdir, token)
        self.running[pid] = run
        self.selector.register(read_fd, selectors.EVENT_READ, ("out", run))
        if pidfd is not None:
            self.selector.register(pidfd, selectors.EVENT_READ, ("exit", run))
        else:
            self.poll_exits()  # it may have exited before it was in self.running
        self.send({"ev": "started", "id": job_id, "pid": pid})

    def drain(self, run: _Running) -> None:
        """Read what the child's channel holds now; close it at EOF."""
        if run.read_fd is None:
            return
        while True:
            try:
                data = os.read(run.read_fd, 65536)
            except BlockingIOError:
                return
            if not data:
                self.selector.unregister(run.read_fd)
                os.close(run.read_fd)
                run.read_fd = None
                return
            if run.size < _MAX_RELAY:
                run.chunks.append(data[: _MAX_RELAY - run.size])
                run.size += len(data)

    def poll_exits(self, wake_fd: int | None = None) -> None:
        """Without pidfds: after a SIGCHLD, reap every child that has exited."""
        if wake_fd is not None:
            try:
                while os.read(wake_fd, 4096):
                    pass
            except BlockingIOError:
                pass
        for run in list(self.running.values()):
            pid, status, usage = os.wait4(run.pid, os.WNOHANG)
            if pid:
                self.reap(run, (status, usage))

    def reap(self, run: _Running, waited: tuple[int, Any] | None = None) -> None:
        """Collect an exited child: its channel, its group, its status, its directory."""
        self.drain(run)
        if run.read_fd is not None:  # a grandchild may hold the pipe open: stop listening
            self.selector.unregister(run.read_fd)
            os.close(run.read_fd)
        try:  # anything left in the child's process group goes with it
            os.killpg(run.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if waited is None:
            _, status, usage = os.wait4(run.pid, 0)
        else:
            status, usage = waited
        if run.pidfd is not None:
            self.selector.unregister(run.pidfd)
            os.close(run.pidfd)
        del self.running[run.pid]
        shutil.rmtree(run.workdir, ignore_errors=True)
        self.send({
            "ev": "done",
            "id": run.job_id,
            "token": run.token,
            "out": b"".join(run.chunks).decode("utf-8", "replace"),
            "exit": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
            "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
            "cpu": usage.ru_utime + usage.ru_stime,
        })

    def serve(self) -> None:
        os.set_blocking(self.in_fd, False)
        self.selector.register(self.in_fd, selectors.EVENT_READ, ("in", None))
        self.send({"ev": "ready", "pid": os.getpid(), "isolation_error": ISOLATION_ERROR})
        while True:
            self.flush()
            for key, _ in self.selector.select():
                what, run = key.data
                if what == "out":
                    self.drain(run)
                elif what == "exit":
                    self.reap(run)
                elif what == "sigchld":
                    self.poll_exits(key.fd)
                elif not self.read_requests():
                    return

    def read_requests(self) -> bool:
        """Fork a child for every complete request; False when the parent has gone."""
        while True:
            try:
                data = os.read(self.in_fd, 1 << 20)
            except BlockingIOError:
                break
            if not data:
                return False
            self.inbox += data
        for request in read_frames(self.inbox):
            self.spawn(request["id"], request["job"])
        return True

    def shutdown(self) -> None:
        for run in list(self.running.values()):
            try:
                os.killpg(run.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            os.waitpid(run.pid, 0)
        shutil.rmtree(self.tmp_root, ignore_errors=True)


def prepare() -> None:
    """One-time setup before serving: autograder modules, known types, isolation."""
    for name in PRELOADED:
        importlib.import_module(name)
    sys.modules.setdefault("cs110", cs110)
    sys.modules["cs110.autograder"] = autograder
    sys.modules["autograder"] = autograder
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    global ISOLATION_ERROR
    if child._isolation is not None:
        try:
            child._isolation.prepare_server()
        except Exception as exc:  # noqa: BLE001 - serve the baseline; the parent refuses
            traceback.print_exc()
            ISOLATION_ERROR = f"{type(exc).__name__}: {exc}"
            child._isolation = None
    submission_types.snapshot_known_types()
    # Everything loaded so far is long-lived: keep the children's garbage collector away from
    # it, or each child's first collection would touch (and copy) every page it inherited.
    gc.collect()
    gc.freeze()


def main() -> None:
    prepare()
    # Our own protocol fds, moved away from 0/1 so a stray print cannot corrupt a frame.
    in_fd, out_fd = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    server = ForkServer(in_fd, out_fd)
    try:
        server.serve()
    finally:
        server.shutdown()


if __name__ == "__main__":
    main()

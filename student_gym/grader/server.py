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
import select
import selectors
import shutil
import signal
import struct
import sys
import tempfile
import traceback
from dataclasses import dataclass, field
from json.encoder import encode_basestring_ascii as _json_string
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
    slot: int | None  # the workdir's name is reused by later children (None: not reused)
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


_ENCODE = json.JSONEncoder(separators=(",", ":")).encode  # built once, not per message


def frame(message: dict[str, Any]) -> bytes:
    data = _ENCODE(message).encode("utf-8")
    return _HEADER.pack(len(data)) + data


def _text_frame(text: str) -> bytes:
    data = text.encode("ascii")
    return _HEADER.pack(len(data)) + data


def _json_number(value: int | None) -> str:
    return "null" if value is None else str(int(value))


# The two messages sent per child, formatted by hand: the same JSON as frame() gives, without
# the encoder's Python layers (after a fork every page the server touches costs a fault).
def started_frame(job_id: int, pid: int) -> bytes:
    return _text_frame(f'{{"ev":"started","id":{job_id:d},"pid":{pid:d}}}')


def done_frame(job_id: int, token: str, out: str, exit_code: int | None, sig: int | None,
               cpu: float) -> bytes:
    return _text_frame(
        f'{{"ev":"done","id":{job_id:d},"token":{_json_string(token)},'
        f'"out":{_json_string(out)},"exit":{_json_number(exit_code)},'
        f'"signal":{_json_number(sig)},"cpu":{float(cpu)!r}}}')


class _Poller:
    """Readiness of fds, each with its data: epoll where there is one (Linux), else the
    selectors module. Thinner than a selector (no key objects): the server's own memory
    writes after each fork are copy-on-write faults too."""

    def __init__(self) -> None:
        self.data: dict[int, Any] = {}
        self.epoll = select.epoll() if hasattr(select, "epoll") else None
        self.selector = None if self.epoll is not None else selectors.DefaultSelector()

    def register(self, fd: int, data: Any) -> None:
        self.data[fd] = data
        if self.epoll is not None:
            self.epoll.register(fd, select.EPOLLIN)
        else:
            self.selector.register(fd, selectors.EVENT_READ)  # type: ignore[union-attr]

    def unregister(self, fd: int) -> None:
        del self.data[fd]
        if self.epoll is not None:
            self.epoll.unregister(fd)
        else:
            self.selector.unregister(fd)  # type: ignore[union-attr]

    def select(self) -> list[Any]:
        """Wait; the data of every ready fd."""
        if self.epoll is not None:
            ready = [fd for fd, _ in self.epoll.poll()]
        else:
            ready = [key.fd for key, _ in self.selector.select()]  # type: ignore[union-attr]
        return [self.data[fd] for fd in ready if fd in self.data]


class ForkServer:
    """The server's event loop (one thread, epoll over pipes and pidfds)."""

    def __init__(self, in_fd: int, out_fd: int) -> None:
        self.in_fd, self.out_fd = in_fd, out_fd
        self.poller = _Poller()
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
            self.poller.register(wake_read, ("sigchld", wake_read))
        self.tmp_root = tempfile.mkdtemp(prefix="student-gym-")
        self.free_slots: list[int] = []  # workdir names free for reuse
        self.slot_names: list[str] = []  # slot -> its directory name, random and unguessable
        # From here on this process's environment is the children's (only HOME/TMPDIR
        # change, before each fork): a child then never rewrites os.environ.
        child.prepare_environment()
        self.reset_signals = child.signals_to_reset()
        # Traversable but not listable: a child (another uid) can resolve the absolute path of
        # its own directory (imports, abspath) without seeing its siblings' random names.
        os.chmod(self.tmp_root, 0o711)

    def send(self, message: dict[str, Any]) -> None:
        """Queue a message; :meth:`flush` writes the queue at the end of each loop turn
        (one write, one wake-up of the parent, however many events the turn handled)."""
        self.outbox.append(frame(message))

    def flush(self) -> None:
        data = memoryview(b"".join(self.outbox))
        self.outbox.clear()
        while data:
            data = data[os.write(self.out_fd, data) :]

    def _new_workdir(self) -> tuple[str, int | None]:
        """A fresh, empty private directory; its name is reused once it is removed.

        Cheaper than ``tempfile.mkdtemp`` (no name generation), and reused names keep the
        server's C environment from growing (see :func:`.child.point_environment_at`). Every
        child runs as the same sandbox uid and the root must be traversable (0711) for a child
        to resolve its own absolute path, so each slot's name is random: a child cannot guess
        a concurrent sibling's directory (the root cannot be listed).
        """
        if self.free_slots:
            slot = self.free_slots.pop()
        else:
            slot = len(self.slot_names)
            self.slot_names.append(f"{slot}-{os.urandom(12).hex()}")
        workdir = f"{self.tmp_root}/{self.slot_names[slot]}"
        try:
            os.mkdir(workdir, 0o700)
        except FileExistsError:  # an earlier removal failed: clear it, else use a new name
            shutil.rmtree(workdir, ignore_errors=True)
            try:
                os.mkdir(workdir, 0o700)
            except OSError:
                return tempfile.mkdtemp(dir=self.tmp_root), None
        return workdir, slot

    def spawn(self, job_id: int, job: dict[str, Any]) -> None:
        read_fd, write_fd = os.pipe()
        workdir, slot = self._new_workdir()
        token = os.urandom(12).hex()
        # Decided here, where it is cheap; the child only makes the system calls.
        child.point_environment_at(workdir)
        isolation = child._isolation
        ruleset = isolation.prepare_child(workdir) if isolation is not None else None
        try:
            plan: child.ChildPlan | None = child.plan_child(
                job, environment_ready=True, reset_wakeup_fd=not _USE_PIDFD,
                reset_signals=self.reset_signals, ruleset_fd=ruleset)
        except Exception:  # noqa: BLE001 - bad limits: the child fails on them itself
            plan = None
        os.set_blocking(read_fd, False)  # our end only; the child closes it
        # Built before the fork: pages written after it, while the child lives, are copied.
        run = _Running(job_id, 0, None, read_fd, workdir, slot, token)
        pid = os.fork()
        if pid == 0:  # the child: never returns
            child.child_main(job, write_fd, workdir, token, self.devnull, plan)
            os._exit(70)
        os.close(write_fd)
        if ruleset is not None:
            os.close(ruleset)
        run.pid = pid
        run.pidfd = pidfd = os.pidfd_open(pid) if _USE_PIDFD else None
        self.running[pid] = run
        self.poller.register(read_fd, ("out", run))
        if pidfd is not None:
            self.poller.register(pidfd, ("exit", run))
        else:
            self.poll_exits()  # it may have exited before it was in self.running
        self.outbox.append(started_frame(job_id, pid))

    def drain(self, run: _Running, until_eof: bool = False) -> None:
        """Read the child's channel; close it at EOF.

        One read per readiness event (the poller reports the fd again while data is left,
        and an empty pipe would cost an exception); after the child exited, everything.
        """
        while run.read_fd is not None:
            try:
                data = os.read(run.read_fd, 65536)
            except BlockingIOError:  # a grandchild still holds the pipe open
                return
            if not data:
                self.poller.unregister(run.read_fd)
                os.close(run.read_fd)
                run.read_fd = None
                return
            if run.size < _MAX_RELAY:
                run.chunks.append(data[: _MAX_RELAY - run.size])
                run.size += len(data)
            if not until_eof:
                return

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
        self.drain(run, until_eof=True)
        if run.read_fd is not None:  # a grandchild may hold the pipe open: stop listening
            self.poller.unregister(run.read_fd)
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
            self.poller.unregister(run.pidfd)
            os.close(run.pidfd)
        del self.running[run.pid]
        try:  # most programs write nothing: one rmdir, no directory walk
            os.rmdir(run.workdir)
        except OSError:
            shutil.rmtree(run.workdir, ignore_errors=True)
        if run.slot is not None:
            self.free_slots.append(run.slot)
        self.outbox.append(done_frame(
            run.job_id, run.token, b"".join(run.chunks).decode("utf-8", "replace"),
            os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
            os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
            usage.ru_utime + usage.ru_stime))

    def serve(self) -> None:
        os.set_blocking(self.in_fd, False)
        self.poller.register(self.in_fd, ("in", None))
        self.send({"ev": "ready", "pid": os.getpid(), "isolation_error": ISOLATION_ERROR})
        while True:
            self.flush()
            for what, run in self.poller.select():
                if what == "out":
                    self.drain(run)
                elif what == "exit":
                    if self.running.get(run.pid) is run:  # not reaped in this turn
                        self.reap(run)
                elif what == "sigchld":
                    self.poll_exits(run)
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

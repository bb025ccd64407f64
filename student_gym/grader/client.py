"""The parent's side of the fork server: start it, send jobs, hold the wall clock.

One :class:`ServerClient` per process talks to one fork server over two pipes. ``run`` keeps
up to ``workers`` children in flight, kills a child's whole process group when its wall-clock
backstop passes, and restarts the server if it dies (a program that kills the server gets
``crashed``; the other jobs in flight are simply run again).
"""

from __future__ import annotations

import atexit
import os
import select
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from student_gym.grader.wire import frame, read_frames

HASH_SEED = "0"  # fixed PYTHONHASHSEED of the server, inherited by every child
_PACKAGE_DIR = str(Path(__file__).resolve().parents[1])

# The server imports student_gym.grader without running student_gym/__init__.py (which pulls
# in gymnasium and numpy): a stand-in package object points at the same directory. A small
# server makes every fork cheap. "-P" keeps the current directory off sys.path.
_BOOTSTRAP = (
    "import sys, types\n"
    "package = types.ModuleType('student_gym')\n"
    "package.__path__ = [sys.argv[1]]\n"
    "sys.modules['student_gym'] = package\n"
    "from student_gym.grader import server\n"
    "server.main()\n"
)


def server_environment() -> dict[str, str]:
    """The server's environment: already scrubbed, so children start with nothing else.

    Keeps PATH and the locale, the fixed hash seed, and the grader's own STUDENT_GYM_*
    settings (e.g. which isolation layers to disable).
    """
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8",
           "PYTHONHASHSEED": HASH_SEED, "PYTHONDONTWRITEBYTECODE": "1"}
    env.update({k: v for k, v in os.environ.items() if k.startswith("STUDENT_GYM_")})
    return env


@dataclass
class Outcome:
    """What came back for one job: the raw result channels and how the processes ended.

    ``out`` and ``judge_out`` are the child's and the judge's channels as raw bytes, read
    with the bounds of :mod:`.wire` by :mod:`.verdict`; ``judge`` is how the judge ended
    (``exit``/``signal``/``cpu``), None when the job had no judge.
    """

    token: str = ""
    out: bytes = b""
    exit: int | None = None
    signal: int | None = None
    cpu: float = 0.0
    wall_killed: bool = False
    server_lost: bool = False
    runtime: float = 0.0
    judge_out: bytes = b""
    judge: dict[str, Any] | None = None


class ServerError(RuntimeError):
    """The fork server could not be started."""


class ServerClient:
    """A connection to one fork server process."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._inbox = bytearray()
        self._next_id = 0
        self.pid: int | None = None
        self.zygote_pid: int | None = None  # the process every child is forked from
        self.judge_pids: set[int] = set()  # judges the server keeps (one per slot) seen so far
        self.layers: tuple[str, ...] | None = None  # measured by isolation_report()
        self.isolation_error: str | None = None  # the server could not set isolation up

    def start(self) -> None:
        """Start the server if it is not running (idempotent)."""
        if self._proc is not None and self._proc.poll() is None:
            return
        self._proc = subprocess.Popen(
            [sys.executable, "-P", "-c", _BOOTSTRAP, _PACKAGE_DIR],
            env=server_environment(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            close_fds=True,
            start_new_session=True,  # a Ctrl-C in the terminal is the parent's business
        )
        self._inbox.clear()
        os.set_blocking(self._proc.stdin.fileno(), False)  # type: ignore[union-attr]
        ready = self._read_messages(timeout=60.0)
        if not ready or ready[0][0].get("ev") != "ready":
            self.stop()
            raise ServerError("the grader's fork server did not start")
        self.pid = ready[0][0]["pid"]
        self.zygote_pid = ready[0][0].get("zygote")
        self.isolation_error = ready[0][0].get("isolation_error")
        self.layers = None  # a new server: measure again

    def stop(self) -> None:
        if self._proc is None:
            return
        proc, self._proc = self._proc, None
        try:
            proc.stdin.close()  # type: ignore[union-attr]
            proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait()
        proc.stdout.close()  # type: ignore[union-attr]

    def _read_messages(self, timeout: float) -> list[tuple[dict[str, Any], bytes]] | None:
        """Wait up to ``timeout`` for data; return complete messages, None if the server died."""
        assert self._proc is not None and self._proc.stdout is not None
        pending = read_frames(self._inbox)  # what _send already read
        if pending:
            return pending
        fd = self._proc.stdout.fileno()
        ready, _, _ = select.select([fd], [], [], max(timeout, 0.0))
        if not ready:
            return []
        data = os.read(fd, 1 << 20)
        if not data:
            return None
        self._inbox += data
        return read_frames(self._inbox)

    def _send(self, frames: bytes) -> bool:
        """Write frames; while the pipe is full, keep reading the server's replies.

        (A blocking write could deadlock: the server may itself be blocked writing a large
        result to us.) False when the server has gone.
        """
        assert self._proc is not None and self._proc.stdin and self._proc.stdout
        in_fd, out_fd = self._proc.stdin.fileno(), self._proc.stdout.fileno()
        data = memoryview(frames)
        while data:
            try:
                data = data[os.write(in_fd, data) :]
            except BlockingIOError:
                readable, _, _ = select.select([out_fd], [in_fd], [], 1.0)
                if readable:
                    chunk = os.read(out_fd, 1 << 20)
                    if not chunk:
                        return False
                    self._inbox += chunk
            except OSError:  # BrokenPipeError: the server died
                return False
        return True

    def run(self, jobs: list[dict[str, Any]], wall_limits: list[float], workers: int) -> list[Outcome]:
        """Run every job (at most ``workers`` at once); outcomes in input order."""
        with self._lock:
            outcomes: list[Outcome | None] = [None] * len(jobs)
            attempts = [0] * len(jobs)
            rounds = [(list(range(len(jobs))), workers)]
            while rounds:
                pending, width = rounds.pop()
                try:
                    suspects, rest = self._run_round(jobs, wall_limits, width, pending,
                                                     outcomes, attempts)
                except BaseException:
                    # Interrupted (Ctrl-C...): nobody holds the wall clock of the children in
                    # flight any more; stopping the server kills them all.
                    self.stop()
                    raise
                # After the server died, the jobs in flight then are rerun one at a time (to
                # find the one that killed it), the rest at full width.
                if rest:
                    rounds.append((rest, workers))
                if suspects:
                    rounds.append((suspects, 1))
            return [o if o is not None else Outcome(server_lost=True) for o in outcomes]

    def _run_round(self, jobs: list[dict[str, Any]], wall_limits: list[float], workers: int,
                   pending: list[int], outcomes: list[Outcome | None],
                   attempts: list[int]) -> tuple[list[int], list[int]]:
        """Run ``pending`` jobs until done or the server dies.

        Returns the jobs to redo: (those in flight when the server died, those not started).
        """
        self.start()
        queue = list(reversed(pending))
        in_flight: dict[int, int] = {}  # message id -> job index
        started: dict[int, tuple[list[int], float]] = {}  # message id -> (pids, start time)
        killed: set[int] = set()
        while queue or in_flight:
            batch = []  # every free slot's job in one write
            while queue and len(in_flight) < workers:
                index = queue.pop()
                self._next_id += 1
                in_flight[self._next_id] = index
                attempts[index] += 1
                batch.append(frame({"id": self._next_id, "job": jobs[index]}))
            if batch:
                self._send(b"".join(batch))
            now = time.monotonic()
            for mid, (pids, t0) in started.items():
                if mid not in killed and now - t0 > wall_limits[in_flight[mid]]:
                    killed.add(mid)  # the wall-clock backstop: the whole process groups go
                    for pid in pids:
                        _kill_group(pid)
            deadlines = [t0 + wall_limits[in_flight[m]] for m, (_, t0) in started.items()
                         if m not in killed]
            wait = min(deadlines) - now if deadlines else 1.0
            messages = self._read_messages(timeout=min(max(wait, 0.0), 1.0))
            if messages is None:  # the server died: likely killed by a hostile child
                for pids, _ in started.values():  # its children must not outlive it
                    for pid in pids:
                        _kill_group(pid)
                return self._server_lost(in_flight, queue, outcomes, attempts)
            for message, payload in messages:
                mid = message.get("id")
                if mid not in in_flight:
                    continue  # left over from a run that was interrupted (e.g. Ctrl-C)
                if message["ev"] == "started":
                    started[mid] = (list(message["pids"]), time.monotonic())
                    self.judge_pids.update(message["pids"][1:])
                elif message["ev"] == "done":
                    index = in_flight.pop(mid)
                    t0 = started.pop(mid, ([], time.monotonic()))[1]
                    split = message["nc"]
                    outcomes[index] = Outcome(
                        token=jobs[index]["child"].get("token", ""), out=payload[:split],
                        exit=message["exit"], signal=message["signal"], cpu=message["cpu"],
                        wall_killed=mid in killed, runtime=time.monotonic() - t0,
                        judge_out=payload[split:], judge=message.get("judge"))
        return [], []

    def _server_lost(self, in_flight: dict[int, int], queue: list[int],
                     outcomes: list[Outcome | None],
                     attempts: list[int]) -> tuple[list[int], list[int]]:
        self.stop()
        suspects = []
        for index in in_flight.values():
            if attempts[index] >= 2 or len(in_flight) == 1:
                outcomes[index] = Outcome(server_lost=True)
            else:
                suspects.append(index)
        return sorted(suspects), list(reversed(queue))


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


_CLIENT: ServerClient | None = None
_CLIENT_LOCK = threading.Lock()


def get_client() -> ServerClient:
    """The process-wide client; its server is started on first use."""
    global _CLIENT
    with _CLIENT_LOCK:
        if _CLIENT is None or _CLIENT_PID != os.getpid():
            _set_client(ServerClient())
        assert _CLIENT is not None
        return _CLIENT


_CLIENT_PID = -1


def _set_client(client: ServerClient) -> None:
    global _CLIENT, _CLIENT_PID
    _CLIENT, _CLIENT_PID = client, os.getpid()


def _forget_inherited_client() -> None:
    """In a forked child (e.g. an ``AsyncVectorEnv`` worker): drop the parent's client.

    The server belongs to the parent: the child closes only its own copies of the pipes
    (the parent's stay open, so its server goes on) and marks the ``Popen`` as finished, so
    neither garbage collection nor exit stops the server or warns (``ResourceWarning``). The
    child's first ``get_client()`` starts a server of its own.
    """
    global _CLIENT, _CLIENT_PID, _CLIENT_LOCK
    _CLIENT_LOCK = threading.Lock()  # another thread may have held it at the fork
    client, _CLIENT, _CLIENT_PID = _CLIENT, None, -1
    proc = client._proc if client is not None else None
    if proc is None:
        return
    client._proc = None
    for pipe in (proc.stdin, proc.stdout):
        if pipe is not None:
            try:  # nothing is buffered (the client writes with os.write), so nothing is sent
                pipe.close()
            except OSError:
                pass
    proc.stdin = proc.stdout = None
    proc.returncode = 0  # not ours to wait for: Popen.__del__ neither warns nor tracks it


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_inherited_client)


@atexit.register
def _stop_at_exit() -> None:
    if _CLIENT is not None and _CLIENT_PID == os.getpid():
        _CLIENT.stop()

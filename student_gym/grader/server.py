"""The fork server: starts one sandboxed child per job through a zygote, and keeps judges.

Started as a fresh ``python`` with a fixed ``PYTHONHASHSEED`` before any model is loaded (a
fork costs ~35 ms per GiB of the forking process's memory; this process stays small). It never
runs student code and never forks a child itself: right after its one-time setup it forks the
zygote (:mod:`.zygote`), and every child and judge is forked from there, so no process that
runs a program has ever held another job. For each job the server prepares the child's
directory (a size- and inode-limited tmpfs where it can mount one), its pipes and its Landlock
rulesets, asks the zygote for the child, hands a job with check or script tests to the slot's
kept judge (one per slot, forked the first time and after one ended) over a socket, writes
each its job, relays their result channels as raw bytes, and after they ended unmounts the
directory (one lazy unmount, however much the program wrote).

Protocol over its stdin/stdout (frames of :mod:`.wire`: a 4-byte length, a JSON header, then
raw payload bytes):

* caller -> server: ``{"id": n, "job": {"child": {...}, "judge": {...} | null, "slot": {...}}}``
* server -> caller: ``{"ev": "ready", "pid": ...}`` once; ``{"ev": "started", "id": n,
  "pids": [...]}`` when the processes exist (the caller's wall clock starts, and it may
  ``killpg`` each); ``{"ev": "done", "id": n, "exit", "signal", "cpu", "judge": {...} | null,
  "nc": bytes of the child's channel, "n": payload size}`` + the child's then the judge's
  channel bytes, after the child was reaped and the judge closed its channel for the job.
"""

from __future__ import annotations

import gc
import importlib
import json
import os
import select
import signal
import socket
import sys
import threading
import traceback
from dataclasses import dataclass, field
from typing import Any

from student_gym.grader import child, cs110, submission_types, wire, workdirs, zygote
from student_gym.grader.cs110 import autograder

# Preloaded so children start with them (copy-on-write) instead of importing per submission.
PRELOADED = ("bisect", "collections", "copy", "fractions", "functools", "hashlib", "heapq",
             "itertools", "math", "operator", "random", "re", "statistics", "string", "time")
ISOLATION_ERROR: str | None = None  # why isolation.prepare_server failed, if it did


@dataclass
class _Process:
    role: str
    channel: int | None  # our read end of its result channel (None at EOF)
    cap: int = wire.MAX_CHANNEL  # bytes relayed: what the protocol can need for this job
    pid: int | None = None
    exit: dict[str, Any] | None = None
    chunks: list[bytes] = field(default_factory=list)
    size: int = 0


@dataclass
class _Job:
    job_id: int
    slot: workdirs.Slot
    processes: dict[str, _Process]
    announced: bool = False


@dataclass
class _Judge:
    """A judge process kept for one slot: it runs one job's test code after another, each
    handed over with its pipes on this socket (a fork per job would double a job's cost)."""

    key: tuple[int, tuple[str, ...]]  # (slot, packages it may read)
    sock: socket.socket
    pid: int | None = None
    job: _Job | None = None  # the job it is judging now


class ForkServer:
    """The server's event loop (one thread, epoll over pipes and the zygote's socket)."""

    def __init__(self, in_fd: int, out_fd: int, zygote_sock: socket.socket,
                 slots: workdirs.Slots, zygote_pid: int = 0) -> None:
        self.in_fd, self.out_fd = in_fd, out_fd
        self.zygote = zygote_sock
        self.zygote_pid = zygote_pid
        self.slots = slots
        self.poller = select.epoll()
        self.fd_owner: dict[int, tuple[_Job, _Process]] = {}
        self.jobs: dict[int, _Job] = {}
        self.judges: dict[tuple[int, tuple[str, ...]], _Judge] = {}
        self.judge_ids: dict[int, _Judge] = {}  # zygote request id (negative) -> judge
        self.judges_started = 0
        self.inbox = bytearray()
        self.outbox: list[bytes] = []

    def send(self, message: dict[str, Any], payload: bytes = b"") -> None:
        self.outbox.append(wire.frame(message, payload))

    def flush(self) -> None:
        data = memoryview(b"".join(self.outbox))
        self.outbox.clear()
        while data:
            data = data[os.write(self.out_fd, data) :]

    # -- a job's processes ---------------------------------------------------------------------

    def spawn(self, job_id: int, job: dict[str, Any]) -> None:
        slot = self.slots.acquire(job.get("slot") or {})
        roles = {"child": job["child"]}
        if job.get("judge") is not None:
            roles["judge"] = job["judge"]
        record = _Job(job_id, slot, {})
        judge_pipes: tuple[tuple[int, int], tuple[int, int]] | None = None
        if "judge" in roles:
            judge_pipes = (os.pipe(), os.pipe())  # judge -> child requests, child -> judge answers
        for role, payload in roles.items():
            job_read, job_write = os.pipe()
            channel_read, channel_write = os.pipe()
            fds = [job_read, channel_write]
            if judge_pipes is not None:
                (req_r, req_w), (ans_r, ans_w) = judge_pipes
                fds += [req_r, ans_w] if role == "child" else [ans_r, req_w]
            process = _Process(role, channel_read, _channel_cap(role, payload))
            if role == "child":
                rulesets = self.slots.rulesets_for(slot, role)
                header = {"id": job_id, "role": role, "workdir": slot.workdir, "uid":
                          slot.uids.get(role), "limits": self.slots.limits_for(slot, role),
                          "rulesets": len(rulesets), "tmpfs": slot.mounted}
                socket.send_fds(self.zygote, [json.dumps(header).encode()], fds + rulesets)
            elif not self.hand_to_judge(slot, record, process, fds):
                process.exit = {"exit": None, "signal": None, "cpu": 0.0}  # no judge took it
            os.close(job_read)
            os.close(channel_write)
            os.set_blocking(channel_read, False)
            record.processes[role] = process
            self.fd_owner[channel_read] = (record, process)
            self.poller.register(channel_read, select.EPOLLIN)
            _write_job(job_write, json.dumps(payload).encode())
        if judge_pipes is not None:
            for pair in judge_pipes:
                for fd in pair:
                    os.close(fd)
        self.jobs[job_id] = record

    def hand_to_judge(self, slot: workdirs.Slot, record: _Job, process: _Process,
                      fds: list[int]) -> bool:
        """Send a job's pipes to the slot's judge. A judge that has just ended (its exit not
        read yet) refuses them: forget it and start another, once."""
        for _ in range(2):
            judge = self.judge_for(slot)
            try:
                socket.send_fds(judge.sock, [b"job"], fds)
            except OSError:
                if self.judges.get(judge.key) is judge:
                    del self.judges[judge.key]  # its exit, when it comes, finds no job
                continue
            judge.job = record
            process.pid = judge.pid
            return True
        return False

    def judge_for(self, slot: workdirs.Slot) -> _Judge:
        """The slot's judge, forked from the zygote the first time (and after one ended)."""
        key = (slot.index, slot.packages)
        judge = self.judges.get(key)
        if judge is not None:
            return judge
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.judges_started += 1
        request_id = -self.judges_started  # the zygote's ids for judges are negative, unique
        judge = _Judge(key, ours)
        self.judges[key] = self.judge_ids[request_id] = judge
        rulesets = self.slots.rulesets_for(slot, "judge")
        header = {"id": request_id, "role": "judge", "workdir": self.slots.judge_dir,
                  "uid": slot.uids.get("judge"), "limits": self.slots.limits_for(slot, "judge"),
                  "rulesets": len(rulesets)}
        socket.send_fds(self.zygote, [json.dumps(header).encode()], [theirs.fileno(), *rulesets])
        theirs.close()
        return judge

    def on_judge(self, request_id: int, message: dict[str, Any]) -> None:
        """The zygote about a kept judge: its pid, or that it ended (a new one comes next)."""
        judge = self.judge_ids.get(request_id)
        if judge is None:
            return
        if message["ev"] == "pid":
            judge.pid = message["pid"]
            if judge.job is not None and "judge" in judge.job.processes:
                judge.job.processes["judge"].pid = judge.pid
                self.announce(judge.job)
            return
        del self.judge_ids[request_id]
        if self.judges.get(judge.key) is judge:
            del self.judges[judge.key]
        judge.sock.close()
        record = judge.job
        if record is not None and "judge" in record.processes:  # it died judging this job
            process = record.processes["judge"]
            process.exit = {k: message[k] for k in ("exit", "signal", "cpu")}
            self.drain(record, process, until_eof=True)
            self.finish_if_done(record)

    def announce(self, record: _Job) -> None:
        """``started`` once every process of the job has a pid: the caller's clock starts."""
        if not record.announced and all(p.pid for p in record.processes.values()):
            record.announced = True
            self.send({"ev": "started", "id": record.job_id,
                       "pid": record.processes["child"].pid,
                       "pids": [p.pid for p in record.processes.values()]})

    def on_zygote(self) -> None:
        """A message from the zygote: a process's pid, or its exit."""
        while True:
            try:
                data = self.zygote.recv(65536, socket.MSG_DONTWAIT)
            except BlockingIOError:
                return
            if not data:
                raise SystemExit(0)  # the zygote is gone: the caller restarts us
            message = json.loads(data)
            if message["id"] < 0:
                self.on_judge(message["id"], message)
                continue
            record = self.jobs.get(message["id"])
            if record is None:
                continue
            process = record.processes["child"]
            if message["ev"] == "pid":
                process.pid = message["pid"]
                self.announce(record)
            else:
                process.exit = {k: message[k] for k in ("exit", "signal", "cpu")}
                self.drain(record, process, until_eof=True)
                self.finish_if_done(record)

    def drain(self, record: _Job, process: _Process, until_eof: bool = False) -> None:
        """Read a process's channel (one read per readiness event; at exit, everything)."""
        while process.channel is not None:
            try:
                data = os.read(process.channel, 65536)
            except BlockingIOError:
                if until_eof and process.exit is not None:
                    self.close_channel(process)  # nobody else can hold it open
                return
            if not data:
                self.close_channel(process)
                if process.role == "judge" and process.exit is None:
                    process.exit = {"exit": 0, "signal": None, "cpu": 0.0}  # done with the job
                    self.release_judge(record)
                return
            if process.size < process.cap:
                process.chunks.append(data[: process.cap - process.size])
            process.size += len(data)
            if not until_eof:
                return

    def release_judge(self, record: _Job) -> None:
        for judge in self.judges.values():
            if judge.job is record:
                judge.job = None

    def close_channel(self, process: _Process) -> None:
        if process.channel is not None:
            self.poller.unregister(process.channel)
            del self.fd_owner[process.channel]
            os.close(process.channel)
            process.channel = None

    def finish_if_done(self, record: _Job) -> None:
        if self.jobs.get(record.job_id) is not record:
            return  # already done
        if any(p.exit is None or p.channel is not None for p in record.processes.values()):
            return
        del self.jobs[record.job_id]
        self.slots.release(record.slot)
        main = record.processes["child"]
        judge = record.processes.get("judge")
        child_bytes = b"".join(main.chunks)
        judge_bytes = b"".join(judge.chunks) if judge is not None else b""
        self.send({"ev": "done", "id": record.job_id, **(main.exit or {}),
                   "judge": judge.exit if judge is not None else None,
                   "nc": len(child_bytes)}, child_bytes + judge_bytes)

    # -- the loop ------------------------------------------------------------------------------

    def serve(self) -> None:
        os.set_blocking(self.in_fd, False)
        self.poller.register(self.in_fd, select.EPOLLIN)
        self.poller.register(self.zygote.fileno(), select.EPOLLIN)
        self.send({"ev": "ready", "pid": os.getpid(), "zygote": self.zygote_pid,
                   "isolation_error": ISOLATION_ERROR})
        while True:
            self.flush()
            for fd, _ in self.poller.poll():
                if fd == self.in_fd:
                    if not self.read_requests():
                        return
                elif fd == self.zygote.fileno():
                    self.on_zygote()
                elif fd in self.fd_owner:
                    record, process = self.fd_owner[fd]
                    self.drain(record, process)
                    self.finish_if_done(record)

    def read_requests(self) -> bool:
        """Start every complete request; False when the caller has gone."""
        while True:
            try:
                data = os.read(self.in_fd, 1 << 20)
            except BlockingIOError:
                break
            if not data:
                return False
            self.inbox += data
        for request, _ in wire.read_frames(self.inbox):
            self.spawn(request["id"], request["job"])
        return True


def _channel_cap(role: str, job: dict[str, Any]) -> int:
    """The most a process's channel can legitimately carry for this job; the rest is junk
    that nobody should relay or parse (a program writing megabytes to its own channel)."""
    output = int(job.get("limits", {}).get("output_bytes", 1 << 16)
                 if role == "child" else job.get("output_bytes", 1 << 16))
    if role == "child":
        per_answer = (1 << 20) + output + (8 << 10)  # a value, what was printed, the rest
        return min(wire.MAX_CHANNEL, (64 << 10) + len(job.get("requests", ())) * per_answer)
    return min(wire.MAX_CHANNEL, (64 << 10) + len(job.get("tests", ())) * (output + (16 << 10)))


def _write_job(fd: int, data: bytes) -> None:
    """Write a job to its pipe and close it; what the pipe cannot take now, a thread writes
    (the process reads it as soon as it has set up its sandbox)."""
    os.set_blocking(fd, False)
    try:
        written = os.write(fd, data)
    except BlockingIOError:
        written = 0
    except OSError:  # the process (a judge that just ended) is gone: its job goes unread
        os.close(fd)
        return
    if written == len(data):
        os.close(fd)
        return

    def rest() -> None:
        os.set_blocking(fd, True)
        try:
            view = memoryview(data)[written:]
            while view:
                view = view[os.write(fd, view) :]
        except OSError:  # the process ended first
            pass
        finally:
            os.close(fd)

    threading.Thread(target=rest, daemon=True).start()


def prepare() -> None:
    """One-time setup before serving: autograder modules, known types, isolation."""
    for name in PRELOADED:
        importlib.import_module(name)
    try:  # guarded execution needs RestrictedPython in the child, which cannot read site-packages
        importlib.import_module("student_gym.grader.policy_check")
    except ImportError:  # an interpreter without it (the package run from PYTHONPATH)
        pass
    sys.modules.setdefault("cs110", cs110)
    sys.modules["cs110.autograder"] = autograder
    sys.modules["autograder"] = autograder
    # A write to a process that has just ended must be an error here, not a SIGPIPE that
    # ends the server (and every job in flight with it).
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    global ISOLATION_ERROR
    if child._isolation is not None:
        try:
            child._isolation.prepare_server()
        except Exception as exc:  # noqa: BLE001 - serve the baseline; the parent refuses
            traceback.print_exc()
            ISOLATION_ERROR = f"{type(exc).__name__}: {exc}"
            child._isolation = None
    submission_types.snapshot_known_types()


def start_zygote() -> tuple[socket.socket, int]:
    """Fork the zygote now, before any request exists in this process."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    child.prepare_environment()  # from here on this environment is every child's
    reset = child.signals_to_reset()
    # Everything loaded so far is long-lived: keep the children's garbage collector away from
    # it, or each child's first collection would touch (and copy) every page it inherited.
    gc.collect()
    gc.freeze()
    pid = os.fork()
    if pid == 0:
        try:
            ours.close()
            zygote.serve(theirs, reset)
        finally:
            os._exit(0)
    theirs.close()
    ours.setblocking(True)
    return ours, pid


def main() -> None:
    prepare()
    # Our own protocol fds, moved away from 0/1 so a stray print cannot corrupt a frame.
    in_fd, out_fd = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    slots = workdirs.Slots(child._isolation)
    sock, zygote_pid = start_zygote()
    server = ForkServer(in_fd, out_fd, sock, slots, zygote_pid)
    try:
        server.serve()
    finally:
        sock.close()
        try:
            os.waitpid(zygote_pid, 0)
        except ChildProcessError:
            pass
        slots.close()


if __name__ == "__main__":
    main()

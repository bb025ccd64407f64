"""A child's entry point: sandbox baseline, then the isolation layers, then its job.

Runs in a process freshly forked by the zygote (:mod:`.zygote`), one per submission (role
``child``, the program) and one per job with check or script tests (role ``judge``, the test
code). The zygote never held a request: the job arrives on the process's own pipe only after
the fork and after the sandbox is set up, so no other job's code, token or directory exists in
its memory. The order matters:

1. new session = new process group, so the parent can kill everything the program starts;
2. fds: /dev/null on 0, 1, 2; the result channel and the judge's pipes moved to random fds
   above the open-files limit (new fds can never land on them), every other fd closed;
3. scrubbed environment and a private temporary working directory (a size- and
   inode-limited tmpfs where the server could mount one);
4. rlimits: address space, CPU time (hard backstop), file size, open files, no core dumps;
5. ``isolation.enter_child_sandbox`` (namespaces, a uid of its own, Landlock reads and
   writes, seccomp) where present;
6. the job is read from its pipe; for the program, a CPU-time interval timer whose default
   action kills the child: the timeout verdict.

Speed: a fresh child pays a copy-on-write page fault (several microseconds in a VM) for every
page of inherited memory it writes, and touching any Python object writes its reference
count. So whatever can be decided before the fork is decided in the zygote (:func:`plan_child`:
limits, rlimit values, the random fd, the environment, which signal handlers need resetting)
and the child only issues the system calls.
"""

from __future__ import annotations

import ctypes
import functools
import math
import os
import random
import resource
import signal
from typing import Any, NamedTuple

from student_gym.grader import harness, isolation, wire
from student_gym.grader.assignments import Limits
from student_gym.grader.judge import serve_judge

# The kernel layers; set to None by server.prepare when they cannot be set up (the baseline
# below then works alone, and the parent refuses to grade unless told it may).
_isolation: Any = isolation

BASELINE_LAYERS = ("process_group", "rlimits", "scrubbed_env", "private_tmp")
_CLEAN_ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONHASHSEED": "0"}
_MIB = 1024 * 1024
_PR_SET_PDEATHSIG = 1
_RESET_SIGNALS = (signal.SIGCHLD, signal.SIGPROF)  # must be at their default in a child
_SYSTEM_RANDOM = random.SystemRandom()


try:  # resolved once here (in the server, before any fork); children only call it
    _PRCTL: Any = ctypes.CDLL(None, use_errno=True).prctl
except (OSError, AttributeError):  # pragma: no cover - no C library / not Linux
    _PRCTL = None


class ChildPlan(NamedTuple):
    """What a child needs, computed before the fork (see the module docstring)."""

    limits: Limits
    high_fd: int  # where the result channel goes: above RLIMIT_NOFILE
    rlimits: tuple[tuple[int, tuple[int, int]], ...]
    environment_ready: bool  # the server's own environment is already the child's
    reset_signals: tuple[int, ...]  # handlers that are not SIG_DFL now
    reset_wakeup_fd: bool  # a signal wakeup fd may be set (the server's non-pidfd mode)
    ruleset_fds: tuple[int, ...] = ()  # Landlock rulesets the server built (isolation's)


@functools.lru_cache(maxsize=64)
def _limits_plan(items: tuple[tuple[str, Any], ...]) -> tuple[Limits, tuple[Any, ...]]:
    """The Limits and rlimit values for one set of limits (most jobs share a few)."""
    limits = Limits(**dict(items))
    cpu_hard = math.ceil(limits.cpu_seconds) + 1
    memory = limits.memory_mb * _MIB
    rlimits = (
        (resource.RLIMIT_CORE, (0, 0)),
        (resource.RLIMIT_CPU, (cpu_hard, cpu_hard + 1)),
        (resource.RLIMIT_AS, (memory, memory)),
        (resource.RLIMIT_FSIZE, (limits.file_size_bytes, limits.file_size_bytes)),
        (resource.RLIMIT_NOFILE, (limits.open_files, limits.open_files)),
    )
    return limits, rlimits


def signals_to_reset() -> tuple[int, ...]:
    """The signals whose handler in this process is not the default one a child needs."""
    return tuple(s for s in _RESET_SIGNALS if signal.getsignal(s) != signal.SIG_DFL)


def plan_child(job: dict[str, Any], *, environment_ready: bool = False,
               reset_wakeup_fd: bool = True,
               reset_signals: tuple[int, ...] | None = None,
               ruleset_fds: tuple[int, ...] = ()) -> ChildPlan:
    """Decide everything about a child's sandbox that does not need the child itself.

    Args:
        job: the job; its ``limits`` are used.
        environment_ready: the calling process's environment is exactly what the child
            must see (the fork server arranges that with :func:`prepare_environment` and
            :func:`point_environment_at`); otherwise the child scrubs its own.
        reset_wakeup_fd: the child must clear a signal wakeup fd.
        reset_signals: :func:`signals_to_reset` if the caller knows it (default: ask now).
        ruleset_fds: from ``isolation.build_ruleset``: kept open through the fd clean-up
            for ``isolation.enter_child_sandbox``, which closes them.
    """
    try:
        limits, rlimits = _limits_plan(tuple(job["limits"].items()))
    except TypeError:  # an unhashable value: no cache (Limits decides whether it is valid)
        limits, rlimits = _limits_plan.__wrapped__(tuple(job["limits"].items()))
    # Above RLIMIT_NOFILE: new fds can never land there; random: hard to guess.
    high = _SYSTEM_RANDOM.randrange(limits.open_files + 64, limits.open_files + 956)
    if reset_signals is None:
        reset_signals = signals_to_reset()
    return ChildPlan(limits, high, rlimits, environment_ready, reset_signals, reset_wakeup_fd,
                     tuple(ruleset_fds))


def prepare_environment() -> None:
    """Make this process's environment a child's (called once in the fork server).

    The server keeps only what a child may see, so a child need not touch ``os.environ``
    (rewriting it costs a child hundreds of microseconds of copy-on-write faults).
    """
    os.environ.clear()
    os.environ.update(_CLEAN_ENV)


def point_environment_at(workdir: str) -> None:
    """``HOME``/``TMPDIR`` = ``workdir`` in this (the server's) environment, before a fork.

    The fork server reuses a few workdir names: glibc keeps every ``NAME=value`` string
    ever set, so a new value per submission would grow the server forever.
    """
    if os.environ.get("HOME") != workdir:
        os.environ["HOME"] = os.environ["TMPDIR"] = workdir


def _die_with_server() -> None:
    """PR_SET_PDEATHSIG: if the fork server dies, the kernel kills this child too."""
    if _PRCTL is not None:  # Linux only
        _PRCTL(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


class ChildFds(NamedTuple):
    """The pipes a child (or judge) is forked with; the fork server made them for this job."""

    job: int  # the job arrives here after the fork (one JSON line); read, then closed
    channel: int  # results to the fork server
    peer_in: int | None = None  # child: the judge's requests; judge: the child's answers
    peer_out: int | None = None  # child: answers to the judge; judge: requests to the child


def enter_sandbox(plan: ChildPlan, workdir: str, fds: ChildFds, devnull: int) -> ChildFds:
    """Apply the baseline sandbox (steps 1-4); return the fds at their new places.

    The result channel and the judge's pipes move above ``RLIMIT_NOFILE`` (new fds can never
    land there); every other fd is closed, except the isolation's rulesets.
    """
    os.setsid()
    _die_with_server()
    if plan.reset_wakeup_fd:
        signal.set_wakeup_fd(-1)  # the server's SIGCHLD plumbing (non-Linux) is not ours
    for signum in plan.reset_signals:
        signal.signal(signum, signal.SIG_DFL)
    moved = []
    for offset, fd in enumerate(fds):
        if fd is None:
            moved.append(None)
            continue
        target = plan.high_fd + offset
        os.dup2(fd, target, inheritable=False)
        moved.append(target)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    keep = sorted(fd for fd in (*moved, *plan.ruleset_fds) if fd is not None)
    start = 3  # close every fd but ours (and the isolation's ruleset)
    for fd in keep:
        os.closerange(start, fd)
        start = fd + 1
    os.closerange(start, 1 << 16)
    if not plan.environment_ready:
        os.environ.clear()
        os.environ.update(_CLEAN_ENV, HOME=workdir, TMPDIR=workdir)
    os.chdir(workdir)
    for which, values in plan.rlimits:
        resource.setrlimit(which, values)
    return ChildFds(*moved)


def child_main(role: str, fds: ChildFds, workdir: str, devnull: int, plan: ChildPlan,
               uid: int | None = None, tmpfs: bool = False) -> None:
    """Run one child (``role`` "child": the program) or a judge ("judge": test code).

    Never returns (exit code 0 once the job finished). The job arrives on ``fds.job`` only
    now, after the fork and the sandbox, so nothing of it was ever in the process it was
    forked from. A judge is kept by the fork server for one slot: ``fds.job`` is then a
    socket on which each job arrives with its own pipes (:func:`.judge.serve_judge`).
    """
    try:
        # A peer that ended (the judge, or the child it questions) must surface as an error
        # on the write, not as a SIGPIPE that would be blamed on whoever was writing.
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)
        fds = enter_sandbox(plan, workdir, fds, devnull)
        layers = BASELINE_LAYERS + (("tmpfs_workdir",) if tmpfs else ())
        if _isolation is not None:
            try:
                layers += tuple(_isolation.enter_child_sandbox(
                    plan.limits, workdir, ruleset_fds=plan.ruleset_fds, uid=uid))
            except Exception as exc:  # noqa: BLE001 - the grader's failure, not the program's
                if fds.channel is not None:
                    wire.Channel(fds.channel).send(
                        {"ev": "sandbox_error", "error": f"{type(exc).__name__}: {exc}"})
                os._exit(71)
        if role == "judge":  # a kept judge: jobs arrive one by one on its socket
            serve_judge(fds.job)
            os._exit(0)
        job = wire.read_job(fds.job)
        channel = wire.Channel(fds.channel, str(job.get("token", "")))
        channel.send({"ev": "hello", "layers": list(layers)})
        # The timeout verdict: SIGPROF's default action (reset above) ends the process after
        # this much CPU.
        signal.setitimer(signal.ITIMER_PROF, plan.limits.cpu_seconds)
        harness.Runner(job, channel).run(fds.peer_in, fds.peer_out)
        os._exit(0)
    except BaseException:  # noqa: BLE001 - the parent turns a silent exit into "crashed"
        os._exit(70)

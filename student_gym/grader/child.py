"""The child's entry point: sandbox baseline, then the isolation hook, then the harness.

Runs in a process freshly forked by the fork server, one per submission. Everything here
happens before any byte of the submission runs. The order matters:

1. new session = new process group, so the parent can kill everything the program starts;
2. fds: /dev/null on 0, 1, 2; the result pipe moved to a random fd above the open-files
   limit (the program cannot ``dup2`` onto it and is unlikely to guess it), every other fd
   closed (no way back to the server's protocol pipes);
3. scrubbed environment and a private temporary working directory;
4. rlimits: address space, CPU time (hard backstop), file size, open files, no core dumps;
5. ``isolation.enter_child_sandbox`` (namespaces, uid drop, Landlock, seccomp) where present;
6. a CPU-time interval timer whose default action kills the child: the timeout verdict.

Speed: a fresh child pays a copy-on-write page fault (several microseconds in a VM) for every
page of inherited memory it writes, and touching any Python object writes its reference
count. So whatever can be decided before the fork is decided in the fork server
(:func:`plan_child`: limits, rlimit values, the random fd, the environment, which signal
handlers need resetting) and the child only issues the system calls.
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

from student_gym.assignments import Limits
from student_gym.grader import harness

try:  # owned by grader-isolation; the baseline below works without it
    from student_gym.grader import isolation as _isolation
except ImportError:  # pragma: no cover - depends on the other module being present
    _isolation = None

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
    ruleset_fd: int | None = None  # a Landlock ruleset the server built (isolation's)


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
               ruleset_fd: int | None = None) -> ChildPlan:
    """Decide everything about a child's sandbox that does not need the child itself.

    Args:
        job: the job; its ``limits`` are used.
        environment_ready: the calling process's environment is exactly what the child
            must see (the fork server arranges that with :func:`prepare_environment` and
            :func:`point_environment_at`); otherwise the child scrubs its own.
        reset_wakeup_fd: the child must clear a signal wakeup fd.
        reset_signals: :func:`signals_to_reset` if the caller knows it (default: ask now).
        ruleset_fd: from ``isolation.prepare_child``: kept open through the fd clean-up
            for ``isolation.enter_child_sandbox``, which closes it.
    """
    try:
        limits, rlimits = _limits_plan(tuple(job["limits"].items()))
    except TypeError:  # an unhashable value: no cache (Limits decides whether it is valid)
        limits, rlimits = _limits_plan.__wrapped__(tuple(job["limits"].items()))
    # Above RLIMIT_NOFILE: new fds can never land there; random: hard to guess.
    high = _SYSTEM_RANDOM.randrange(limits.open_files + 64, limits.open_files + 960)
    if reset_signals is None:
        reset_signals = signals_to_reset()
    return ChildPlan(limits, high, rlimits, environment_ready, reset_signals, reset_wakeup_fd,
                     ruleset_fd)


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


def enter_sandbox(plan: ChildPlan, workdir: str, result_fd: int, devnull: int) -> int:
    """Apply the baseline sandbox (steps 1-4); return the result channel's new fd."""
    os.setsid()
    _die_with_server()
    if plan.reset_wakeup_fd:
        signal.set_wakeup_fd(-1)  # the server's SIGCHLD plumbing (non-Linux) is not ours
    for signum in plan.reset_signals:
        signal.signal(signum, signal.SIG_DFL)
    high = plan.high_fd
    os.dup2(result_fd, high)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    start = 3  # close every fd but the channel (and the isolation's ruleset)
    for keep in (high,) if plan.ruleset_fd is None else sorted((plan.ruleset_fd, high)):
        os.closerange(start, keep)
        start = keep + 1
    os.closerange(start, 1 << 16)
    if not plan.environment_ready:
        os.environ.clear()
        os.environ.update(_CLEAN_ENV, HOME=workdir, TMPDIR=workdir)
    os.chdir(workdir)
    for which, values in plan.rlimits:
        resource.setrlimit(which, values)
    return high


def child_main(job: dict[str, Any], result_fd: int, workdir: str, token: str, devnull: int,
               plan: ChildPlan | None = None) -> None:
    """Run one submission; never returns (exit code 0 after the harness finished).

    ``plan`` comes from :func:`plan_child` in the fork server; without it the child plans
    (and scrubs its environment) itself.
    """
    try:
        if plan is None:
            plan = plan_child(job)
        fd = enter_sandbox(plan, workdir, result_fd, devnull)
        channel = harness.Channel(fd, token)
        layers = BASELINE_LAYERS
        if _isolation is not None:
            try:
                layers += tuple(_isolation.enter_child_sandbox(
                    plan.limits, workdir, ruleset_fd=plan.ruleset_fd))
            except Exception as exc:  # noqa: BLE001 - the grader's failure, not the program's
                channel.send({"ev": "sandbox_error", "error": f"{type(exc).__name__}: {exc}"})
                os._exit(71)
        channel.send({"ev": "hello", "layers": list(layers)})
        # The timeout verdict: SIGPROF's default action (reset above) ends the process after
        # this much CPU.
        signal.setitimer(signal.ITIMER_PROF, plan.limits.cpu_seconds)
        harness.Runner(job, channel).run()
        os._exit(0)
    except BaseException:  # noqa: BLE001 - the parent turns a silent exit into "crashed"
        os._exit(70)

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
"""

from __future__ import annotations

import ctypes
import math
import os
import random
import resource
import signal
from typing import Any

from student_gym.assignments import Limits
from student_gym.grader import harness

try:  # owned by grader-isolation; the baseline below works without it
    from student_gym.grader import isolation as _isolation
except ImportError:  # pragma: no cover - depends on the other module being present
    _isolation = None

try:  # loaded once in the server; children only call into it
    _LIBC: ctypes.CDLL | None = ctypes.CDLL(None, use_errno=True)
except OSError:  # pragma: no cover - no C library to load
    _LIBC = None

BASELINE_LAYERS = ("process_group", "rlimits", "scrubbed_env", "private_tmp")
_CLEAN_ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONHASHSEED": "0"}
_MIB = 1024 * 1024


def _die_with_server() -> None:
    """PR_SET_PDEATHSIG: if the fork server dies, the kernel kills this child too."""
    if _LIBC is not None and hasattr(_LIBC, "prctl"):  # Linux only
        _LIBC.prctl(1, signal.SIGKILL, 0, 0, 0)  # 1 = PR_SET_PDEATHSIG


def limits_from_job(job: dict[str, Any]) -> Limits:
    return Limits(**job["limits"])


def enter_sandbox(limits: Limits, workdir: str, result_fd: int, devnull: int) -> int:
    """Apply the baseline sandbox (steps 1-4); return the result channel's new fd."""
    os.setsid()
    _die_with_server()
    signal.set_wakeup_fd(-1)  # the server's SIGCHLD plumbing (non-Linux) is not ours
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    # Pick a result fd above RLIMIT_NOFILE: new fds can never land there.
    high = random.SystemRandom().randrange(limits.open_files + 64, limits.open_files + 960)
    os.dup2(result_fd, high)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.closerange(3, high)
    os.closerange(high + 1, 1 << 16)
    os.environ.clear()
    os.environ.update(_CLEAN_ENV, HOME=workdir, TMPDIR=workdir)
    os.chdir(workdir)
    cpu_hard = math.ceil(limits.cpu_seconds) + 1
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_hard, cpu_hard + 1))
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_mb * _MIB, limits.memory_mb * _MIB))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_size_bytes, limits.file_size_bytes))
    resource.setrlimit(resource.RLIMIT_NOFILE, (limits.open_files, limits.open_files))
    return high


def child_main(job: dict[str, Any], result_fd: int, workdir: str, token: str, devnull: int) -> None:
    """Run one submission; never returns (exit code 0 after the harness finished)."""
    try:
        limits = limits_from_job(job)
        fd = enter_sandbox(limits, workdir, result_fd, devnull)
        channel = harness.Channel(fd, token)
        layers = BASELINE_LAYERS
        if _isolation is not None:
            try:
                layers += tuple(_isolation.enter_child_sandbox(limits, workdir))
            except Exception as exc:  # noqa: BLE001 - the grader's failure, not the program's
                channel.send({"ev": "sandbox_error", "error": f"{type(exc).__name__}: {exc}"})
                os._exit(71)
        channel.send({"ev": "hello", "layers": list(layers)})
        # The timeout verdict: SIGPROF's default action ends the process after this much CPU.
        signal.signal(signal.SIGPROF, signal.SIG_DFL)
        signal.setitimer(signal.ITIMER_PROF, limits.cpu_seconds)
        harness.Runner(job, channel).run()
        os._exit(0)
    except BaseException:  # noqa: BLE001 - the parent turns a silent exit into "crashed"
        os._exit(70)

"""Isolation layers for grader children: namespaces, uid drop, write confinement, seccomp.

Two hooks, called by the fork server (:mod:`.server`) and the child entry point (:mod:`.child`):

* :func:`prepare_server` runs once in the fork server, which never runs student code. It does
  the slow, shareable work once: enters a mount namespace with a private ``/proc`` where other
  users' processes are invisible, a user namespace (root inside is still the same kuid 0
  outside, but with no capability outside it), a network namespace (no interfaces, not even
  loopback up) and an IPC namespace; makes the Python installation reachable for the
  unprivileged sandbox uid (:func:`.isolation_namespaces.expose_python_paths`); assembles the
  seccomp program; wipes the environment strings it was started with from its memory.
* :func:`enter_child_sandbox` runs in every forked child before the submission: hands the
  temp dir to the sandbox uid, confines writes to it (Landlock, else read-only remounts in a
  private mount namespace), drops to uid/gid 65534 with no groups and no capabilities, and
  installs the seccomp filter last. It returns the names of the active layers.

Every layer is probed (in a throwaway child, so probing changes nothing), falls back
gracefully and is reported: :func:`isolation_report` says what is active here and why the
rest is not; :func:`isolation_available` says whether untrusted code may run at all (seccomp,
write confinement, and a uid drop when running as root are the minimum).

``STUDENT_GYM_ISOLATION_DISABLE=landlock,user_namespace`` (comma-separated layer names) turns
layers off, for tests of the fallbacks and for debugging.
"""

from __future__ import annotations

import ctypes
import functools
import gc
import json
import os
import platform
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from student_gym.assignments import Limits
from student_gym.grader import isolation_namespaces as namespaces
from student_gym.grader import landlock, seccomp_filter

SANDBOX_UID, SANDBOX_GID = namespaces.SANDBOX_UID, namespaces.SANDBOX_GID
DISABLE_ENV = "STUDENT_GYM_ISOLATION_DISABLE"
UNSAFE_ENV = "STUDENT_GYM_UNSAFE"


class IsolationError(OSError):
    """A layer that the server prepared could not be applied in a child: do not run code."""


@dataclass
class ServerState:
    """What :func:`prepare_server` set up in this process, for every child it forks."""

    namespaces: tuple[str, ...] = ()
    landlock_abi: int = 0
    confinement: landlock.WriteConfinement | None = None
    readonly_mounts: bool = False  # the fallback when there is no Landlock
    uid_drop: bool = False
    drop_capabilities: bool = False  # non-root in its own user namespace: caps to shed
    seccomp: seccomp_filter.PreparedFilter | None = None
    missing: dict[str, str] = field(default_factory=dict)  # layer -> why it is not active


_state: ServerState | None = None


def _disabled() -> set[str]:
    return {name.strip() for name in os.environ.get(DISABLE_ENV, "").split(",") if name.strip()}


def _try(state: ServerState, off: set[str], name: str, action: Callable[[], object]) -> bool:
    """Run one setup step unless disabled; record why it did not happen."""
    if name in off:
        state.missing[name] = f"disabled by {DISABLE_ENV}"
        return False
    try:
        action()
    except OSError as exc:
        state.missing[name] = str(exc)
        return False
    return True


def _enter_namespaces(state: ServerState, off: set[str], root: bool, drop: bool) -> None:
    """Enter mount, user, network and IPC namespaces where allowed, recording each outcome.

    As root, the mount namespace comes first, while we still hold every capability: it is
    owned by the initial user namespace, so a fresh ``/proc`` may be mounted in it (a new
    procfs instance with ``hidepid=invisible``: a child sees no other process) and Python's
    paths exposed to the sandbox uid. Unprivileged, the user namespace must come first.
    """
    names: list[str] = []
    mount_ns = ("mount_namespace", namespaces.CLONE_NEWNS)
    order = [
        ("network_namespace", namespaces.CLONE_NEWNET),
        ("ipc_namespace", namespaces.CLONE_NEWIPC),
    ]
    if root:
        if _try(state, off, "mount_namespace", namespaces.enter_mount_namespace):
            names.append("mount_namespace")
            if namespaces.private_proc_supported() and _try(
                state, off, "proc_hidepid", namespaces.mount_private_proc
            ):
                names.append("proc_hidepid")
            if drop:
                _try(state, off, "python_paths", namespaces.expose_python_paths)
    else:
        order.append(mount_ns)
    if _try(state, off, "user_namespace", lambda: namespaces.enter_user_namespace(root)):
        names.append("user_namespace")
        state.drop_capabilities = not root
    for name, flag in order:
        action = (
            namespaces.enter_mount_namespace
            if flag == namespaces.CLONE_NEWNS
            else (lambda flag=flag, name=name: namespaces.unshare(flag, name))
        )
        if _try(state, off, name, action):
            names.append(name)
    state.namespaces = tuple(names)


def _wipe_initial_environment() -> None:
    """Zero the environment strings this process was started with (its stack top).

    Children are forked from this process: without this, a submission could read the
    grader's original environment from its own memory even after ``os.environ`` was scrubbed.
    Python's ``os.environ`` keeps its own copy, so the server itself is unaffected.
    """
    with open("/proc/self/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    env_start, env_end = int(fields[47]), int(fields[48])  # fields 50 and 51 of stat
    if 0 < env_start < env_end:
        ctypes.memset(env_start, 0, env_end - env_start)


def prepare_server() -> None:
    """One-time setup in the fork server; children inherit it. Idempotent; never raises."""
    global _state
    if _state is not None:
        return
    state = ServerState()
    if platform.system() != "Linux":
        state.missing["all"] = f"the isolation layers need Linux (this is {platform.system()})"
        _state = state
        return
    off = _disabled()
    root = os.geteuid() == 0
    _enter_namespaces(state, off, root, drop=root and "uid_drop" not in off)
    state.landlock_abi, reason = landlock.abi_version()
    if "landlock" in off or not state.landlock_abi:
        state.missing["landlock"] = reason or f"disabled by {DISABLE_ENV}"
        state.landlock_abi = 0
    if state.landlock_abi:
        state.confinement = landlock.WriteConfinement(state.landlock_abi)
    elif "readonly_mounts" not in off:
        state.readonly_mounts = _probe_readonly_mounts(state)
    if root and "uid_drop" not in off:
        state.uid_drop = True
    elif root:
        state.missing["uid_drop"] = f"disabled by {DISABLE_ENV}"
    ok, reason = seccomp_filter.filter_available()
    if ok and "seccomp" not in off:
        state.seccomp = seccomp_filter.PreparedFilter(seccomp_filter.build_filter())
    else:
        state.missing["seccomp"] = reason or f"disabled by {DISABLE_ENV}"
    try:
        _wipe_initial_environment()
    except (OSError, ValueError, IndexError) as exc:
        state.missing["environment_wipe"] = str(exc)
    _state = state
    # Objects that exist now are never scanned by the cyclic GC again: a GC pass in a child
    # would otherwise touch (and copy-on-write fault) every page of the server's heap.
    gc.freeze()


def _probe_readonly_mounts(state: ServerState) -> bool:
    """Whether a child could confine writes with read-only remounts (tried in a fork)."""
    workdir = tempfile.mkdtemp(prefix="student-gym-probe-")
    try:
        pid = os.fork()
        if pid == 0:
            try:
                namespaces.confine_with_mounts(workdir)
                os._exit(0)
            except BaseException:  # noqa: BLE001 - any failure means "not available"
                os._exit(1)
        _, status = os.waitpid(pid, 0)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if status != 0:
        state.missing["readonly_mounts"] = "private read-only remounts are not allowed here"
    return status == 0


def prepare_child(workdir: str) -> int | None:
    """Per-child work done in the fork server before the fork: the Landlock ruleset for
    ``workdir`` (an fd the child inherits; the server closes its copy after the fork).

    None when there is nothing to prepare, or preparing failed (the child then builds the
    ruleset itself and reports a failure as its own).
    """
    state = _state
    if state is None or state.confinement is None:
        return None
    try:
        return state.confinement.ruleset(workdir)
    except OSError:
        return None


def enter_child_sandbox(limits: Limits, workdir: str,
                        ruleset_fd: int | None = None) -> tuple[str, ...]:
    """Apply the isolation layers to this freshly forked child; return the active ones.

    Called after the process group, rlimits, scrubbed environment and ``chdir(workdir)``,
    before any submission code. ``limits`` is accepted for the interface; resource limits
    are the caller's. ``ruleset_fd``: from :func:`prepare_child` in the server (closed
    here), else the child builds its Landlock ruleset itself. Seccomp goes last: after it
    the process cannot change identity.

    Raises:
        IsolationError: a layer the server prepared failed here; the child must not go on.
    """
    del limits
    if _state is None:
        prepare_server()  # a bare fork (tests, other callers): no shared namespaces then
    state = _state
    assert state is not None
    layers = list(state.namespaces)
    try:
        if state.uid_drop:
            os.chown(workdir, SANDBOX_UID, SANDBOX_GID)
        if state.confinement is not None:
            if ruleset_fd is not None:
                layers += state.confinement.restrict(ruleset_fd)
            else:
                layers += state.confinement.apply(workdir)
        elif state.readonly_mounts:
            namespaces.confine_with_mounts(workdir)
            layers.append("readonly_mounts")
        if state.uid_drop:
            os.setgroups([])
            os.setresgid(SANDBOX_GID, SANDBOX_GID, SANDBOX_GID)
            os.setresuid(SANDBOX_UID, SANDBOX_UID, SANDBOX_UID)  # clears every capability
            layers.append("uid_drop")
        elif state.drop_capabilities:
            namespaces.drop_capabilities()
            layers.append("no_capabilities")
        if state.seccomp is not None:
            state.seccomp.install(os.getpid(), os.getpgid(0))
            layers += ["no_new_privs", "seccomp"]
    except OSError as exc:
        raise IsolationError(exc.errno, f"isolation layer failed in the child: {exc}") from exc
    return tuple(dict.fromkeys(layers))


@functools.cache
def _probe() -> dict[str, Any]:
    """Run the server setup and one child sandbox in throwaway forks; report what held."""
    if platform.system() != "Linux" or not hasattr(os, "fork"):
        return {"layers": [], "missing": {"all": f"needs Linux (this is {platform.system()})"}}
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # plays the fork server
        try:
            os.close(read_fd)
            prepare_server()
            assert _state is not None
            workdir = tempfile.mkdtemp(prefix="student-gym-probe-")
            grandchild = os.fork()
            if grandchild == 0:  # plays a submission's child
                try:
                    os.setpgid(0, 0)
                    os.chdir(workdir)
                    report: dict[str, Any] = {"layers": enter_child_sandbox(Limits(), workdir)}
                    try:
                        import colorsys  # noqa: F401 - a stdlib module the server never loaded
                    except ImportError as exc:
                        report["import_error"] = f"the sandboxed child cannot import: {exc}"
                    os.write(write_fd, json.dumps(report).encode())
                    os._exit(0)
                except BaseException as exc:  # noqa: BLE001
                    os.write(write_fd, json.dumps({"layers": [], "error": repr(exc)}).encode())
                    os._exit(1)
            os.waitpid(grandchild, 0)
            shutil.rmtree(workdir, ignore_errors=True)
            os.write(write_fd, b"\n" + json.dumps({"missing": _state.missing}).encode())
        finally:
            os._exit(0)
    os.close(write_fd)
    chunks = []
    while chunk := os.read(read_fd, 65536):
        chunks.append(chunk)
    os.close(read_fd)
    os.waitpid(pid, 0)
    child_part, _, server_part = b"".join(chunks).decode().partition("\n")
    result: dict[str, Any] = {"layers": [], "missing": {}}
    result.update(json.loads(child_part or '{"error": "the probe child died"}'))
    result.update(json.loads(server_part or "{}"))
    if "import_error" in result:
        result["missing"]["python_imports"] = result.pop("import_error")
    return result


def isolation_report() -> dict[str, Any]:
    """The layers a grader child gets on this machine, and why each missing one is missing."""
    probe = _probe()
    layers = list(probe.get("layers", []))
    return {
        "platform": f"{platform.system()} {platform.release()} {platform.machine()}",
        "running_as_root": hasattr(os, "geteuid") and os.geteuid() == 0,
        "sandbox_uid": SANDBOX_UID if "uid_drop" in layers else None,
        "landlock_abi": landlock.abi_version()[0],
        "layers": layers,
        "missing": dict(probe.get("missing", {})),
        "error": probe.get("error"),
        "available": layers_sufficient(layers),
    }


def layers_sufficient(layers: list[str] | tuple[str, ...]) -> bool:
    """Whether a child with these active layers may run untrusted code (see below)."""
    root = hasattr(os, "geteuid") and os.geteuid() == 0
    confined = "landlock" in layers or "readonly_mounts" in layers
    return "seccomp" in layers and confined and (not root or "uid_drop" in layers)


def isolation_available() -> bool:
    """Whether untrusted code may be graded here without an explicit unsafe flag.

    True when a child gets seccomp, write confinement (Landlock or read-only mounts) and, when
    running as root, the uid drop. ``grade(..., unsafe=True)`` or ``STUDENT_GYM_UNSAFE=1``
    is the caller's way to grade anyway.
    """
    return layers_sufficient(isolation_report()["layers"])


def unsafe_requested(unsafe: bool = False) -> bool:
    """The explicit opt-out: the ``unsafe`` argument or ``STUDENT_GYM_UNSAFE=1``."""
    return unsafe or os.environ.get(UNSAFE_ENV, "").strip().lower() in ("1", "true", "yes")


def require_isolation(unsafe: bool = False) -> None:
    """Raise unless isolation is available or the caller explicitly asked for unsafe grading.

    Raises:
        RuntimeError: naming the missing layers and how to opt out.
    """
    if unsafe_requested(unsafe) or isolation_available():
        return
    report = isolation_report()
    missing = "; ".join(f"{k}: {v}" for k, v in report["missing"].items()) or report.get("error")
    raise RuntimeError(
        f"refusing to grade untrusted code: the sandbox is incomplete on {report['platform']} "
        f"(active: {', '.join(report['layers']) or 'none'}; missing: {missing}). Pass "
        f"unsafe=True or set {UNSAFE_ENV}=1 to grade anyway, only for code you trust."
    )


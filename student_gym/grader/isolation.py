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
gracefully and is reported: :func:`probe_report` says what is active here and why the
rest is not; :func:`layers_sufficient` is the one policy on whether untrusted code may run at
all (seccomp, confinement, and a uid drop when running as root are the minimum) and
:func:`refuse` applies it.

``STUDENT_GYM_ISOLATION_DISABLE=landlock,user_namespace`` (comma-separated layer names) turns
layers off, for tests of the fallbacks and for debugging.
"""

from __future__ import annotations

import ctypes
import functools
import gc
import importlib.util
import json
import os
import platform
import shutil
import sysconfig
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from student_gym.grader import isolation_namespaces as namespaces
from student_gym.grader import landlock, seccomp_filter
from student_gym.grader.assignments import Limits

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
    confinement: landlock.Confinement | None = None
    read_roots: tuple[str, ...] = ()  # what every child and judge may read (Landlock)
    uid_pool: bool = False  # root: children get distinct uids from a mapped pool
    view: str | None = None  # without Landlock: a read-only view of the read roots to chroot in
    tmpfs: bool = False  # the server may mount a tmpfs per child directory
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
        state.uid_pool = root
        if root:  # a mount namespace owned by the user namespace: the server may mount tmpfs
            _try(state, off, "tmpfs_workdirs", namespaces.enter_mount_namespace)
    for name, flag in order:
        action = (
            namespaces.enter_mount_namespace
            if flag == namespaces.CLONE_NEWNS
            else (lambda flag=flag, name=name: namespaces.unshare(flag, name))
        )
        if _try(state, off, name, action):
            names.append(name)
    state.namespaces = tuple(names)
    if "tmpfs_workdirs" in off:
        state.missing["tmpfs_workdirs"] = f"disabled by {DISABLE_ENV}"
    elif "user_namespace" in names or root:
        state.tmpfs = namespaces.tmpfs_mountable()
        if not state.tmpfs:
            state.missing["tmpfs_workdirs"] = "the server cannot mount a tmpfs here"
    else:
        state.missing["tmpfs_workdirs"] = "no user namespace to mount a tmpfs in"


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
        state.confinement = landlock.Confinement(state.landlock_abi)
        state.read_roots = tuple(read_roots())
    elif "readonly_mounts" not in off:
        state.readonly_mounts = _probe_readonly_mounts(state)
        if state.tmpfs and "readonly_view" not in off:
            try:  # reads confined too: children chroot into a view holding only the read roots
                state.view = namespaces.build_read_view(read_roots(), MAX_VIEW_SLOTS)
            except OSError as exc:
                state.missing["readonly_view"] = str(exc)
        elif "readonly_view" in off:
            state.missing["readonly_view"] = f"disabled by {DISABLE_ENV}"
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


def read_roots() -> list[str]:
    """What a sandboxed process may read: the standard library (without ``site-packages``,
    where the project and other installed packages live), shared libraries, time zones and a
    few devices. Each entry of the standard library gets its own rule, so ``site-packages``
    beneath it stays unreadable."""
    roots: set[str] = set()
    for key in ("stdlib", "platstdlib"):
        base = os.path.realpath(sysconfig.get_paths()[key])
        if not os.path.isdir(base):
            continue
        for entry in os.listdir(base):
            if entry not in ("site-packages", "dist-packages"):
                roots.add(os.path.join(base, entry))
    multiarch = sysconfig.get_config_var("MULTIARCH") or f"{platform.machine()}-linux-gnu"
    for path in (f"/usr/lib/{multiarch}", f"/lib/{multiarch}", "/lib64", "/usr/lib64",
                 "/etc/ld.so.cache", "/usr/share/zoneinfo", "/etc/localtime", "/dev/urandom",
                 "/dev/random", "/dev/zero", sysconfig.get_config_var("LIBDIR") and os.path.join(
                     sysconfig.get_config_var("LIBDIR"),
                     sysconfig.get_config_var("LDLIBRARY") or "")):
        if path and os.path.exists(path):
            roots.add(os.path.realpath(path))
    return sorted(roots)


def package_roots(names: tuple[str, ...]) -> list[str]:
    """The directories of installed packages an assignment declares readable (e.g. numpy)."""
    roots = []
    for name in names:
        spec = importlib.util.find_spec(name) if name.isidentifier() else None
        if spec is None:
            continue
        for place in spec.submodule_search_locations or [spec.origin or ""]:
            if place and os.path.exists(place):
                roots.append(os.path.realpath(place))
                libs = os.path.join(os.path.dirname(os.path.realpath(place)), f"{name}.libs")
                if os.path.isdir(libs):
                    roots.append(libs)
    return roots


MAX_VIEW_SLOTS = 256  # slot directories made in the read-only view (workdirs.MAX_SLOTS)


def workdir_root() -> str | None:
    """Where the fork server's slots live when children chroot into the read-only view (its
    directories were made before the view became read-only); None: anywhere."""
    return None if _state is None or _state.view is None else f"{_state.view}/slots"


def inner_path(path: str) -> str:
    """``path`` as a child sees it after chrooting into the read-only view."""
    view = _state.view if _state is not None else None
    return path[len(view):] if view and path.startswith(view + "/") else path


def build_ruleset(write: list[str], packages: tuple[str, ...] = ()) -> int | None:
    """A Landlock ruleset (an fd, kept by the fork server and reused for every child of one
    directory): read the read roots and ``packages``, write beneath ``write``.

    None where there is no Landlock here (a child then confines writes with read-only mounts).

    Raises:
        OSError: a Landlock call failed.
    """
    state = _state
    if state is None or state.confinement is None:
        return None
    return state.confinement.ruleset([*state.read_roots, *package_roots(packages)], write)


def build_write_ruleset(write: list[str]) -> int | None:
    """A second, small Landlock ruleset that handles writes only and allows them beneath
    ``write``: stacked on :func:`build_ruleset`'s, it narrows a child's writes to its own
    directory. None where there is no Landlock.

    Raises:
        OSError: a Landlock call failed.
    """
    state = _state
    if state is None or state.confinement is None:
        return None
    return state.confinement.write_ruleset(write)


def child_uid(slot: int, role: str) -> int | None:
    """The uid a child (``role`` "child" or "judge") in ``slot`` runs as; None: no drop."""
    state = _state
    if state is None or not state.uid_drop:
        return None
    if not state.uid_pool:
        return SANDBOX_UID
    return namespaces.pool_uid(2 * slot + (role == "judge"))


def tmpfs_workdirs() -> bool:
    """Whether the fork server may mount a tmpfs for every child's directory."""
    return _state is not None and _state.tmpfs


def enter_child_sandbox(limits: Limits, workdir: str, ruleset_fds: tuple[int, ...] = (),
                        uid: int | None = None) -> tuple[str, ...]:
    """Apply the isolation layers to this freshly forked child; return the active ones.

    Called after the process group, rlimits, scrubbed environment and ``chdir(workdir)``,
    before any submission code. ``limits`` is accepted for the interface; resource limits
    are the caller's. ``ruleset_fds``: from :func:`build_ruleset` (and
    :func:`build_write_ruleset`) in the server, closed here; without them the child builds
    its Landlock ruleset itself. ``uid``: the uid to drop to
    (from :func:`child_uid`; default the sandbox uid). Seccomp goes last: after it
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
        uid = SANDBOX_UID if uid is None else uid
        if state.uid_drop and os.stat(workdir).st_uid != uid:
            try:  # the server already made it the child's; a judge's (read-only) dir stays
                os.chown(workdir, uid, uid)
            except OSError:
                pass
        if state.confinement is not None:
            if not ruleset_fds:
                ruleset_fds = (state.confinement.ruleset(list(state.read_roots), [workdir]),)
            for fd in ruleset_fds:
                layers += state.confinement.restrict(fd)
            layers.append("landlock_reads")
        elif state.view is not None and workdir.startswith(state.view + "/"):
            os.chroot(state.view)  # only the read roots and the slots, all but ours read-only
            os.chdir(workdir[len(state.view):])
            layers += ["readonly_mounts", "readonly_view"]
        elif state.readonly_mounts:
            namespaces.confine_with_mounts(workdir)
            layers.append("readonly_mounts")
        if state.uid_drop:
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)  # clears every capability
            layers.append("uid_drop")
            if state.uid_pool:
                layers.append("uid_per_child")
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


def probe_report() -> dict[str, Any]:
    """What a child gets on this machine, probed in throwaway forks (changes nothing here):
    its layers, why each missing one is missing, and the facts behind them. The public
    report, measured on the real fork server, is ``student_gym.grader.isolation_report``."""
    probe = _probe()
    return {
        "platform": f"{platform.system()} {platform.release()} {platform.machine()}",
        "running_as_root": hasattr(os, "geteuid") and os.geteuid() == 0,
        "landlock_abi": landlock.abi_version()[0],
        "layers": list(probe.get("layers", [])),
        "missing": dict(probe.get("missing", {})),
        "error": probe.get("error"),
    }


def layers_sufficient(layers: list[str] | tuple[str, ...]) -> bool:
    """THE policy: whether a child with these active layers may run untrusted code.

    Seccomp, confined writes (Landlock or read-only mounts) and, when running as root, the uid
    drop are the minimum; everything else is defence in depth.
    """
    root = hasattr(os, "geteuid") and os.geteuid() == 0
    confined = "landlock" in layers or "readonly_mounts" in layers
    return "seccomp" in layers and confined and (not root or "uid_drop" in layers)


def unsafe_requested(unsafe: bool = False) -> bool:
    """The explicit opt-out: the ``unsafe`` argument or ``STUDENT_GYM_UNSAFE=1``."""
    return unsafe or os.environ.get(UNSAFE_ENV, "").strip().lower() in ("1", "true", "yes")


def refuse(layers: list[str] | tuple[str, ...], unsafe: bool = False,
           why: str = "") -> None:
    """Raise unless ``layers`` suffice or the caller explicitly asked for unsafe grading.

    Raises:
        RuntimeError: naming the active layers, why the rest are missing, and the opt-out.
    """
    if unsafe_requested(unsafe) or layers_sufficient(layers):
        return
    raise RuntimeError(
        f"refusing to grade untrusted code: the sandbox is incomplete here (active: "
        f"{', '.join(layers) or 'none'}{'; ' + why if why else ''}). Pass unsafe=True or set "
        f"{UNSAFE_ENV}=1 to grade anyway, only for code you trust.")

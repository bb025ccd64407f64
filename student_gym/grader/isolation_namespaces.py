"""Namespaces and mounts for the grader's isolation layers (used by :mod:`.isolation`).

Thin ctypes wrappers over ``unshare``/``mount``/``mount_setattr``/``capset`` plus the two
mount-level tricks: exposing the Python installation to the sandbox uid, and the read-only
remount fallback that confines writes where the kernel has no Landlock.
"""

from __future__ import annotations

import ctypes
import functools
import os
import platform
import sys
import tempfile

SANDBOX_UID = SANDBOX_GID = 65534  # "nobody": owns nothing that matters, in every distro
# As root, each concurrent child and judge gets a uid of its own from this range, mapped into
# the server's user namespace (ids far above any real account's).
POOL_BASE, POOL_SIZE = 2_000_000_000, 1024
_MNT_DETACH = 2

CLONE_NEWNS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWNET = 0x20000, 0x8000000, 0x10000000, 0x40000000
_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_NOEXEC = 0x1, 0x2, 0x4, 0x8
_MS_BIND, MS_REC = 0x1000, 0x4000
MS_SLAVE = 1 << 19
_MS_REMOUNT_RO = 0x20 | _MS_RDONLY  # MS_REMOUNT | MS_RDONLY (with MS_BIND: this mount only)
_SYS_MOUNT_SETATTR, _AT_RECURSIVE, _MOUNT_ATTR_RDONLY = 442, 0x8000, 0x1
_SYS_CAPSET, _LINUX_CAPABILITY_VERSION_3 = {"x86_64": 126, "aarch64": 91}, 0x20080522


@functools.cache
def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def unshare(flags: int, what: str) -> None:
    _check(_libc().unshare(flags), f"unshare({what})")


def mount(
    source: str | None, target: str, fstype: str | None, flags: int, data: str | None
) -> None:
    enc = lambda s: None if s is None else s.encode()  # noqa: E731 - tiny local adapter
    _check(
        _libc().mount(enc(source), enc(target), enc(fstype), flags, enc(data)), f"mount {target}"
    )


def enter_mount_namespace() -> None:
    """A private mount namespace; mounts made in it never propagate back to the host."""
    unshare(CLONE_NEWNS, "CLONE_NEWNS")
    mount(None, "/", None, MS_REC | MS_SLAVE, None)


def private_proc_supported() -> bool:
    """Whether a new procfs instance takes its own options (Linux >= 5.8).

    On older kernels every procfs mount shares one superblock, so ``hidepid`` on ours would
    change the host's ``/proc`` too: never try it there.
    """
    try:
        major, minor = (int(x) for x in platform.release().split(".")[:2])
    except ValueError:
        return False
    return (major, minor) >= (5, 8)


def mount_private_proc() -> None:
    """Mount a fresh procfs on /proc where processes of other users are invisible.

    A dropped child (uid 65534, not dumpable) then sees only itself: not the grader, not the
    training process's command line, not its neighbours.
    """
    mount("proc", "/proc", "proc", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC, "hidepid=invisible")


def enter_user_namespace(root: bool) -> None:
    """Enter a new user namespace mapping ourselves (and, as root, the sandbox uid and the
    pool of per-child uids) 1:1.

    Only a process outside the namespace may write a map with more than one line, so as root
    a helper forked beforehand writes ``0 0 1`` plus ``65534 65534 1`` for us.
    """
    uid, gid = os.getuid(), os.getgid()
    if not root:
        unshare(CLONE_NEWUSER, "CLONE_NEWUSER")
        for name, text in (
            ("setgroups", "deny"),
            ("uid_map", f"{uid} {uid} 1"),
            ("gid_map", f"{gid} {gid} 1"),
        ):
            with open(f"/proc/self/{name}", "w") as f:
                f.write(text)
        return
    go_read, go_write = os.pipe()
    helper = os.fork()
    if helper == 0:  # still in the parent namespace, with CAP_SETUID there
        code = 1
        try:
            os.close(go_write)
            if os.read(go_read, 1) == b"1":
                maps = (f"0 0 1\n{SANDBOX_UID} {SANDBOX_UID} 1\n"
                        f"{POOL_BASE} {POOL_BASE} {POOL_SIZE}\n")
                for name in ("uid_map", "gid_map"):
                    with open(f"/proc/{os.getppid()}/{name}", "w") as f:
                        f.write(maps)
                code = 0
        finally:
            os._exit(code)
    os.close(go_read)
    try:
        unshare(CLONE_NEWUSER, "CLONE_NEWUSER")
        os.write(go_write, b"1")
    finally:
        os.close(go_write)
        _, status = os.waitpid(helper, 0)
    if status != 0 or os.getuid() != 0:
        raise OSError(f"the uid/gid map helper failed (status {status})")


def _sandbox_can(path: str, need: int) -> bool:
    """Whether the sandbox uid passes ``need`` (an 'other'-style mask like 0o5) on ``path``."""
    st = os.stat(path)
    if st.st_uid == SANDBOX_UID:
        mode = st.st_mode >> 6
    elif st.st_gid == SANDBOX_GID:
        mode = st.st_mode >> 3
    else:
        mode = st.st_mode
    return mode & need == need


def _python_paths() -> set[str]:
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix, *sys.path}
    paths.add(os.path.dirname(os.__file__))
    return {os.path.realpath(p or ".") for p in paths if os.path.isdir(p or ".")}


def expose_python_paths() -> list[str]:
    """Make every directory Python imports from reachable for the sandbox uid.

    A Python installed under ``/root`` (mode 0700, as with pyenv) would otherwise leave the
    dropped child unable to import any module not already loaded. In the server's private
    mount namespace, each such blocking directory gets a tmpfs (mode 0755) laid over it and
    only the entries leading to Python's paths are bind-mounted back: the child can import,
    and the rest of ``/root`` is not even visible. Returns the directories so exposed.
    """
    plan: dict[str, set[str] | None] = {}  # blocking dir -> entries to rebind (None = all)
    for path in _python_paths():
        parts = path.strip("/").split("/")
        for depth in range(len(parts) + 1):
            here = "/" + "/".join(parts[:depth])
            leaf = depth == len(parts)
            if _sandbox_can(here, 0o5 if leaf else 0o1):
                continue
            if leaf:
                plan[here] = None
            elif plan.get(here, set()) is not None:
                plan.setdefault(here, set()).add(parts[depth])
    for here in sorted(plan, key=lambda p: p.count("/")):
        entries = plan[here]
        names = sorted(os.listdir(here)) if entries is None else sorted(entries)
        kinds = {name: os.path.isdir(os.path.join(here, name)) for name in names}
        fd = os.open(here, os.O_PATH | os.O_DIRECTORY)
        try:
            mount("tmpfs", here, "tmpfs", _MS_NOSUID | _MS_NODEV, "mode=755,size=64k")
            for name in names:
                target = os.path.join(here, name)
                if kinds[name]:
                    os.mkdir(target)
                else:
                    open(target, "w").close()
                mount(f"/proc/self/fd/{fd}/{name}", target, None, _MS_BIND | MS_REC, None)
            mount(None, here, None, _MS_BIND | _MS_REMOUNT_RO, None)
        finally:
            os.close(fd)
    return sorted(plan)


def confine_with_mounts(workdir: str) -> None:
    """Fallback write confinement: a private mount namespace where all but workdir is read-only."""
    unshare(CLONE_NEWNS, "CLONE_NEWNS")
    mount(None, "/", None, MS_REC | MS_SLAVE, None)
    mount(workdir, workdir, None, _MS_BIND, None)
    for path, attr_set, attr_clr in (
        ("/", _MOUNT_ATTR_RDONLY, 0),
        (workdir, 0, _MOUNT_ATTR_RDONLY),
    ):
        attr = ctypes.create_string_buffer(
            attr_set.to_bytes(8, "little") + attr_clr.to_bytes(8, "little") + bytes(16), 32
        )
        result = _libc().syscall(_SYS_MOUNT_SETATTR, -100, path.encode(), _AT_RECURSIVE, attr, 32)
        _check(result, f"mount_setattr({path})")
    os.chdir(workdir)  # the old cwd still points into the now read-only mount below


def drop_capabilities() -> None:
    """Clear every capability set (a non-root server is all-powerful in its user namespace)."""
    header = (ctypes.c_uint32 * 2)(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (ctypes.c_uint32 * 6)()
    _check(_libc().syscall(_SYS_CAPSET[platform.machine()], header, data), "capset")


def pool_uid(index: int) -> int:
    """The ``index``-th uid of the per-child pool."""
    if not 0 <= index < POOL_SIZE:
        raise ValueError(f"uid pool index {index} out of range")
    return POOL_BASE + index


def mount_tmpfs(path: str, size: int, inodes: int, uid: int) -> None:
    """A private tmpfs on ``path``: ``size`` bytes, ``inodes`` files, owned by ``uid``, 0700."""
    mount("tmpfs", path, "tmpfs", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC,
          f"size={size},nr_inodes={inodes},mode=0700,uid={uid},gid={uid}")


def unmount_lazily(path: str) -> None:
    """Detach the mount on ``path`` now; the kernel frees it once nothing uses it."""
    _check(_libc().umount2(path.encode(), _MNT_DETACH), f"umount {path}")


def tmpfs_mountable() -> bool:
    """Whether this process may mount (and unmount) a tmpfs, tried on a scratch directory."""
    scratch = tempfile.mkdtemp(prefix="student-gym-tmpfs-probe-")
    try:
        mount_tmpfs(scratch, 1 << 16, 16, os.getuid())
        unmount_lazily(scratch)
        return True
    except OSError:
        return False
    finally:
        os.rmdir(scratch)


def build_read_view(read_paths: list[str], slots: int) -> str:
    """A read-only view of ``read_paths`` (each at its own absolute path inside it) plus
    ``/dev/null`` and ``slots`` empty slot directories under ``/slots``: where children chroot
    when there is no Landlock, so their reads are confined as well as their writes. Built once
    in the server's mount namespace; returns the view's path.

    Raises:
        OSError: a mount failed.
    """
    view = tempfile.mkdtemp(prefix="student-gym-view-")
    mount("tmpfs", view, "tmpfs", _MS_NOSUID | _MS_NODEV, "mode=755,size=4m")
    covered: list[str] = []
    for path in sorted(read_paths):
        if any(path == c or path.startswith(c + "/") for c in covered):
            continue  # beneath a root already mounted (e.g. /etc/localtime's zone file)
        covered.append(path)
        target = view + path
        if os.path.isdir(path):
            os.makedirs(target, exist_ok=True)
        else:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            open(target, "a").close()
        mount(path, target, None, _MS_BIND | MS_REC, None)
        mount(None, target, None, _MS_BIND | _MS_REMOUNT_RO | _MS_NOSUID, None)
    os.makedirs(view + "/dev", exist_ok=True)
    open(view + "/dev/null", "a").close()
    mount(os.devnull, view + "/dev/null", None, _MS_BIND, None)
    os.makedirs(view + "/slots", mode=0o711)
    for index in range(slots):  # made now: the view becomes read-only below
        os.makedirs(f"{view}/slots/{index}/w", mode=0o700)
        os.chmod(f"{view}/slots/{index}", 0o711)
    os.makedirs(view + "/slots/judge", mode=0o755)
    os.makedirs(view + "/slots/trash", mode=0o700)
    mount(None, view, None, 0x20 | _MS_RDONLY | _MS_NOSUID | _MS_NODEV, None)  # MS_REMOUNT
    return view

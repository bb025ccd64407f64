"""Landlock: confine what a grader child may read and write (Linux >= 5.13).

Landlock is an unprivileged, stackable LSM: a process builds a ruleset, restricts itself,
and from then on it and its threads can only do the handled actions where a rule allows
them. Here the handled actions are reading files and listing directories, every way of
changing the file system (write, truncate, create, remove, rename/link across directories,
make devices/fifos/sockets/symlinks) and executing files. The rules grant reading beneath a
few read-only roots (the standard library without its ``site-packages``, shared libraries,
time zones, a few devices, and packages an assignment declares) and everything but executing
beneath the child's own temporary directory, plus writing to ``/dev/null``. So a child can
read neither the project's package data nor courses, assignments, the caller's files, other
users' files or a sibling's directory.

Newer ABIs add more, used when the kernel has them: v4 denies TCP bind/connect, v6 scopes
signals and abstract unix sockets to the child's own domain (no signalling the grader or a
neighbouring submission even under the same uid).

The probe is a version query (``landlock_create_ruleset(NULL, 0, VERSION)``), because
``/sys/kernel/security/lsm`` is often unreadable.
"""

from __future__ import annotations

import ctypes
import functools
import os
import platform
import stat
import struct

# Syscall numbers: identical on every architecture (added in Linux 5.13).
_CREATE_RULESET, _ADD_RULE, _RESTRICT_SELF = 444, 445, 446
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1

# Filesystem access rights (linux/landlock.h); the ABI version that introduced them.
EXECUTE = 1 << 0
WRITE_FILE = 1 << 1
READ_FILE = 1 << 2
READ_DIR = 1 << 3
REMOVE_DIR = 1 << 4
REMOVE_FILE = 1 << 5
MAKE_CHAR = 1 << 6
MAKE_DIR = 1 << 7
MAKE_REG = 1 << 8
MAKE_SOCK = 1 << 9
MAKE_FIFO = 1 << 10
MAKE_BLOCK = 1 << 11
MAKE_SYM = 1 << 12
REFER = 1 << 13  # v2
TRUNCATE = 1 << 14  # v3
_NET_BIND_TCP, _NET_CONNECT_TCP = 1 << 0, 1 << 1  # v4
_SCOPE_ABSTRACT_UNIX_SOCKET, _SCOPE_SIGNAL = 1 << 0, 1 << 1  # v6

_WRITES_V1 = (
    WRITE_FILE | REMOVE_DIR | REMOVE_FILE | MAKE_CHAR | MAKE_DIR | MAKE_REG | MAKE_SOCK
    | MAKE_FIFO | MAKE_BLOCK | MAKE_SYM
)  # fmt: skip
_FILE_ONLY_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE  # rights a file rule may carry
_READS = READ_FILE | READ_DIR
_PR_SET_NO_NEW_PRIVS = 38


@functools.cache
def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _fail(what: str) -> OSError:
    err = ctypes.get_errno()
    return OSError(err, f"landlock {what}: {os.strerror(err)}")


def abi_version() -> tuple[int, str]:
    """The kernel's Landlock ABI version (0 when absent) and, if absent, why."""
    if platform.system() != "Linux":
        return 0, f"Landlock is Linux-only (this is {platform.system()})"
    version = _libc().syscall(_CREATE_RULESET, None, 0, _CREATE_RULESET_VERSION)
    if version >= 1:
        return int(version), ""
    err = ctypes.get_errno()
    reasons = {
        38: "the kernel has no Landlock (ENOSYS; needs Linux >= 5.13 with CONFIG_SECURITY_LANDLOCK)",
        95: "Landlock is built in but not enabled (EOPNOTSUPP; add it to the lsm= boot option)",
    }
    return 0, reasons.get(err, f"Landlock probe failed: {os.strerror(err)}")


@functools.cache
def handled_rights(abi: int) -> tuple[int, int, int]:
    """(filesystem, network, scope) bits handled at this ABI version."""
    fs = _WRITES_V1 | EXECUTE | _READS
    if abi >= 2:
        fs |= REFER
    if abi >= 3:
        fs |= TRUNCATE
    net = _NET_BIND_TCP | _NET_CONNECT_TCP if abi >= 4 else 0
    scope = _SCOPE_ABSTRACT_UNIX_SOCKET | _SCOPE_SIGNAL if abi >= 6 else 0
    return fs, net, scope


class Confinement:
    """Everything a child needs to confine its reads and writes, built once in the server.

    The ctypes buffers are prepared before any fork; rulesets are built in the fork server
    (once per child directory, then reused: a ruleset may restrict any number of processes),
    so a child only restricts itself with one (two syscalls): a fresh child pays a
    copy-on-write page fault for every Python object it touches, and that is what costs.
    """

    def __init__(self, abi: int) -> None:
        fs, net, scope = handled_rights(abi)
        self.fs = fs
        # struct landlock_ruleset_attr grew with the ABI: fs (v1), net (v4), scoped (v6).
        self.attr_size = 24 if abi >= 6 else 16 if abi >= 4 else 8
        self.attr = ctypes.create_string_buffer(struct.pack("<QQQ", fs, net, scope), 24)
        self.rule = ctypes.create_string_buffer(12)
        self.libc = _libc()
        self.syscall, self.prctl = self.libc.syscall, self.libc.prctl  # resolved before forks

    def _add_rule(self, ruleset_fd: int, path: str, access: int) -> None:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
        try:
            if not stat.S_ISDIR(os.fstat(fd).st_mode):
                access &= _FILE_ONLY_RIGHTS
            # struct landlock_path_beneath_attr { __u64 allowed_access; __s32 parent_fd; }
            struct.pack_into("<Qi", self.rule, 0, access & self.fs, fd)
            if self.syscall(_ADD_RULE, ruleset_fd, _RULE_PATH_BENEATH, self.rule, 0) != 0:
                raise _fail(f"add_rule({path})")
        finally:
            os.close(fd)

    def ruleset(self, read: list[str], write: list[str]) -> int:
        """A ruleset fd (the caller closes it): read beneath ``read``, everything but
        executing beneath ``write``, and ``/dev/null`` writable.

        Raises:
            OSError: a Landlock call failed.
        """
        ruleset_fd = self.syscall(_CREATE_RULESET, self.attr, self.attr_size, 0)
        if ruleset_fd < 0:
            raise _fail("create_ruleset")
        try:
            for path in read:
                if os.path.exists(path):
                    self._add_rule(ruleset_fd, path, _READS)
            for path in write:
                self._add_rule(ruleset_fd, path, self.fs & ~EXECUTE)
            self._add_rule(ruleset_fd, os.devnull, READ_FILE | WRITE_FILE | TRUNCATE)
        except BaseException:
            os.close(ruleset_fd)
            raise
        return int(ruleset_fd)

    def write_ruleset(self, write: list[str]) -> int:
        """A ruleset handling only file-system changes, allowed beneath ``write`` (and on
        ``/dev/null``); reads and executing are left to the ruleset it is stacked on.

        Raises:
            OSError: a Landlock call failed.
        """
        writes = self.fs & ~(_READS | EXECUTE)
        attr = ctypes.create_string_buffer(struct.pack("<QQQ", writes, 0, 0), 24)
        ruleset_fd = self.syscall(_CREATE_RULESET, attr, 8, 0)
        if ruleset_fd < 0:
            raise _fail("create_ruleset")
        try:
            for path in write:
                self._add_rule(ruleset_fd, path, writes)
            self._add_rule(ruleset_fd, os.devnull, WRITE_FILE | TRUNCATE)
        except BaseException:
            os.close(ruleset_fd)
            raise
        return int(ruleset_fd)

    def restrict(self, ruleset_fd: int) -> tuple[str, ...]:
        """Restrict this process with a ruleset from :meth:`ruleset`, then close it.

        Sets no_new_privs (Landlock requires it of unprivileged callers). Returns the layer
        names now active: ``("no_new_privs", "landlock")``.

        Raises:
            OSError: a Landlock call failed; the caller treats the layer as missing.
        """
        try:
            if self.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
                raise _fail("prctl(PR_SET_NO_NEW_PRIVS)")
            if self.syscall(_RESTRICT_SELF, ruleset_fd, 0) != 0:
                raise _fail("restrict_self")
        finally:
            os.close(ruleset_fd)
        return ("no_new_privs", "landlock")

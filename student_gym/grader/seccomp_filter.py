"""A hand-built seccomp BPF filter for sandboxed grader children (x86_64 and aarch64).

No libseccomp is needed: the program is a short list of classic BPF instructions, assembled
once per process (:func:`build_filter`) and patched with the child's own pid before it is
installed (:class:`PreparedFilter`). It is a deny list on top of the other layers, not an allow
list: novice programs and the libraries they import make unpredictable but harmless syscalls,
while the dangerous ones are few and well known.

What it does:

* another architecture's syscall ABI (i386 ``int 0x80``, x32) kills the process: its syscall
  numbers would slip past the table;
* ``clone3`` fails with ``ENOSYS`` so glibc falls back to ``clone``, whose flags a filter can
  read (``clone3`` passes them in memory). ``clone`` is allowed only with ``CLONE_THREAD`` and
  no namespace flags: threads work, ``fork``/``vfork``/``posix_spawn`` do not;
* ``kill``/``tgkill``/``rt_sigqueueinfo``/``prlimit64`` may only target the child itself (its
  pid, its process group, or 0): no signalling the grader or neighbouring submissions;
* the scheduling, priority and memory-placement calls (``sched_setaffinity``,
  ``sched_setscheduler``, ``sched_setparam``, ``sched_setattr``, ``setpriority``,
  ``ioprio_set``, ``migrate_pages``, ``move_pages``) may only target the child itself (its pid
  or 0; ``setpriority``/``ioprio_set`` only for one process): no slowing a sibling down;
* ``ioctl(TIOCSTI/TIOCLINUX)`` (typing into a terminal) is refused, and so is naming a SIGIO
  target (``fcntl`` ``F_SETOWN``/``F_SETOWN_EX``/``F_SETSIG``, ``ioctl`` ``FIOSETOWN``/
  ``SIOCSPGRP``): the kernel would signal any process of the same uid on the child's behalf;
* System V IPC (shared memory, message queues, semaphores) is refused: its objects would
  outlive the child and be seen by later submissions;
* exec, fork, sockets, ptrace and friends, mounts and namespaces, identity changes, keyrings,
  io_uring (which would bypass this filter), bpf, perf, kernel modules, clocks and reboot fail
  with ``EPERM``, so a submission sees an ordinary ``PermissionError``.

For every other syscall the verdict does not depend on the arguments, so the kernel's seccomp
action cache lets it through without running the program at all: the filter costs nothing on
the hot path.
"""

from __future__ import annotations

import ctypes
import errno
import functools
import os
import platform
import struct
from dataclasses import dataclass

# Classic BPF opcodes (linux/filter.h) and seccomp constants (linux/seccomp.h).
_LD_W_ABS = 0x20  # BPF_LD | BPF_W | BPF_ABS
_JEQ_K = 0x15  # BPF_JMP | BPF_JEQ | BPF_K
_JGE_K = 0x35  # BPF_JMP | BPF_JGE | BPF_K
_JSET_K = 0x45  # BPF_JMP | BPF_JSET | BPF_K
_RET_K = 0x06  # BPF_RET | BPF_K
_JA = 0x05  # BPF_JMP | BPF_JA: unconditional, 32-bit offset in k

RET_KILL_PROCESS = 0x80000000
RET_ERRNO = 0x00050000
RET_ALLOW = 0x7FFF0000

PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
SECCOMP_SET_MODE_FILTER = 1
SECCOMP_GET_ACTION_AVAIL = 2
SECCOMP_FILTER_FLAG_TSYNC = 1

# struct seccomp_data: int nr; __u32 arch; __u64 instruction_pointer; __u64 args[6].
_OFF_NR, _OFF_ARCH = 0, 4


def _arg_low(i: int) -> int:
    return 16 + 8 * i  # low 32 bits of args[i] (little-endian on both supported arches)


CLONE_THREAD = 0x00010000
CLONE_NAMESPACES = (
    0x00020000  # CLONE_NEWNS
    | 0x02000000  # CLONE_NEWCGROUP
    | 0x04000000  # CLONE_NEWUTS
    | 0x08000000  # CLONE_NEWIPC
    | 0x10000000  # CLONE_NEWUSER
    | 0x20000000  # CLONE_NEWPID
    | 0x40000000  # CLONE_NEWNET
)
# ioctls refused: TIOCSTI, TIOCLINUX (typing into a terminal), FIOSETOWN, SIOCSPGRP (a SIGIO
# target: signals sent by the kernel on the child's behalf, past the own-pid rule for kill)
_TTY_IOCTLS = (0x5412, 0x541C, 0x8901, 0x8902)
_FCNTL_SIGIO = (8, 10, 15)  # F_SETOWN, F_SETSIG, F_SETOWN_EX: the same, through fcntl
# Calls that act on another process given by pid in their first argument: only on itself.
SELF_ONLY = ("sched_setparam", "sched_setscheduler", "sched_setaffinity", "sched_setattr",
             "migrate_pages", "move_pages")
_PRIO_PROCESS, _IOPRIO_WHO_PROCESS = 0, 1

# Denied outright with EPERM. Names are shared; numbers come from the arch table below.
DENIED = (
    # new programs and processes
    "execve", "execveat", "fork", "vfork",
    # network (plus a fresh network namespace where the kernel allows one)
    "socket", "socketpair", "connect", "bind", "listen", "accept", "accept4",
    # other processes
    "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "tkill", "pidfd_open",
    "pidfd_send_signal", "pidfd_getfd", "process_madvise", "process_mrelease",
    # mounts, namespaces, root
    "mount", "umount2", "pivot_root", "chroot", "unshare", "setns", "open_tree", "move_mount",
    "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr", "name_to_handle_at",
    "open_by_handle_at", "quotactl", "quotactl_fd",
    # identity and privileges (already dropped; keep them dropped)
    "setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid", "setgroups",
    "setfsuid", "setfsgid", "capset", "personality",
    # kernel facilities a novice program has no business with
    "keyctl", "add_key", "request_key", "bpf", "perf_event_open", "userfaultfd",
    "io_uring_setup", "io_uring_enter", "io_uring_register", "fanotify_init",
    "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
    "reboot", "swapon", "swapoff", "acct", "syslog", "vhangup",
    "settimeofday", "clock_settime", "adjtimex", "clock_adjtime",
    "sethostname", "setdomainname", "iopl", "ioperm", "uselib",
    # System V IPC: objects that would outlive the child and be shared with later submissions
    "shmget", "shmat", "shmctl", "shmdt", "msgget", "msgsnd", "msgrcv", "msgctl",
    "semget", "semop", "semctl", "semtimedop",
)  # fmt: skip

_X86_64 = {
    "ioctl": 16, "socket": 41, "connect": 42, "accept": 43, "bind": 49, "listen": 50,
    "socketpair": 53, "clone": 56, "fork": 57, "vfork": 58, "execve": 59, "kill": 62,
    "ptrace": 101, "syslog": 103, "setuid": 105, "setgid": 106, "setreuid": 113,
    "setregid": 114, "setgroups": 116, "setresuid": 117, "setresgid": 119, "setfsuid": 122,
    "setfsgid": 123, "capset": 126, "rt_sigqueueinfo": 129, "uselib": 134, "personality": 135,
    "vhangup": 153, "pivot_root": 155, "adjtimex": 159, "chroot": 161, "acct": 163,
    "settimeofday": 164, "mount": 165, "umount2": 166, "swapon": 167, "swapoff": 168,
    "reboot": 169, "sethostname": 170, "setdomainname": 171, "iopl": 172, "ioperm": 173,
    "init_module": 175, "delete_module": 176, "quotactl": 179, "tkill": 200,
    "clock_settime": 227, "tgkill": 234, "kexec_load": 246, "add_key": 248,
    "request_key": 249, "keyctl": 250, "unshare": 272, "accept4": 288,
    "rt_tgsigqueueinfo": 297, "perf_event_open": 298, "fanotify_init": 300, "prlimit64": 302,
    "name_to_handle_at": 303, "open_by_handle_at": 304, "clock_adjtime": 305, "setns": 308,
    "process_vm_readv": 310, "process_vm_writev": 311, "kcmp": 312, "finit_module": 313,
    "seccomp": 317, "kexec_file_load": 320, "bpf": 321, "execveat": 322, "userfaultfd": 323,
    "setpriority": 141, "sched_setparam": 142, "sched_setscheduler": 144,
    "sched_setaffinity": 203, "ioprio_set": 251, "migrate_pages": 256, "move_pages": 279,
    "sched_setattr": 314, "fcntl": 72,
    "shmget": 29, "shmat": 30, "shmctl": 31, "semget": 64, "semop": 65, "semctl": 66,
    "shmdt": 67, "msgget": 68, "msgsnd": 69, "msgrcv": 70, "msgctl": 71, "semtimedop": 220,
}  # fmt: skip

_AARCH64 = {  # asm-generic numbers; aarch64 has no fork, vfork, iopl, ioperm or uselib
    "ioctl": 29, "umount2": 39, "mount": 40, "pivot_root": 41, "chroot": 51, "vhangup": 58,
    "quotactl": 60, "acct": 89, "capset": 91, "personality": 92, "unshare": 97,
    "kexec_load": 104, "init_module": 105, "delete_module": 106, "clock_settime": 112,
    "syslog": 116, "ptrace": 117, "kill": 129, "tkill": 130, "tgkill": 131,
    "rt_sigqueueinfo": 138, "reboot": 142, "setregid": 143, "setgid": 144, "setreuid": 145,
    "setuid": 146, "setresuid": 147, "setresgid": 149, "setfsuid": 151, "setfsgid": 152,
    "setgroups": 159, "sethostname": 161, "setdomainname": 162, "settimeofday": 170,
    "adjtimex": 171, "socket": 198, "socketpair": 199, "bind": 200, "listen": 201,
    "accept": 202, "connect": 203, "add_key": 217, "request_key": 218, "keyctl": 219,
    "clone": 220, "execve": 221, "swapon": 224, "swapoff": 225, "rt_tgsigqueueinfo": 240,
    "perf_event_open": 241, "accept4": 242, "prlimit64": 261, "fanotify_init": 262,
    "name_to_handle_at": 264, "open_by_handle_at": 265, "clock_adjtime": 266, "setns": 268,
    "process_vm_readv": 270, "process_vm_writev": 271, "kcmp": 272, "finit_module": 273,
    "seccomp": 277, "bpf": 280, "execveat": 281, "userfaultfd": 282, "kexec_file_load": 294,
    "ioprio_set": 30, "sched_setparam": 118, "sched_setscheduler": 119,
    "sched_setaffinity": 122, "setpriority": 140, "migrate_pages": 238, "move_pages": 239,
    "sched_setattr": 274, "fcntl": 25,
    "msgget": 186, "msgctl": 187, "msgrcv": 188, "msgsnd": 189, "semget": 190, "semctl": 191,
    "semtimedop": 192, "semop": 193, "shmget": 194, "shmctl": 195, "shmat": 196, "shmdt": 197,
}  # fmt: skip

_COMMON_NEW = {  # numbered alike on every architecture since Linux 5.1
    "pidfd_send_signal": 424, "io_uring_setup": 425, "io_uring_enter": 426,
    "io_uring_register": 427, "open_tree": 428, "move_mount": 429, "fsopen": 430,
    "fsconfig": 431, "fsmount": 432, "fspick": 433, "pidfd_open": 434, "clone3": 435,
    "pidfd_getfd": 438, "process_madvise": 440, "mount_setattr": 442, "quotactl_fd": 443,
    "process_mrelease": 448,
}  # fmt: skip

# machine -> (AUDIT_ARCH value, syscall table, first number of a foreign ABI or None)
ARCHES: dict[str, tuple[int, dict[str, int], int | None]] = {
    "x86_64": (0xC000003E, _X86_64 | _COMMON_NEW, 0x40000000),  # x32 numbers have bit 30
    "aarch64": (0xC00000B7, _AARCH64 | _COMMON_NEW, None),
}
ARCHES["amd64"] = ARCHES["x86_64"]
ARCHES["arm64"] = ARCHES["aarch64"]

# Placeholders patched per child: its pid, and its process group as kill() spells it (-pgid).
_PID, _NEG_PGID = "pid", "neg_pgid"


@functools.cache
def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


@dataclass
class SeccompProgram:
    """An assembled filter: packed instructions plus where the per-child constants go."""

    code: bytearray
    patches: list[tuple[int, str]]  # (instruction index, placeholder)

    @property
    def length(self) -> int:
        return len(self.code) // 8


class _Assembler:
    """Collects instructions; jump targets are labels resolved at the end."""

    def __init__(self) -> None:
        self.ops: list[tuple[int, str | int | None, str | int | None, int | str]] = []
        self.labels: dict[str, int] = {}

    def label(self, name: str) -> None:
        self.labels[name] = len(self.ops)

    def load(self, offset: int) -> None:
        self.ops.append((_LD_W_ABS, None, None, offset))

    def jump(self, op: int, k: int | str, jt: str | int, jf: str | int) -> None:
        """Conditional jump; a target is a label or 0 (= the next instruction)."""
        self.ops.append((op, jt, jf, k))

    def goto(self, target: str) -> None:
        self.ops.append((_JA, None, None, "@" + target))

    def ret(self, value: int) -> None:
        self.ops.append((_RET_K, None, None, value))

    def assemble(self) -> SeccompProgram:
        code = bytearray()
        patches: list[tuple[int, str]] = []
        for index, (op, jt, jf, k) in enumerate(self.ops):
            offsets = []
            for target in (jt, jf):
                if target is None or target == 0:
                    offsets.append(0)
                else:
                    offset = self.labels[str(target)] - index - 1
                    if not 0 <= offset < 256:
                        raise ValueError(f"seccomp jump to {target!r} out of range ({offset})")
                    offsets.append(offset)
            if isinstance(k, str) and k.startswith("@"):
                k = self.labels[k[1:]] - index - 1
            elif isinstance(k, str):
                patches.append((index, k))
                k = 0
            code += struct.pack("<HBBI", op, offsets[0], offsets[1], k)
        return SeccompProgram(code, patches)


def build_filter(machine: str | None = None) -> SeccompProgram:
    """Assemble the filter for ``machine`` (default: this one).

    Raises:
        OSError: the architecture has no syscall table here.
    """
    machine = machine or platform.machine()
    if machine not in ARCHES:
        raise OSError(errno.ENOSYS, f"no seccomp syscall table for architecture {machine!r}")
    audit_arch, table, foreign_from = ARCHES[machine]
    deny_eperm = RET_ERRNO | errno.EPERM
    a = _Assembler()
    a.load(_OFF_ARCH)
    a.jump(_JEQ_K, audit_arch, 0, "kill")
    a.load(_OFF_NR)
    if foreign_from is not None:
        a.jump(_JGE_K, foreign_from, "kill", 0)
    # Every syscall with a special verdict, dispatched by a binary search on its number: the
    # kernel emulates the filter for each syscall number when it is installed (to build its
    # action cache), so a short path per number keeps installing it cheap in every child.
    special = {table["clone3"]: "enosys", table["clone"]: "clone", table["ioctl"]: "ioctl",
               table["fcntl"]: "fcntl"}
    for name in ("kill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo", "prlimit64"):
        special[table[name]] = "own_pid"
    special.update((table[name], "self_arg0") for name in SELF_ONLY)
    special[table["setpriority"]] = "setpriority"
    special[table["ioprio_set"]] = "ioprio_set"
    special.update((table[name], "eperm") for name in DENIED if name in table)
    _emit_search(a, sorted(special.items()), "root")
    a.label("clone")  # threads only: CLONE_THREAD set, no namespace flags
    a.load(_arg_low(0))
    a.jump(_JSET_K, CLONE_THREAD, 0, "eperm")
    a.jump(_JSET_K, CLONE_NAMESPACES, "eperm", "allow")

    a.label("own_pid")  # first argument: 0 (own group / self), own pid or -own pgid
    a.load(_arg_low(0))
    a.jump(_JEQ_K, 0, "allow", 0)
    a.jump(_JEQ_K, _PID, "allow", 0)
    a.jump(_JEQ_K, _NEG_PGID, "allow", "eperm")

    a.label("self_arg0")  # first argument: 0 (the caller) or its own pid
    a.load(_arg_low(0))
    a.jump(_JEQ_K, 0, "allow", 0)
    a.jump(_JEQ_K, _PID, "allow", "eperm")

    # setpriority(which, who, prio) / ioprio_set(which, who, ioprio): one process, itself
    a.label("setpriority")
    a.load(_arg_low(0))
    a.jump(_JEQ_K, _PRIO_PROCESS, "who_self", "eperm")
    a.label("ioprio_set")
    a.load(_arg_low(0))
    a.jump(_JEQ_K, _IOPRIO_WHO_PROCESS, "who_self", "eperm")
    a.label("who_self")
    a.load(_arg_low(1))
    a.jump(_JEQ_K, 0, "allow", 0)
    a.jump(_JEQ_K, _PID, "allow", "eperm")

    a.label("fcntl")
    a.load(_arg_low(1))
    for command in _FCNTL_SIGIO:
        a.jump(_JEQ_K, command, "eperm", 0)
    a.goto("allow")

    a.label("ioctl")
    a.load(_arg_low(1))
    for request in _TTY_IOCTLS:
        a.jump(_JEQ_K, request, "eperm", 0)
    a.label("allow")
    a.ret(RET_ALLOW)
    a.label("eperm")
    a.ret(deny_eperm)
    a.label("enosys")
    a.ret(RET_ERRNO | errno.ENOSYS)
    a.label("kill")
    a.ret(RET_KILL_PROCESS)
    return a.assemble()


def _emit_search(a: _Assembler, entries: list[tuple[int, str]], name: str) -> None:
    """Emit a search over sorted (syscall number, label) pairs; unmatched numbers are allowed."""
    if len(entries) <= 4:
        for number, target in entries:
            a.jump(_JEQ_K, number, target, 0)
        a.goto("allow")
        return
    middle = len(entries) // 2
    a.jump(_JGE_K, entries[middle][0], f"{name}R", 0)
    _emit_search(a, entries[:middle], f"{name}L")
    a.label(f"{name}R")
    _emit_search(a, entries[middle:], f"{name}R")


def filter_available() -> tuple[bool, str]:
    """Whether this kernel takes seccomp filters, without installing one."""
    if not hasattr(os, "fork") or platform.system() != "Linux":
        return False, f"seccomp is Linux-only (this is {platform.system()})"
    if platform.machine() not in ARCHES:
        return False, f"no syscall table for {platform.machine()}"
    action = ctypes.c_uint32(RET_ERRNO)
    nr = ARCHES[platform.machine()][1]["seccomp"]
    if _libc().syscall(nr, SECCOMP_GET_ACTION_AVAIL, 0, ctypes.byref(action)) != 0:
        err = ctypes.get_errno()
        return False, f"seccomp filters unavailable: {os.strerror(err)}"
    return True, ""


class PreparedFilter:
    """A filter ready to install: buffers and ctypes objects built once, before any fork."""

    def __init__(self, program: SeccompProgram) -> None:
        self.code = bytearray(program.code)
        self.offsets = [(index * 8 + 4, placeholder) for index, placeholder in program.patches]
        # Where the child's pid and -pgid go (the k field of each patched instruction).
        self.pid_at = [o for o, placeholder in self.offsets if placeholder == _PID]
        self.neg_pgid_at = [o for o, placeholder in self.offsets if placeholder == _NEG_PGID]
        self.buffer = (ctypes.c_char * len(self.code)).from_buffer(self.code)
        self.fprog = _SockFprog(program.length, ctypes.addressof(self.buffer))
        self.fprog_ref = ctypes.byref(self.fprog)
        self.prctl = _libc().prctl  # resolved now, not in every child

    def install(self, pid: int, pgid: int) -> None:
        """Patch in this process's pid and group, set no_new_privs and install the filter.

        Must run in the (single-threaded) child right before the submission: afterwards the
        process can never exec, fork, open sockets or lift the filter.

        Raises:
            OSError: prctl refused (the caller treats that as a failed layer).
        """
        code = self.code  # little-endian u32 k fields; int.to_bytes keeps struct out of the child
        for offsets, value in ((self.pid_at, pid), (self.neg_pgid_at, -pgid)):
            data = (value & 0xFFFFFFFF).to_bytes(4, "little")
            for offset in offsets:
                code[offset : offset + 4] = data
        if self.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"prctl(PR_SET_NO_NEW_PRIVS): {os.strerror(err)}")
        if self.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, self.fprog_ref, 0, 0) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"prctl(PR_SET_SECCOMP): {os.strerror(err)}")

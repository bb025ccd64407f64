"""Slots: the fork server's per-child directories, uids and Landlock rulesets.

A slot is one child (and its judge) in flight. Slots are reused, so everything that can be
prepared once per slot is: its directory's path, its uids (as root, from a pool mapped into
the server's user namespace: no two children in flight share one) and its Landlock rulesets
(a ruleset fd restricts any number of processes). Per child, the server mounts a fresh tmpfs
on the slot's directory, limited in bytes and inodes and owned by the child's uid (0700), and
after the child ended detaches it with one lazy unmount: cleanup costs the same whatever the
program wrote (8,000 directories or a 3,000-deep chain), and nothing is left behind. Where no
tmpfs can be mounted, a fresh directory is used and removed by a background thread, without
recursion, off the server's loop.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from typing import Any

from student_gym.grader import isolation_namespaces as namespaces
from student_gym.grader.assignments import Limits

MAX_SLOTS = 256  # children in flight at once (two pool uids each: child and judge)
# (isolation.MAX_VIEW_SLOTS makes as many slot directories in the read-only view)


@dataclass
class Slot:
    index: int
    base: str  # root/<index>: owned by the server; Landlock's rules name this directory
    workdir: str  # base/w: the child's directory (a tmpfs mounted for each child)
    uids: dict[str, int | None]
    limits: dict[str, Any] = field(default_factory=dict)
    packages: tuple[str, ...] = ()
    mounted: bool = False
    write_ruleset: int | None = None  # this child's: writes beneath its own tmpfs only


class Slots:
    """The fork server's slots (see the module docstring)."""

    def __init__(self, isolation: Any) -> None:
        self.isolation = isolation
        view_root = isolation.workdir_root() if isolation is not None else None
        self.premade = view_root is not None  # in the read-only view: every directory exists
        self.root = view_root or tempfile.mkdtemp(prefix="student-gym-")
        if not self.premade:
            os.chmod(self.root, 0o711)  # traversable (a child resolves its path), not listable
        self.judge_dir = os.path.join(self.root, "judge")  # empty, read-only for judges
        if not self.premade:
            os.mkdir(self.judge_dir, 0o755)
        self.tmpfs = bool(isolation is not None and isolation.tmpfs_workdirs())
        self.free: list[int] = []
        self.count = 0
        self.rulesets: dict[tuple[int, str, tuple[str, ...]], int | None] = {}
        self.trash = os.path.join(self.root, "trash")
        if not self.premade:
            os.mkdir(self.trash, 0o700)

    def acquire(self, spec: dict[str, Any]) -> Slot:
        """A slot for one job, its directory ready (``spec``: the job's limits, packages)."""
        index = self.free.pop() if self.free else self._new_index()
        uids = {role: self._uid(index, role) for role in ("child", "judge")}
        base = os.path.join(self.root, str(index))
        slot = Slot(index, base, os.path.join(base, "w"), uids,
                    dict(spec.get("limits") or {}), tuple(spec.get("packages") or ()))
        limits = Limits(**slot.limits) if slot.limits else Limits()
        owner = uids["child"] if uids["child"] is not None else os.getuid()
        if self.tmpfs:
            namespaces.mount_tmpfs(slot.workdir, limits.disk_bytes, limits.disk_files, owner)
            slot.mounted = True
        else:
            os.mkdir(slot.workdir, 0o700)
            if uids["child"] is not None:
                os.chown(slot.workdir, owner, owner)
        if self.isolation is not None:
            # Landlock skips a mount point itself when it walks up from a file, so a rule on
            # the tmpfs's mount point would not hold: the cached ruleset names the slot's
            # base, and this one (built per child, after mounting) narrows writes to the tmpfs.
            slot.write_ruleset = self.isolation.build_write_ruleset([slot.workdir])
        return slot

    def _new_index(self) -> int:
        if self.count >= MAX_SLOTS:
            raise RuntimeError(f"more than {MAX_SLOTS} children in flight")
        index, self.count = self.count, self.count + 1
        if self.premade:
            return index
        base = os.path.join(self.root, str(index))
        os.mkdir(base, 0o711)  # the server's: a child can pass through it, not write in it
        if self.tmpfs:
            os.mkdir(os.path.join(base, "w"), 0o700)  # the mount point
        return index

    def _uid(self, index: int, role: str) -> int | None:
        return None if self.isolation is None else self.isolation.child_uid(index, role)

    def release(self, slot: Slot) -> None:
        """Detach the child's tmpfs (or hand its directory to the remover); free the slot."""
        if slot.write_ruleset is not None:
            os.close(slot.write_ruleset)
        if slot.mounted:
            namespaces.unmount_lazily(slot.workdir)
        else:
            doomed = os.path.join(self.trash, f"{slot.index}-{os.urandom(6).hex()}")
            os.rename(slot.workdir, doomed)
            threading.Thread(target=remove_tree, args=(doomed,), daemon=True).start()
        self.free.append(slot.index)

    def rulesets_for(self, slot: Slot, role: str) -> list[int]:
        """The Landlock rulesets a ``role`` process of this slot restricts itself with: the
        slot's (reads, and writes beneath its base), built once and kept, and for the child
        its own write ruleset. Empty where there is no Landlock."""
        key = (slot.index, role, slot.packages)
        if key not in self.rulesets:
            if self.isolation is None:
                self.rulesets[key] = None
            else:
                write = [slot.base] if role == "child" else []
                self.rulesets[key] = self.isolation.build_ruleset(write, slot.packages)
        found = [fd for fd in (self.rulesets[key],) if fd is not None]
        if role == "child" and slot.write_ruleset is not None:
            found.append(slot.write_ruleset)
        return found

    def limits_for(self, slot: Slot, role: str) -> dict[str, Any]:
        """A child runs under the job's limits; a kept judge under its own."""
        if role == "child":
            return slot.limits
        # A judge is kept from job to job: its CPU budget per job is a timer of its own (twice
        # the program's limit and a second); the rlimit is only a backstop for its lifetime.
        return {"cpu_seconds": 3600, "memory_mb": 1024, "file_size_bytes": 0, "open_files": 64}

    def close(self) -> None:
        for fd in self.rulesets.values():
            if fd is not None:
                os.close(fd)
        if self.premade:  # the view goes with the server's mount namespace
            return
        for index in range(self.count):
            try:
                namespaces.unmount_lazily(os.path.join(self.root, str(index), "w"))
            except OSError:
                pass
        remove_tree(self.root)


def remove_tree(path: str) -> None:
    """Remove a directory tree without recursion (a 3,000-deep chain must not crash us)."""
    pending = [path]
    while pending:
        top = pending[-1]
        try:
            os.chmod(top, 0o700)
            entries = list(os.scandir(top))
        except OSError:
            pending.pop()
            continue
        subdirs = [e.path for e in entries if e.is_dir(follow_symlinks=False)]
        for entry in entries:
            if not entry.is_dir(follow_symlinks=False):
                try:
                    os.unlink(entry.path)
                except OSError:
                    pass
        if subdirs:
            pending.extend(subdirs)
            continue
        pending.pop()
        try:
            os.rmdir(top)
        except OSError:
            shutil.rmtree(top, ignore_errors=True)

"""Which objects the submission made itself: the guard against always-equal results.

For check and scored-script tests the test code compares the candidate's results in the child,
so an object whose ``__eq__`` always says True would pass every assert. The harness refuses
(``forbidden``) any result that is, or contains, an instance of a class the submission
defined. A class counts as Python's or the standard library's when it existed in the fork
server before any submission ran (the snapshot children inherit), or when it comes from a
module installed on disk, is found there under its own name, and has no method compiled from
the student's files.
"""

from __future__ import annotations

import sys
import sysconfig
from typing import Any


def _all_types() -> set[type]:
    seen: set[type] = set()
    stack = [object]
    while stack:
        t = stack.pop()
        if t in seen:
            continue
        seen.add(t)
        try:
            stack.extend(type.__subclasses__(t))
        except TypeError:  # pragma: no cover - exotic metaclass
            pass
    return seen


_KNOWN_TYPES: frozenset[type] = frozenset()  # filled once in the server, shared by every child
_STDLIB_DIRS = tuple(
    {sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib", "purelib", "platlib")}
)


def snapshot_known_types() -> None:
    """Record every class that exists before any submission runs (called in the server)."""
    global _KNOWN_TYPES
    _KNOWN_TYPES = frozenset(_all_types())


def _defined_by_submission(t: type, student_files: frozenset[str]) -> bool:
    """Whether ``t`` was created by the submission (rather than Python or the stdlib)."""
    if t in _KNOWN_TYPES:
        return False
    for klass in t.__mro__:
        if klass in _KNOWN_TYPES:
            continue
        for member in vars(klass).values():
            code = getattr(getattr(member, "__func__", member), "__code__", None)
            if code is not None and code.co_filename in student_files:
                return True
        module = sys.modules.get(getattr(klass, "__module__", None) or "")
        path = getattr(module, "__file__", None) or ""
        if not path.startswith(_STDLIB_DIRS):
            return True  # made at run time, not by a module installed on disk
        found: Any = module
        for part in getattr(klass, "__qualname__", "").split("."):
            found = getattr(found, part, None)
        if found is not klass:  # claims an installed module but is not found there
            return True
    return False


def contains_submission_object(value: Any, student_files: frozenset[str], depth: int = 0) -> bool:
    if depth > 50:
        return False
    t = type(value)
    if t in (int, float, str, bool, bytes, complex, type(None)):
        return False
    if _defined_by_submission(t, student_files):
        return True
    if t in (list, tuple, set, frozenset):
        return any(contains_submission_object(v, student_files, depth + 1) for v in value)
    if t is dict:
        return any(
            contains_submission_object(k, student_files, depth + 1)
            or contains_submission_object(v, student_files, depth + 1)
            for k, v in value.items()
        )
    return False

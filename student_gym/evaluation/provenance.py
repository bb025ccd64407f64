"""Provenance of an evaluation run: package versions, seeds, course and model hashes.

Every results file carries it, so that a number can be traced to the code, data and model that
produced it.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from student_gym.course.model import Course
from student_gym.learners.contract import agent_name

PACKAGES = (
    "student-gym",
    "gymnasium",
    "numpy",
    "codebleu",
    "tree-sitter",
    "tree-sitter-python",
    "torch",
    "transformers",
    "trl",
    "peft",
    "openai",
)
# Files up to this size are hashed whole; larger ones (model weights) by size + head + tail, so
# that fingerprinting a 4B model takes milliseconds, not a minute.
_WHOLE_FILE_BYTES = 64 * 1024 * 1024
_EDGE_BYTES = 1024 * 1024


def package_versions() -> dict[str, str | None]:
    """Installed versions of the packages that can change a result (None: not installed)."""
    out: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def course_hash(course: Course) -> str:
    """SHA-256 of the course content that decides results: assignments, programs, grades."""
    digest = hashlib.sha256()
    for aid in sorted(course.assignments):
        digest.update(
            json.dumps(course.assignments[aid].to_dict(), sort_keys=True, default=repr).encode()
        )
    for t in course.trajectories:
        digest.update(json.dumps([t.id, t.term, t.assignment]).encode())
        for s in t.submissions:
            score = s.report.score if s.report is not None else None
            digest.update(json.dumps([s.order, s.code, score, s.logged_score]).encode())
    digest.update(json.dumps(course.splits, sort_keys=True).encode())
    if course.student_splits:  # held-out students change which trajectories a split holds
        digest.update(json.dumps(course.student_splits, sort_keys=True).encode())
    return digest.hexdigest()


def path_fingerprint(path: str | os.PathLike[str] | None) -> str | None:
    """SHA-256 over a model or adapter directory (or file); None when it is not a local path.

    Small files are hashed whole; files over 64 MiB by their size, first and last MiB.
    """
    if path is None:
        return None
    root = Path(path)
    if not root.exists():
        return None  # a hub name: its revision is the user's to record
    files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    digest = hashlib.sha256()
    for file in files:
        digest.update(str(file.relative_to(root) if file != root else file.name).encode())
        size = file.stat().st_size
        digest.update(str(size).encode())
        with file.open("rb") as handle:
            if size <= _WHOLE_FILE_BYTES:
                for chunk in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(chunk)
            else:
                digest.update(handle.read(_EDGE_BYTES))
                handle.seek(size - _EDGE_BYTES)
                digest.update(handle.read(_EDGE_BYTES))
    return digest.hexdigest()


def agent_provenance(agent: Any) -> dict[str, Any]:
    """What identifies an agent: its name and class, model/adapter paths with their hashes."""
    out: dict[str, Any] = {
        "name": agent_name(agent),
        "class": f"{type(agent).__module__}.{type(agent).__qualname__}",
    }
    for attr in ("model_name_or_path", "adapter", "model", "base_url"):
        value = getattr(agent, attr, None)
        if isinstance(value, str | os.PathLike):
            out[attr] = str(value)
            if attr in ("model_name_or_path", "adapter"):
                out[f"{attr}_sha256"] = path_fingerprint(value)
    extra = getattr(agent, "provenance", None)
    if callable(extra):
        out.update(extra())
    return out


def run_provenance(course: Course, agent: Any, settings: dict[str, Any]) -> dict[str, Any]:
    """The provenance block of a results file."""
    try:
        from student_gym.grader import isolation_report

        isolation = isolation_report()
        isolation = isolation if isinstance(isolation, dict) else repr(isolation)
    except Exception as exc:  # the grader's report is informative only; never fail a run on it
        isolation = f"unavailable: {type(exc).__name__}"
    return {
        "packages": package_versions(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "course": {
            "name": course.name,
            "sha256": course_hash(course),
            # Which grade counts: regraded where tests exist, else logged (trajectories each).
            "grade_sources": course.grade_sources(),
            "logged_trajectories_left_out": course.metadata.get("logged_trajectories_left_out", 0),
        },
        "agent": agent_provenance(agent),
        "settings": settings,
        "grader_isolation": isolation,
    }

"""Assignment-set JSON files: load (validating every field), save, and the bundled examples.

The format is described in :mod:`student_gym.grader.assignments`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path

from student_gym.grader.assignments import FORMAT, Assignment, AssignmentError


def load_assignments(path: str | Path) -> dict[str, Assignment]:
    """Load an assignment-set JSON file, validating every field.

    Raises:
        AssignmentError: naming the file, the assignment id and the field at fault.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise AssignmentError(f"{path}: cannot read assignment file: {exc}") from None
    if isinstance(data, Mapping) and "assignments" in data:
        if data.get("format", FORMAT) != FORMAT:
            raise AssignmentError(f"{path}: field 'format' must be {FORMAT!r}")
        items = data["assignments"]
    elif isinstance(data, Mapping):  # a single assignment object
        items = [data]
    else:
        items = data
    if not isinstance(items, list):
        raise AssignmentError(f"{path}: field 'assignments' must be a list")
    out: dict[str, Assignment] = {}
    for i, item in enumerate(items):
        a = Assignment.from_dict(item, where=f"{path}: assignments[{i}]")
        if a.id in out:
            raise AssignmentError(f"{path}: assignments[{i}]: duplicate id {a.id!r}")
        out[a.id] = a
    return out


def save_assignments(assignments: Iterable[Assignment], path: str | Path) -> None:
    """Write an assignment-set JSON file that :func:`load_assignments` reads back unchanged."""
    data = {"format": FORMAT, "version": 1, "assignments": [a.to_dict() for a in assignments]}
    Path(path).write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def example_assignments() -> dict[str, Assignment]:
    """The small example set that ships with the package (one of each test kind)."""
    return load_assignments(Path(__file__).resolve().parents[1] / "data" / "examples.json")

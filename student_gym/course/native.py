"""The native course format: one JSON Lines file (optionally gzipped) that round-trips losslessly.

Layout of ``course.jsonl`` (or ``course.jsonl.gz``), one JSON object per line::

    {"format": "student-gym/course", "version": 1, "name": "...",
     "splits": {"2024-fall": "train", "2025-spring": "test"}, "metadata": {...}}
    {"assignment": {...}}        # one per assignment, the assignment-set JSON of assignments.py
    {"trajectory": {"id": "2024-fall/s1a2b3/sum_list", "student": "s1a2b3",
                    "assignment": "sum_list", "term": "2024-fall",
                    "submissions": [{"order": 0, "code": "...", "timestamp": "...",
                                     "logged_score": 0.5, "feedback": null,
                                     "report": {...GradeReport.to_dict()...}}]}}

The header comes first; assignments come before the trajectories that use them. A submission's
``student``/``assignment`` are those of its trajectory (so they are not repeated). ``report`` is
the regraded :class:`~student_gym.grader.report.GradeReport`, stored so that loading a course
never grades anything. ``load_course`` accepts the file itself or a directory holding it.
"""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from student_gym.assignments import Assignment, AssignmentError
from student_gym.course.model import Course, Submission, Trajectory
from student_gym.grader.report import GradeReport

FORMAT = "student-gym/course"
VERSION = 1
FILE_NAMES = ("course.jsonl", "course.jsonl.gz")


class CourseFormatError(ValueError):
    """A course file (native or imported) is malformed; the message says file, line and field."""


def course_file(path: str | Path) -> Path:
    """The course file for ``path``: the path itself, or ``course.jsonl[.gz]`` inside a directory."""
    path = Path(path)
    if path.is_dir():
        for name in FILE_NAMES:
            if (path / name).is_file():
                return path / name
        raise CourseFormatError(f"{path}: directory holds no {' or '.join(FILE_NAMES)}")
    if not path.exists():
        raise CourseFormatError(f"{path}: no such course file or directory")
    return path


def _read_text(path: Path) -> io.TextIOBase:
    if path.name.endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8")
    return open(path, encoding="utf-8")


# -- writing -------------------------------------------------------------------------------


def submission_to_dict(sub: Submission) -> dict[str, Any]:
    """The JSON form of one submission (without the trajectory's student/assignment)."""
    d: dict[str, Any] = {"order": sub.order, "code": sub.code}
    if sub.timestamp is not None:
        d["timestamp"] = sub.timestamp
    if sub.logged_score is not None:
        d["logged_score"] = sub.logged_score
    if sub.feedback is not None:
        d["feedback"] = sub.feedback
    if sub.report is not None:
        d["report"] = sub.report.to_dict()
    return d


def trajectory_to_dict(traj: Trajectory) -> dict[str, Any]:
    return {
        "id": traj.id,
        "student": traj.student,
        "assignment": traj.assignment,
        "term": traj.term,
        "submissions": [submission_to_dict(s) for s in traj.submissions],
    }


def course_lines(course: Course) -> Iterator[str]:
    """The lines of the native file, in order (header, assignments, trajectories)."""
    header = {
        "format": FORMAT,
        "version": VERSION,
        "name": course.name,
        "splits": course.splits,
        "metadata": course.metadata,
    }
    yield json.dumps(header, ensure_ascii=False, sort_keys=True)
    for a in course.assignments.values():
        yield json.dumps({"assignment": a.to_dict()}, ensure_ascii=False)
    for t in course.trajectories:
        yield json.dumps({"trajectory": trajectory_to_dict(t)}, ensure_ascii=False)


def save_course(course: Course, path: str | Path) -> Path:
    """Write ``course`` in the native format.

    Args:
        course: the course to write.
        path: a ``.jsonl`` or ``.jsonl.gz`` file, or a directory (created if needed) that gets
            a ``course.jsonl``.

    Returns:
        The file written.
    """
    path = Path(path)
    if not path.name.endswith((".jsonl", ".jsonl.gz")):
        path.mkdir(parents=True, exist_ok=True)
        path = path / FILE_NAMES[0]
    path.parent.mkdir(parents=True, exist_ok=True)
    data = "".join(line + "\n" for line in course_lines(course)).encode("utf-8")
    if path.name.endswith(".gz"):
        # mtime=0 keeps the bytes identical across runs (the bundled course is generated).
        data = gzip.compress(data, compresslevel=9, mtime=0)
    path.write_bytes(data)
    return path


# -- reading -------------------------------------------------------------------------------


def _field(obj: dict[str, Any], key: str, types: type | tuple[type, ...], where: str) -> Any:
    if key not in obj:
        raise CourseFormatError(f"{where}: missing field {key!r}")
    value = obj[key]
    if not isinstance(value, types):
        raise CourseFormatError(f"{where}: field {key!r} has type {type(value).__name__}")
    return value


def submission_from_dict(d: Any, student: str, assignment: str, where: str) -> Submission:
    if not isinstance(d, dict):
        raise CourseFormatError(f"{where}: a submission must be an object")
    report = None
    if d.get("report") is not None:
        try:
            report = GradeReport.from_dict(d["report"])
        except (TypeError, ValueError) as exc:
            raise CourseFormatError(f"{where}: field 'report' is malformed: {exc}") from None
    score = d.get("logged_score")
    if score is not None and (isinstance(score, bool) or not isinstance(score, (int, float))):
        raise CourseFormatError(f"{where}: field 'logged_score' must be a number or null")
    return Submission(
        student=d.get("student", student),
        assignment=d.get("assignment", assignment),
        order=_field(d, "order", int, where),
        code=_field(d, "code", str, where),
        timestamp=d.get("timestamp"),
        logged_score=None if score is None else float(score),
        feedback=d.get("feedback"),
        report=report,
    )


def trajectory_from_dict(d: Any, where: str) -> Trajectory:
    if not isinstance(d, dict):
        raise CourseFormatError(f"{where}: a trajectory must be an object")
    tid = _field(d, "id", str, where)
    here = f"{where} (trajectory {tid!r})"
    student = _field(d, "student", str, here)
    assignment = _field(d, "assignment", str, here)
    raw = _field(d, "submissions", list, here)
    subs = tuple(
        submission_from_dict(s, student, assignment, f"{here}: submissions[{i}]")
        for i, s in enumerate(raw)
    )
    orders = [s.order for s in subs]
    if orders != sorted(set(orders)):
        raise CourseFormatError(f"{here}: submission 'order' values must strictly increase")
    return Trajectory(
        id=tid,
        student=student,
        assignment=assignment,
        term=_field(d, "term", str, here),
        submissions=subs,
    )


def load_course(path: str | Path) -> Course:
    """Read a course in the native format (the file, or a directory holding ``course.jsonl``).

    Raises:
        CourseFormatError: naming the file, the line and the field at fault.
    """
    path = course_file(path)
    header: dict[str, Any] | None = None
    assignments: dict[str, Assignment] = {}
    trajectories: list[Trajectory] = []
    seen: set[str] = set()
    try:
        with _read_text(path) as fh:
            for lineno, line in enumerate(fh, 1):
                where = f"{path}:{lineno}"
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise CourseFormatError(f"{where}: not valid JSON: {exc}") from None
                if header is None:
                    if not isinstance(obj, dict) or obj.get("format") != FORMAT:
                        raise CourseFormatError(f"{where}: first line must be a {FORMAT!r} header")
                    if obj.get("version") != VERSION:
                        raise CourseFormatError(
                            f"{where}: unsupported version {obj.get('version')!r}"
                        )
                    header = obj
                elif isinstance(obj, dict) and "assignment" in obj:
                    try:
                        a = Assignment.from_dict(obj["assignment"], where=where)
                    except AssignmentError as exc:
                        raise CourseFormatError(str(exc)) from None
                    if a.id in assignments:
                        raise CourseFormatError(f"{where}: duplicate assignment id {a.id!r}")
                    assignments[a.id] = a
                elif isinstance(obj, dict) and "trajectory" in obj:
                    t = trajectory_from_dict(obj["trajectory"], where)
                    if t.assignment not in assignments:
                        raise CourseFormatError(f"{where}: unknown assignment {t.assignment!r}")
                    if t.id in seen:
                        raise CourseFormatError(f"{where}: duplicate trajectory id {t.id!r}")
                    seen.add(t.id)
                    trajectories.append(t)
                else:
                    raise CourseFormatError(
                        f"{where}: expected an 'assignment' or 'trajectory' line"
                    )
    except (OSError, UnicodeDecodeError, EOFError) as exc:
        raise CourseFormatError(f"{path}: cannot read course file: {exc}") from None
    if header is None:
        raise CourseFormatError(f"{path}: empty course file")
    return Course(
        name=str(header.get("name", path.stem)),
        assignments=assignments,
        trajectories=trajectories,
        splits=dict(header.get("splits") or {}),
        metadata=dict(header.get("metadata") or {}),
    )

"""The native course format: one JSON Lines file (optionally gzipped) that round-trips losslessly.

Layout of ``course.jsonl`` (or ``course.jsonl.gz``), one JSON object per line::

    {"format": "student-gym/course", "version": 1, "name": "...",
     "splits": {"2024-fall": "train", "2025-spring": "test"}, "metadata": {...}}
    {"assignment": {...}}        # one per assignment, the assignment-set JSON of assignments.py
    {"problem": {"id": "...", "title": "...", "statement": "..."}}   # a problem without tests
    {"trajectory": {"id": "2024-fall/s1a2b3/sum_list", "student": "s1a2b3",
                    "assignment": "sum_list", "term": "2024-fall",
                    "language": "python",            # left out when python
                    "submissions": [{"order": 0, "code": "...", "timestamp": "...",
                                     "logged_score": 0.5, "feedback": null,
                                     "report": {...GradeReport.to_dict()...}}],
                    "events": [{"kind": "X-HintRequest", "order": 1, "timestamp": "...",
                                "text": "..."}]}}       # tutor events, left out when none

The header may carry ``student_splits`` (student -> "validation" | "test": held-out students of
the training terms).

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

from student_gym.course.model import PYTHON, Course, Problem, Submission, Trajectory, TutorEvent
from student_gym.grader.assignments import Assignment, AssignmentError
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


def event_to_dict(event: TutorEvent) -> dict[str, Any]:
    d: dict[str, Any] = {"kind": event.kind, "order": event.order}
    if event.timestamp is not None:
        d["timestamp"] = event.timestamp
    if event.text is not None:
        d["text"] = event.text
    return d


def trajectory_to_dict(traj: Trajectory) -> dict[str, Any]:
    d: dict[str, Any] = {
        "id": traj.id,
        "student": traj.student,
        "assignment": traj.assignment,
        "term": traj.term,
    }
    if traj.language != PYTHON:
        d["language"] = traj.language
    d["submissions"] = [submission_to_dict(s) for s in traj.submissions]
    if traj.events:
        d["events"] = [event_to_dict(e) for e in traj.events]
    return d


def course_lines(course: Course) -> Iterator[str]:
    """The lines of the native file, in order (header, assignments, trajectories)."""
    header = {
        "format": FORMAT,
        "version": VERSION,
        "name": course.name,
        "splits": course.splits,
        "metadata": course.metadata,
    }
    if course.student_splits:
        header["student_splits"] = course.student_splits
    yield json.dumps(header, ensure_ascii=False, sort_keys=True)
    for a in course.assignments.values():
        yield json.dumps({"assignment": a.to_dict()}, ensure_ascii=False)
    for p in course.problems.values():
        yield json.dumps({"problem": p.to_dict()}, ensure_ascii=False)
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
    language = d.get("language", PYTHON)
    if not isinstance(language, str) or not language:
        raise CourseFormatError(f"{here}: field 'language' must be a non-empty string")
    raw_events = d.get("events", [])
    if not isinstance(raw_events, list):
        raise CourseFormatError(f"{here}: field 'events' must be a list")
    events = tuple(event_from_dict(e, f"{here}: events[{i}]") for i, e in enumerate(raw_events))
    return Trajectory(
        id=tid,
        student=student,
        assignment=assignment,
        term=_field(d, "term", str, here),
        submissions=subs,
        language=language.lower(),
        events=events,
    )


def event_from_dict(d: Any, where: str) -> TutorEvent:
    if not isinstance(d, dict):
        raise CourseFormatError(f"{where}: an event must be an object")
    for key in ("timestamp", "text"):
        if d.get(key) is not None and not isinstance(d[key], str):
            raise CourseFormatError(f"{where}: field {key!r} must be a string or null")
    order = _field(d, "order", int, where)
    if isinstance(order, bool) or order < 0:
        raise CourseFormatError(f"{where}: field 'order' must be a count >= 0")
    return TutorEvent(
        kind=_field(d, "kind", str, where),
        order=order,
        timestamp=d.get("timestamp"),
        text=d.get("text"),
    )


def problem_from_dict(d: Any, where: str) -> Problem:
    if not isinstance(d, dict):
        raise CourseFormatError(f"{where}: a problem must be an object")
    pid = _field(d, "id", str, where)
    for key in ("title", "statement", "entry_point"):
        if d.get(key) is not None and not isinstance(d[key], str):
            raise CourseFormatError(f"{where} (problem {pid!r}): field {key!r} must be a string")
    return Problem(
        id=pid,
        title=d.get("title") or pid,
        statement=d.get("statement") or "",
        entry_point=d.get("entry_point"),
    )


def load_course(path: str | Path) -> Course:
    """Read a course in the native format (the file, or a directory holding ``course.jsonl``).

    Raises:
        CourseFormatError: naming the file, the line and the field at fault.
    """
    path = course_file(path)
    header: dict[str, Any] | None = None
    assignments: dict[str, Assignment] = {}
    problems: dict[str, Problem] = {}
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
                    if a.id in assignments or a.id in problems:
                        raise CourseFormatError(f"{where}: duplicate assignment id {a.id!r}")
                    assignments[a.id] = a
                elif isinstance(obj, dict) and "problem" in obj:
                    p = problem_from_dict(obj["problem"], where)
                    if p.id in assignments or p.id in problems:
                        raise CourseFormatError(f"{where}: duplicate problem id {p.id!r}")
                    problems[p.id] = p
                elif isinstance(obj, dict) and "trajectory" in obj:
                    t = trajectory_from_dict(obj["trajectory"], where)
                    if t.assignment not in assignments and t.assignment not in problems:
                        raise CourseFormatError(f"{where}: unknown assignment {t.assignment!r}")
                    if t.id in seen:
                        raise CourseFormatError(f"{where}: duplicate trajectory id {t.id!r}")
                    seen.add(t.id)
                    trajectories.append(t)
                else:
                    raise CourseFormatError(
                        f"{where}: expected an 'assignment', 'problem' or 'trajectory' line"
                    )
    except (OSError, UnicodeDecodeError, EOFError) as exc:
        raise CourseFormatError(f"{path}: cannot read course file: {exc}") from None
    if header is None:
        raise CourseFormatError(f"{path}: empty course file")
    student_splits = header.get("student_splits") or {}
    if not isinstance(student_splits, dict) or not all(
        isinstance(v, str) for v in student_splits.values()
    ):
        raise CourseFormatError(f"{path}:1: field 'student_splits' must map students to splits")
    return Course(
        name=str(header.get("name", path.stem)),
        assignments=assignments,
        trajectories=trajectories,
        splits=dict(header.get("splits") or {}),
        metadata=dict(header.get("metadata") or {}),
        problems=problems,
        student_splits=dict(student_splits),
    )

"""ProgSnap2 importer (the CSEDM standard format).

A ProgSnap2 dataset is a directory with ``DatasetMetadata.csv`` (``Property,Value`` rows, among
them ``CodeStateRepresentation``), ``MainTable.csv`` (one event per row: ``EventType, EventID,
SubjectID, ToolInstances, CodeStateID, Order, ServerTimestamp, AssignmentID, ProblemID, Score,
CompileResult, ...``) and the code states, either as a table ``CodeStates/CodeState.csv``
(``CodeStateID, Code``; ``CodeStates.csv`` is accepted too) or as the Directory representation
(``CodeStates/<CodeStateID>/<files>``).

``Submit`` and ``Run.Program`` events become submissions, grouped by subject and problem and
ordered by ``ServerTimestamp`` with ``Order`` breaking ties (``Order`` alone when there is no
timestamp). ProgSnap2 carries no tests, so an assignment set (``--assignments FILE``) maps
problem ids to assignments; events of problems without one are skipped with the reason
"no tests for assignment X", never dropped silently.
"""

from __future__ import annotations

from pathlib import Path

from student_gym.assignments import Assignment
from student_gym.course.assembly import RawSubmission, assemble_course, parse_timestamp
from student_gym.course.csv_tables import read_table
from student_gym.course.import_report import ImportReport
from student_gym.course.model import Course
from student_gym.course.native import CourseFormatError
from student_gym.course.pseudonyms import Pseudonymizer

SUBMISSION_EVENTS = ("Submit", "Run.Program")
MAIN_COLUMNS = ("EventType", "EventID", "SubjectID", "CodeStateID", "Order")
CODE_TABLE_NAMES = ("CodeState.csv", "CodeStates.csv")


def _metadata(folder: Path, report: ImportReport, encoding: str) -> dict[str, str]:
    path = folder / "DatasetMetadata.csv"
    if not path.is_file():
        report.note("no DatasetMetadata.csv (code state representation guessed)")
        return {}
    return {
        r["Property"].strip(): r["Value"].strip()
        for _, r in read_table(path, report, required=("Property", "Value"), encoding=encoding)
    }


class CodeStates:
    """Looks up code by CodeStateID in the Table or the Directory representation."""

    def __init__(self, folder: Path, representation: str, report: ImportReport, encoding: str):
        self.folder = folder / "CodeStates"
        self.encoding = encoding
        self.table: dict[str, str] | None = None
        table_path = next(
            (self.folder / n for n in CODE_TABLE_NAMES if (self.folder / n).is_file()), None
        )
        if representation.lower() == "directory" or (not representation and table_path is None):
            if not self.folder.is_dir():
                raise CourseFormatError(f"{self.folder}: no CodeStates directory")
            return
        if representation and representation.lower() != "table":
            raise CourseFormatError(
                f"{folder / 'DatasetMetadata.csv'}: CodeStateRepresentation "
                f"{representation!r} is not supported (Table or Directory)"
            )
        if table_path is None:
            raise CourseFormatError(f"{self.folder}: no {' or '.join(CODE_TABLE_NAMES)}")
        self.table = {
            r["CodeStateID"].strip(): r["Code"]
            for _, r in read_table(
                table_path, report, required=("CodeStateID", "Code"), encoding=encoding
            )
        }

    def code(self, state_id: str, section: str = "") -> tuple[str | None, str]:
        """``(code, "")``, or ``(None, why)`` when the code state cannot be used."""
        if self.table is not None:
            if state_id not in self.table:
                return None, f"CodeStateID {state_id!r} is not in the code state table"
            return self.table[state_id], ""
        folder = self.folder / state_id
        if not state_id or "/" in state_id or ".." in state_id or not folder.is_dir():
            return None, f"CodeStateID {state_id!r} has no directory under {self.folder.name}/"
        files = sorted(p for p in folder.rglob("*") if p.is_file())
        if section:
            files = [p for p in files if p.relative_to(folder).as_posix() == section] or files
        if len(files) > 1:
            files = [p for p in files if p.suffix == ".py"] or files
        if len(files) != 1:
            return None, f"code state {state_id!r} holds {len(files)} candidate files"
        try:
            return files[0].read_bytes().decode(self.encoding), ""
        except UnicodeDecodeError:
            return None, f"{files[0]} is not valid {self.encoding} text"


def import_progsnap2(
    source: str | Path,
    *,
    assignments: dict[str, Assignment] | None = None,
    salt: str | None = None,
    keep_ids: bool = False,
    term: str = "all",
    test_terms: list[str] | None = None,
    encoding: str = "utf-8",
    name: str | None = None,
) -> tuple[Course, ImportReport]:
    """Import a ProgSnap2 dataset directory.

    Args:
        source: the dataset directory (holding MainTable.csv).
        assignments: the assignment set, keyed by ProblemID (AssignmentID where ProblemID is empty).
        salt: salt for pseudonymous student ids (None: a random one).
        keep_ids: keep the real SubjectIDs instead.
        term: the term of events without a ``TermID``.
        test_terms: terms to hold out as the test split (default: the latest of several).
        encoding: the files' encoding.
        name: the course name (default: the directory's name).

    Raises:
        CourseFormatError: MainTable.csv or the code states are missing or lack columns.
    """
    folder = Path(source)
    if not (folder / "MainTable.csv").is_file():
        raise CourseFormatError(f"{folder}: no MainTable.csv (is this a ProgSnap2 dataset?)")
    assignments = assignments or {}
    report = ImportReport(format="progsnap2", source=str(folder))
    pseudonym = Pseudonymizer(salt, keep_ids=keep_ids)
    meta = _metadata(folder, report, encoding)
    states = CodeStates(folder, meta.get("CodeStateRepresentation", ""), report, encoding)
    main = "MainTable.csv"
    rows: list[RawSubmission] = []
    for row, r in read_table(folder / main, report, required=MAIN_COLUMNS, encoding=encoding):
        event = r["EventType"].strip()
        if event not in SUBMISSION_EVENTS:
            report.note(f"other events ignored ({event or 'empty EventType'})")
            continue
        problem = r.get("ProblemID", "").strip() or r.get("AssignmentID", "").strip()
        if not problem:
            report.skip("no problem id", main, row, "both ProblemID and AssignmentID are empty")
            continue
        if problem not in assignments:
            report.skip("no tests for assignment", main, row, f"no tests for assignment {problem}")
            continue
        try:
            order = float(r["Order"])
        except ValueError:
            report.skip("bad Order", main, row, f"field 'Order' is {r['Order']!r}")
            continue
        stamp = r.get("ServerTimestamp", "")
        when = parse_timestamp(stamp)
        if when is None and stamp.strip():
            report.skip("bad timestamp", main, row, f"field 'ServerTimestamp' is {stamp!r}")
            continue
        score_text = r.get("Score", "").strip()
        try:
            score = float(score_text) if score_text else None
        except ValueError:
            score = -1.0
        if score is not None and not 0 <= score <= 1:
            report.skip("bad score", main, row, f"field 'Score' {score_text!r} is not in 0..1")
            continue
        code, why = states.code(r["CodeStateID"].strip(), r.get("CodeStateSection", "").strip())
        if code is None:
            report.skip("unknown code state", main, row, why)
            continue
        if not code.strip():
            report.skip("empty code", main, row, "the submitted program is empty")
            continue
        if score is None:
            report.note("kept without a logged score")
        rows.append(
            RawSubmission(
                student=pseudonym(r["SubjectID"].strip()),
                assignment=problem,
                term=r.get("TermID", "").strip() or term,
                when=when,
                tie_breaker=(order, row),
                code=code.replace("\r\n", "\n"),
                timestamp=when.isoformat() if when else None,
                logged_score=score,
            )
        )
    report.settings = {
        "student_ids": pseudonym.describe(),
        "encoding": encoding,
        "code_states": "table" if states.table is not None else "directory",
        "assignments_given": len(assignments),
    }
    course = assemble_course(
        name or folder.name,
        assignments,
        rows,
        report,
        test_terms=test_terms,
        metadata={"progsnap2": meta},
    )
    return course, report

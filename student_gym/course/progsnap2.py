"""ProgSnap2 importer (the CSEDM standard format), for datasets as they are published.

A ProgSnap2 dataset is a directory with ``MainTable.csv`` (one event per row: ``EventType,
EventID, SubjectID, ToolInstances, CodeStateID, Order, ServerTimestamp, TermID, AssignmentID,
ProblemID, Score, Correct, ...``), the code states and, optionally, ``DatasetMetadata.csv``
(``Property,Value`` rows, among them ``CodeStateRepresentation``). The code states are a table
(``CodeStateID, Code``) named ``CodeState.csv`` or ``CodeStates.csv``, either beside
``MainTable.csv`` (as in the CSEDM 2018 release of ITAP) or in ``CodeStates/``, or the
Directory representation (``CodeStates/<CodeStateID>/<files>``).

``Submit`` and ``Run.Program`` events become submissions, grouped by subject, problem and term
(``TermID``, else ``--term``), ordered by ``ServerTimestamp`` with ``Order`` breaking ties, by
``Order`` alone without timestamps, and by row order without either; the report says which.
The logged grade is ``Score`` (0..1), else ``Correct`` (TRUE/FALSE), else a column the user
names. Hint requests and interventions become tutor events on their trajectory. Problems
without tests (ProgSnap2 carries none) are kept with their logged grades; ``--assignments``
gives tests where they exist. The language comes from ``ToolInstances`` (or ``--language``).
Files are streamed, so tables of millions of rows import in bounded memory per row.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from student_gym.course.assembly import (
    RawEvent,
    RawSubmission,
    SplitOptions,
    assemble_course,
    parse_timestamp,
)
from student_gym.course.csv_tables import check_encoding, read_table
from student_gym.course.import_report import ImportReport
from student_gym.course.languages import language_disagreement, language_from_tools
from student_gym.course.model import PYTHON, Course, Problem
from student_gym.course.native import CourseFormatError
from student_gym.course.pseudonyms import Pseudonymizer
from student_gym.course.selection import Selection
from student_gym.grader.assignments import Assignment

SUBMISSION_EVENTS = ("Submit", "Run.Program")
TUTOR_EVENTS = ("X-HintRequest", "Intervention")
MAIN_COLUMNS = ("EventType", "SubjectID")
CODE_TABLE_NAMES = ("CodeState.csv", "CodeStates.csv")
TRUE_WORDS = frozenset({"true", "t", "yes", "y", "1", "1.0", "pass", "passed", "correct"})
FALSE_WORDS = frozenset({"false", "f", "no", "n", "0", "0.0", "fail", "failed", "incorrect"})


def parse_grade(text: str) -> float | None:
    """A logged grade: a number in 0..1 or a pass/fail word (``TRUE``, ``fail``, ...).

    Returns:
        The grade, or None for an empty field.

    Raises:
        ValueError: the text is neither (the caller names the row and column).
    """
    text = text.strip()
    if not text:
        return None
    low = text.lower()
    if low in TRUE_WORDS:
        return 1.0
    if low in FALSE_WORDS:
        return 0.0
    value = float(text)  # ValueError for anything else
    if not 0 <= value <= 1:
        raise ValueError(f"{text!r} is not in 0..1")
    return value


def _metadata(folder: Path, report: ImportReport, encoding: str) -> dict[str, str]:
    path = folder / "DatasetMetadata.csv"
    if not path.is_file():
        report.note("no DatasetMetadata.csv (code state representation found from the files)")
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
        candidates = [self.folder / n for n in CODE_TABLE_NAMES] + [folder / n for n in CODE_TABLE_NAMES]
        table_path = next((p for p in candidates if p.is_file()), None)
        if representation.lower() == "directory" or (not representation and table_path is None):
            if not self.folder.is_dir():
                raise CourseFormatError(
                    f"{folder}: no code states: neither {' nor '.join(CODE_TABLE_NAMES)} "
                    "(beside MainTable.csv or in CodeStates/) nor a CodeStates/ directory"
                )
            return
        if representation and representation.lower() != "table":
            raise CourseFormatError(
                f"{folder / 'DatasetMetadata.csv'}: CodeStateRepresentation "
                f"{representation!r} is not supported (Table or Directory)"
            )
        if table_path is None:
            raise CourseFormatError(
                f"{folder}: no {' or '.join(CODE_TABLE_NAMES)} beside MainTable.csv or in "
                "CodeStates/"
            )
        self.table_path = table_path
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


def _ordering(header: set[str]) -> str:
    if "ServerTimestamp" in header:
        return "ServerTimestamp, then Order" if "Order" in header else "ServerTimestamp, then row order"
    return "Order, then row order" if "Order" in header else "row order (no Order or ServerTimestamp)"


def _grade_column(header: set[str], score_column: str | None) -> str | None:
    if score_column is not None:
        if score_column not in header:
            raise CourseFormatError(
                f"MainTable.csv: --score-column {score_column!r} is not a column; the header "
                f"has {sorted(header)}"
            )
        return score_column
    return next((c for c in ("Score", "Correct") if c in header), None)


def _feedback(r: dict[str, str]) -> str | None:
    """What the log says the student was shown about a submission."""
    if text := r.get("InterventionMessage", "").strip():
        return text
    data = r.get("CompileMessageData", "").strip()
    kind = r.get("CompileMessageType", "").strip()
    if data:
        return f"{kind}: {data}" if kind else data
    return None


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
    language: str | None = None,
    score_column: str | None = None,
    split_options: SplitOptions | None = None,
    selection: Selection | None = None,
    progress: Callable[[int], None] | None = None,
) -> tuple[Course, ImportReport]:
    """Import a ProgSnap2 dataset directory.

    Args:
        source: the dataset directory (holding MainTable.csv).
        assignments: tests, keyed by ProblemID (AssignmentID where ProblemID is empty);
            problems without tests are kept with their logged grades.
        salt: salt for pseudonymous student ids (None: a random one).
        keep_ids: keep the real SubjectIDs instead.
        term: the term of events without a ``TermID``.
        test_terms: terms to hold out as the test split (default: the latest of several).
        encoding: the files' encoding.
        name: the course name (default: the directory's name).
        language: the code's language, overriding ``ToolInstances``.
        score_column: the column holding the logged grade (default ``Score``, else ``Correct``).
        split_options: the split by students.
        progress: called with the rows read so far, every few thousand rows.
        selection: a selection preset.

    Raises:
        CourseFormatError: MainTable.csv or the code states are missing or lack columns.
    """
    folder = Path(source)
    if not (folder / "MainTable.csv").is_file():
        raise CourseFormatError(f"{folder}: no MainTable.csv (is this a ProgSnap2 dataset?)")
    check_encoding(encoding)
    assignments = assignments or {}
    report = ImportReport(format="progsnap2", source=str(folder))
    report.on_rows = progress
    pseudonym = Pseudonymizer(salt, keep_ids=keep_ids)
    meta = _metadata(folder, report, encoding)
    states = CodeStates(folder, meta.get("CodeStateRepresentation", ""), report, encoding)
    main = "MainTable.csv"
    rows: list[RawSubmission] = []
    events: list[RawEvent] = []
    header: set[str] = set()
    grade_column: str | None = None
    for row, r in read_table(folder / main, report, required=MAIN_COLUMNS, encoding=encoding):
        if not header:
            header = set(r)
            grade_column = _grade_column(header, score_column)
            if "ProblemID" not in header and "AssignmentID" not in header:
                raise CourseFormatError(
                    f"{folder / main}: missing column(s) ['ProblemID' or 'AssignmentID']; "
                    f"the header has {sorted(header)}"
                )
        event = r["EventType"].strip()
        is_tutor = event in TUTOR_EVENTS or "hint" in event.lower()
        if event not in SUBMISSION_EVENTS and not is_tutor:
            report.note(f"other events ignored ({event or 'empty EventType'})")
            continue
        problem = r.get("ProblemID", "").strip() or r.get("AssignmentID", "").strip()
        if not problem:
            report.skip("no problem id", main, row, "both ProblemID and AssignmentID are empty")
            continue
        order_text = r.get("Order", "").strip()
        try:
            order = float(order_text) if order_text else float(row)
        except ValueError:
            report.skip("bad Order", main, row, f"column 'Order' is {order_text!r}")
            continue
        stamp = r.get("ServerTimestamp", "")
        when = parse_timestamp(stamp)
        if when is None and stamp.strip():
            report.skip("bad timestamp", main, row, f"column 'ServerTimestamp' is {stamp!r}")
            continue
        student = pseudonym(r["SubjectID"].strip())
        the_term = r.get("TermID", "").strip() or term
        timestamp = when.isoformat() if when else None
        if is_tutor:
            text = r.get("InterventionMessage", "").strip() or None
            events.append(RawEvent(student, problem, the_term, when, (order, row), event,
                                   timestamp, text))
            report.note(f"tutor events kept ({event})")
            continue
        score: float | None = None
        if grade_column is not None:
            try:
                score = parse_grade(r.get(grade_column, ""))
            except ValueError:
                report.skip("bad score", main, row,
                            f"column {grade_column!r} {r.get(grade_column)!r} is not in 0..1 "
                            "or a pass/fail word")
                continue
        state_id = r.get("CodeStateID", "").strip()
        code, why = states.code(state_id, r.get("CodeStateSection", "").strip())
        if code is None:
            report.skip("unknown code state", main, row, why)
            continue
        if not code.strip():
            report.skip("empty code", main, row, "the submitted program is empty")
            continue
        if score is None:
            report.note("kept without a logged score")
        named = language or language_from_tools(r.get("ToolInstances", ""))
        if named is None:
            report.note("no language in ToolInstances (python assumed)")
        lang = named or PYTHON
        if (why := language_disagreement(code, lang)) is not None:
            report.warn("code disagrees with its language", main, row, why)
        rows.append(
            RawSubmission(
                student=student,
                assignment=problem,
                term=the_term,
                when=when,
                tie_breaker=(order, row),
                code=code,
                timestamp=timestamp,
                logged_score=score,
                feedback=_feedback(r),
                language=lang,
                row=row,
            )
        )
    report.settings = {
        "student_ids": pseudonym.describe(),
        "encoding": encoding,
        "code_states": "table" if states.table is not None else "directory",
        "assignments_given": len(assignments),
        "ordering": _ordering(header),
        "grade_column": grade_column,
        "language": language or "from ToolInstances",
    }
    if grade_column is None:
        report.note("no Score or Correct column: no logged grades")
    problems = {p: Problem(id=p, title=p) for p in {r.assignment for r in rows}}
    course = assemble_course(
        name or folder.name,
        assignments,
        rows,
        report,
        test_terms=test_terms,
        metadata={"progsnap2": meta},
        problems=problems,
        events=events,
        split_options=split_options,
        selection=selection,
    )
    return course, report

"""FalconCode importer, for both shapes the dataset is distributed in.

* **Four tables** (the original release), a directory holding CSVs named ``runs``,
  ``code_samples``, ``problems`` and ``courses`` (a common prefix such as ``falconcode_`` is fine):

  - runs: ``student_id, course_id, problem_id, timestamp, score, code_hash`` (score -1 marks a
    local run that was never submitted to the autograder)
  - code samples: ``hash, source_code, redacted``
  - problems: ``id, course_id, prompt, type, max_score, testcase``
  - courses: ``id, semester, year``

* **Flat export**, one CSV with a row per submission: ``problem_id, course_id, student_id,
  timestamp, source_code, score, prompt, testcase, type, max_score`` and optionally
  ``semester``/``year`` (else the term is the course id).

Each problem becomes an :class:`~student_gym.grader.assignments.Assignment` with one
:class:`~student_gym.grader.assignments.ScriptTest` (the ``testcase`` script, ``max_score`` from the
table, file name from the script's ``program_name``/``run_script("x.py")`` or problem id +
``.py``); a problem without a script is kept as a :class:`~student_gym.course.model.Problem`
whose submissions keep their logged grades. Logged scores are scaled to 0..1 by ``max_score``.
Terms come from the course's semester and year.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from student_gym.course.assembly import (
    RawSubmission,
    SplitOptions,
    assemble_course,
    parse_timestamp,
    term_name,
)
from student_gym.course.csv_tables import check_encoding, find_table, read_table
from student_gym.course.import_report import ImportReport
from student_gym.course.model import Course, Problem
from student_gym.course.native import CourseFormatError
from student_gym.course.pseudonyms import Pseudonymizer
from student_gym.course.selection import Selection
from student_gym.grader.assignments import Assignment, ScriptTest

RUNS_COLUMNS = ("student_id", "course_id", "problem_id", "timestamp", "score", "code_hash")
CODE_COLUMNS = ("hash", "source_code")
PROBLEM_COLUMNS = ("id", "course_id", "prompt", "max_score", "testcase")
COURSE_COLUMNS = ("id", "semester", "year")
FLAT_COLUMNS = (
    "problem_id",
    "course_id",
    "student_id",
    "timestamp",
    "source_code",
    "score",
    "prompt",
    "testcase",
    "max_score",
)
_FILENAME_PATTERNS = (
    re.compile(r"""program_name\s*=\s*['"]([^'"\n]+\.py)['"]"""),
    re.compile(r"""run_script\(\s*['"]([^'"\n]+\.py)['"]"""),
    re.compile(r"""code_compiles\(\s*['"]([^'"\n]+\.py)['"]"""),
)


@dataclass(frozen=True)
class FalconProblem:
    """A problem row, before it becomes an assignment."""

    problem_id: str
    course_id: str
    prompt: str
    testcase: str
    max_score: float | None
    type: str = ""


def script_filename(problem_id: str, script: str) -> str:
    """The file name the test script runs the student's program as."""
    for pattern in _FILENAME_PATTERNS:
        if m := pattern.search(script):
            return m.group(1)
    return f"{problem_id}.py"


def problem_assignment(aid: str, p: FalconProblem) -> Assignment:
    """One FalconCode problem as an assignment with its scored test script."""
    test = ScriptTest(
        name="autograder",
        script=p.testcase,
        max_score=float(p.max_score or 100.0),
        filename=script_filename(p.problem_id, p.testcase),
    )
    title = f"{p.problem_id} ({p.type})" if p.type else p.problem_id
    return Assignment(id=aid, title=title, statement=p.prompt, tests=(test,))


def _parse_max_score(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if value > 0 else None


class _FalconImport:
    """State of one import: problems, assignment ids, kept rows and the report."""

    def __init__(
        self,
        report: ImportReport,
        pseudonym: Pseudonymizer,
        keep_local_runs: bool,
        types: list[str] | None = None,
    ):
        self.report = report
        self.types = {t.lower() for t in types} if types else None
        self.pseudonym = pseudonym
        self.keep_local_runs = keep_local_runs
        self.problems: dict[tuple[str, str], FalconProblem] = {}
        self.rows: list[RawSubmission] = []

    def add_problem(self, p: FalconProblem, file: str, row: int) -> None:
        key = (p.course_id, p.problem_id)
        if key in self.problems:
            if self.problems[key] != p:  # the run is kept; it is graded by the first definition
                self.report.note("problem defined again with different content (first kept)")
            return
        self.problems[key] = p

    def assignment_ids(self) -> dict[tuple[str, str], str]:
        """Problem id as assignment id, qualified by course only where two courses differ."""
        by_id: dict[str, set[tuple[str, float | None]]] = {}
        for p in self.problems.values():
            by_id.setdefault(p.problem_id, set()).add((p.testcase, p.max_score))
        return {
            key: key[1] if len(by_id[key[1]]) == 1 else f"{key[1]}@{key[0]}"
            for key in self.problems
        }

    def assignments(self) -> tuple[dict[str, Assignment], dict[tuple[str, str], str]]:
        ids = self.assignment_ids()
        out: dict[str, Assignment] = {}
        for key, p in self.problems.items():
            if p.testcase.strip() and p.max_score is not None:
                out.setdefault(ids[key], problem_assignment(ids[key], p))
        return out, ids

    def untested(self) -> dict[str, Problem]:
        """Problems without a test script: kept with their logged grades."""
        ids = self.assignment_ids()
        return {
            ids[key]: Problem(id=ids[key], title=ids[key], statement=p.prompt)
            for key, p in self.problems.items()
            if not p.testcase.strip()
        }

    def problem_types(self) -> dict[str, str]:
        ids = self.assignment_ids()
        return {ids[key]: p.type for key, p in self.problems.items()}

    def add_run(
        self,
        file: str,
        row: int,
        *,
        student: str,
        course_id: str,
        problem_id: str,
        term: str,
        timestamp: str,
        score_text: str,
        code: str,
        assignments: dict[str, Assignment],
        ids: dict[tuple[str, str], str],
        redacted: bool | None = None,
        exam: bool | None = None,
    ) -> None:
        """Check one submission row and keep it, or count why not."""
        skip = self.report.skip
        key = (course_id, problem_id)
        if key not in self.problems:
            skip("unknown problem id", file, row, f"problem {problem_id!r} of course {course_id!r}")
            return
        aid = ids[key]
        if self.types is not None and self.problems[key].type.lower() not in self.types:
            skip(
                "problem type not selected",
                file,
                row,
                f"problem {problem_id!r} has type {self.problems[key].type!r}",
            )
            return
        max_score = self.problems[key].max_score
        if max_score is None:
            skip("bad max_score", file, row,
                 f"problem {problem_id!r} has no positive max_score to scale its score by")
            return
        try:
            score: float | None = float(score_text) if score_text.strip() else None
        except ValueError:
            skip("bad score", file, row, f"field 'score' is {score_text!r}")
            return
        if score == -1:
            if not self.keep_local_runs:
                skip("local run (score -1)", file, row, "never submitted to the autograder")
                return
            score = None
        if score is not None and not 0 <= score <= max_score:
            skip("bad score", file, row, f"field 'score' {score} is outside 0..{max_score:g}")
            return
        if not code.strip():
            skip("empty code", file, row, "the submitted program is empty")
            return
        when = parse_timestamp(timestamp)
        if when is None and timestamp.strip():
            skip("bad timestamp", file, row, f"field 'timestamp' is {timestamp!r}")
            return
        if score is None:
            self.report.note("kept without a logged score")
        self.rows.append(
            RawSubmission(
                student=self.pseudonym(student),
                assignment=aid,
                term=term,
                when=when,
                tie_breaker=(row,),
                code=code,
                timestamp=when.isoformat() if when else None,
                logged_score=None if score is None else score / max_score,
                redacted=redacted,
                exam=exam,
                row=row,
            )
        )


def _import_tables(folder: Path, state: _FalconImport, encoding: str) -> None:
    tables = {}
    for role, stems in {
        "runs": ("runs",),
        "code": ("code_samples", "code", "samples"),
        "problems": ("problems",),
        "courses": ("courses",),
    }.items():
        found = find_table(folder, *stems)
        if found is None:
            raise CourseFormatError(
                f"{folder}: no {role} table (a CSV named like {stems[0]}.csv); "
                "FalconCode's four tables are runs, code_samples, problems, courses"
            )
        tables[role] = found
    report = state.report
    terms: dict[str, str] = {}
    for _, r in read_table(tables["courses"], report, required=COURSE_COLUMNS, encoding=encoding):
        terms[r["id"].strip()] = term_name(r["semester"], r["year"])
    for row, r in read_table(
        tables["problems"], report, required=PROBLEM_COLUMNS, encoding=encoding
    ):
        state.add_problem(
            _problem_from_row(r, "id"),
            tables["problems"].name,
            row,
        )
    codes: dict[str, tuple[str, bool | None]] = {}
    for _, r in read_table(tables["code"], report, required=CODE_COLUMNS, encoding=encoding):
        codes[r["hash"].strip()] = (r["source_code"], _flag(r, "redacted"))
        if _flag(r, "redacted"):
            report.note("code samples marked redacted (kept)")
    assignments, ids = state.assignments()
    runs = tables["runs"].name
    for row, r in read_table(tables["runs"], report, required=RUNS_COLUMNS, encoding=encoding):
        course_id = r["course_id"].strip()
        if course_id not in terms:
            report.skip(
                "unknown course id", runs, row, f"course {course_id!r} not in the courses table"
            )
            continue
        code_hash = r["code_hash"].strip()
        if code_hash not in codes:
            report.skip(
                "unknown code hash", runs, row, f"code_hash {code_hash!r} not in code samples"
            )
            continue
        state.add_run(
            runs,
            row,
            student=r["student_id"].strip(),
            course_id=course_id,
            problem_id=r["problem_id"].strip(),
            term=terms[course_id],
            timestamp=r["timestamp"],
            score_text=r["score"],
            code=codes[code_hash][0],
            assignments=assignments,
            ids=ids,
            redacted=codes[code_hash][1],
            exam=_flag(r, "exam"),
        )



def _flag(r: dict[str, str], column: str) -> bool | None:
    """A yes/no column's value; None when the table has no such column."""
    if column not in r:
        return None
    return r[column].strip().lower() in ("1", "true", "yes", "y", "t")


def _problem_from_row(r: dict[str, str], id_column: str) -> FalconProblem:
    """A problem from a problems-table row (id column ``id``) or a flat row (``problem_id``)."""
    return FalconProblem(
        problem_id=r[id_column].strip(),
        course_id=r["course_id"].strip(),
        prompt=r["prompt"],
        testcase=r["testcase"].replace("\r\n", "\n"),
        max_score=_parse_max_score(r["max_score"]),
        type=r.get("type", "").strip(),
    )

def _import_flat(path: Path, state: _FalconImport, encoding: str) -> None:
    rows = list(read_table(path, state.report, required=FLAT_COLUMNS, encoding=encoding))
    for row, r in rows:  # pass 1: problems (every row repeats its problem's columns)
        state.add_problem(
            _problem_from_row(r, "problem_id"),
            path.name,
            row,
        )
    assignments, ids = state.assignments()
    for row, r in rows:
        course_id = r["course_id"].strip()
        if r.get("semester", "").strip() or r.get("year", "").strip():
            term = term_name(r.get("semester", ""), r.get("year", ""))
        else:
            term = course_id
        state.add_run(
            path.name,
            row,
            student=r["student_id"].strip(),
            course_id=course_id,
            problem_id=r["problem_id"].strip(),
            term=term,
            timestamp=r["timestamp"],
            score_text=r["score"],
            code=r["source_code"],
            assignments=assignments,
            ids=ids,
            redacted=_flag(r, "redacted"),
            exam=_flag(r, "exam"),
        )


def import_falconcode(
    source: str | Path,
    *,
    salt: str | None = None,
    keep_ids: bool = False,
    keep_local_runs: bool = False,
    types: list[str] | None = None,
    test_terms: list[str] | None = None,
    encoding: str = "utf-8",
    name: str | None = None,
    split_options: SplitOptions | None = None,
    selection: Selection | None = None,
    progress: Callable[[int], None] | None = None,
) -> tuple[Course, ImportReport]:
    """Import FalconCode logs (a directory of the four tables, or one flat CSV).

    Args:
        source: the directory of the four tables, or the flat CSV file.
        salt: salt for pseudonymous student ids (None: a random one).
        keep_ids: keep the real student ids instead.
        keep_local_runs: keep score -1 rows (local runs) as submissions without a logged score.
        types: keep only problems of these types (the ``type`` column, e.g. ``lab``).
        test_terms: terms to hold out as the test split (default: the latest term).
        encoding: the CSV files' encoding.
        name: the course name (default: the source's name).
        split_options: the split by students.
        progress: called with the rows read so far, every few thousand rows.
        selection: a selection preset (e.g. ``Selection.preset("edm2026")``).

    Returns:
        The course and its import report.

    Raises:
        CourseFormatError: a table is missing or lacks required columns.
    """
    source = Path(source)
    check_encoding(encoding)
    report = ImportReport(format="falconcode", source=str(source))
    report.on_rows = progress
    pseudonym = Pseudonymizer(salt, keep_ids=keep_ids)
    state = _FalconImport(report, pseudonym, keep_local_runs, types)
    if source.is_dir():
        has_runs = find_table(source, "runs") is not None
        flat = [p for p in source.iterdir() if p.suffix.lower() == ".csv"]
        if not has_runs and len(flat) == 1:
            source = flat[0]
    if source.is_dir():
        shape = "tables"
        _import_tables(source, state, encoding)
    elif source.is_file():
        shape = "flat"
        _import_flat(source, state, encoding)
    else:
        raise CourseFormatError(f"{source}: no such file or directory")
    report.settings = {
        "shape": shape,
        "student_ids": pseudonym.describe(),
        "keep_local_runs": keep_local_runs,
        "types": types,
        "encoding": encoding,
    }
    assignments, _ = state.assignments()
    if selection is not None:
        types = state.problem_types()
        selection.problem_types = types if any(types.values()) else None
    course = assemble_course(
        name or source.stem,
        assignments,
        state.rows,
        report,
        test_terms=test_terms,
        metadata={"falconcode_shape": shape},
        problems=state.untested(),
        split_options=split_options,
        selection=selection,
    )
    return course, report

"""Importing any table of submissions: CSV, Parquet, JSON Lines or a pandas DataFrame.

One row per submission; ``columns`` maps our fields to the table's column names::

    student-gym import table cs1.csv --out runs/cs1 \\
        --columns student=user,problem=assignment,code=source,score=passed,tests=test

Fields: ``student``, ``problem`` and ``code`` are required; ``order``, ``timestamp``,
``score`` (a number in 0..1, or ``--max-score`` to scale; or pass/fail words: TRUE/FALSE,
pass/fail, 1/0), ``term``, ``tests``, ``language``, ``feedback``, ``statement``, ``function``
(the entry point), ``title``, ``type``, ``redacted`` and ``exam`` are optional.

A ``tests`` cell holds test code (assert lines run with the program's names in scope, e.g.
``a = [2, 1]`` then ``assert selection_sort(a) is None and a == [1, 2]`` for a function that
sorts in place; or a HumanEval ``def check(candidate)``), or the path of a test file per problem
relative to the table's folder (``tests/p1.py`` with such code, or an assignment-set ``.json``).
The distinct test cells of a problem become its tests; problems without any keep their logged
grades. Every error names the file, the row and the column.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from student_gym.course.assembly import (
    RawSubmission,
    SplitOptions,
    assemble_course,
    parse_timestamp,
)
from student_gym.course.csv_tables import check_encoding, read_table
from student_gym.course.import_report import ImportReport
from student_gym.course.languages import language_disagreement, language_name
from student_gym.course.model import PYTHON, Course, Problem
from student_gym.course.native import CourseFormatError
from student_gym.course.progsnap2 import parse_grade
from student_gym.course.pseudonyms import Pseudonymizer
from student_gym.course.selection import Selection
from student_gym.grader.assignment_files import load_assignments
from student_gym.grader.assignments import Assignment, AssignmentError, CheckTest

REQUIRED_FIELDS = ("student", "problem", "code")
OPTIONAL_FIELDS = (
    "order", "timestamp", "score", "term", "tests", "language", "feedback", "statement",
    "function", "title", "type", "redacted", "exam",
)  # fmt: skip
TABLE_SUFFIXES = (".csv", ".parquet", ".jsonl")
MAX_TEST_FILE_BYTES = 1024 * 1024


def parse_columns(text: str) -> dict[str, str]:
    """``"student=user,problem=task"`` -> ``{"student": "user", "problem": "task"}``.

    Raises:
        CourseFormatError: naming the ``--columns`` entry at fault.
    """
    out: dict[str, str] = {}
    for item in filter(None, (p.strip() for p in text.split(","))):
        field_name, sep, column = item.partition("=")
        field_name, column = field_name.strip(), column.strip()
        if not sep or not column:
            raise CourseFormatError(f"--columns: {item!r} is not FIELD=COLUMN")
        if field_name not in REQUIRED_FIELDS + OPTIONAL_FIELDS:
            raise CourseFormatError(
                f"--columns: unknown field {field_name!r}; fields are "
                f"{', '.join(REQUIRED_FIELDS + OPTIONAL_FIELDS)}"
            )
        out[field_name] = column
    return out


def _cell(value: Any) -> str:
    """A table value as text (None and NaN are empty)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _records(source: Any, report: ImportReport, needed: list[str], encoding: str
             ) -> Iterator[tuple[int | str, dict[str, str]]]:
    """``(row, {column: text})`` for a file or a DataFrame; checks the needed columns."""
    if not isinstance(source, (str, Path)):  # a pandas DataFrame
        columns = [str(c) for c in source.columns]
        _check_columns("DataFrame", columns, needed)
        for index, rec in zip(source.index, source.to_dict("records"), strict=True):
            report.count_row("DataFrame")
            label = index.item() if hasattr(index, "item") else index  # numpy scalars
            yield label, {str(k): _cell(v) for k, v in rec.items()}
        return
    path = Path(source)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        yield from read_table(path, report, required=needed, encoding=encoding)
    elif suffix == ".jsonl":
        yield from _jsonl_records(path, report, needed, encoding)
    elif suffix == ".parquet":
        try:
            import pyarrow.parquet as pq
        except ImportError:
            raise CourseFormatError(
                f"{path}: reading Parquet needs pyarrow: pip install 'student-gym[tables]'"
            ) from None
        try:
            parquet = pq.ParquetFile(path)
        except Exception as exc:  # pyarrow raises its own types for a file that is not Parquet
            raise CourseFormatError(f"{path}: not a Parquet file: {exc}") from None
        _check_columns(path, parquet.schema_arrow.names, needed)
        row = 0
        for batch in parquet.iter_batches(batch_size=10_000):
            for rec in batch.to_pylist():
                row += 1
                report.count_row(path.name)
                yield row, {k: _cell(v) for k, v in rec.items()}
    else:
        raise CourseFormatError(
            f"{path}: unknown table type {suffix!r}; use {', '.join(TABLE_SUFFIXES)}"
        )


def _jsonl_records(path: Path, report: ImportReport, needed: list[str], encoding: str
                   ) -> Iterator[tuple[int, dict[str, str]]]:
    try:
        handle = open(path, encoding=check_encoding(encoding), errors="replace")
    except OSError as exc:
        raise CourseFormatError(f"{path}: cannot read: {exc}") from None
    with handle:
        for row, line in enumerate(handle, 1):
            if not line.strip():
                continue
            report.count_row(path.name)
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                report.skip("malformed JSON row", path.name, row, str(exc))
                continue
            if not isinstance(obj, dict):
                report.skip("malformed JSON row", path.name, row, "the line is not an object")
                continue
            missing = [c for c in needed if c not in obj]
            if missing:
                report.skip("missing column", path.name, row, f"no column(s) {missing}")
                continue
            yield row, {str(k): _cell(v) for k, v in obj.items()}


def _check_columns(where: Any, header: list[str], needed: list[str]) -> None:
    missing = [c for c in needed if c not in header]
    if missing:
        raise CourseFormatError(f"{where}: missing column(s) {missing}; the table has {header}")


class _Tests:
    """Collects each problem's distinct test cells and turns them into assignments."""

    def __init__(self, base: Path, file: str, column: str) -> None:
        self.base = base.resolve()
        self.file = file
        self.column = column
        self.cells: dict[str, dict[str, int | str]] = {}  # problem -> test text -> first row
        self.from_json: dict[str, Assignment] = {}
        self._files: dict[str, str] = {}

    def add(self, problem: str, cell: str, row: int | str) -> None:
        cell = cell.replace("\r\n", "\n").strip("\n")
        if not cell.strip():
            return
        where = f"{self.file}: row {row}, column {self.column!r}"
        if "\n" not in cell and cell.strip().endswith((".py", ".json")):
            path = (self.base / cell.strip()).resolve()
            if not path.is_relative_to(self.base):
                raise CourseFormatError(f"{where}: test file {cell!r} is outside {self.base}")
            if not path.is_file():
                raise CourseFormatError(f"{where}: no test file {path}")
            if path.stat().st_size > MAX_TEST_FILE_BYTES:
                raise CourseFormatError(f"{where}: test file {path} is over 1 MiB")
            if path.suffix == ".json":
                self._json_tests(problem, path, where)
                return
            cell = self._files.setdefault(str(path), path.read_text(encoding="utf-8-sig"))
        try:
            compile(cell, f"<tests of {problem}>", "exec", dont_inherit=True)
        except (SyntaxError, ValueError) as exc:
            raise CourseFormatError(f"{where}: the test code does not parse: {exc}") from None
        self.cells.setdefault(problem, {}).setdefault(cell, row)

    def _json_tests(self, problem: str, path: Path, where: str) -> None:
        try:
            loaded = load_assignments(path)
        except AssignmentError as exc:
            raise CourseFormatError(f"{where}: {exc}") from None
        chosen = loaded.get(problem) or (next(iter(loaded.values())) if len(loaded) == 1 else None)
        if chosen is None:
            raise CourseFormatError(f"{where}: {path} has no assignment {problem!r}")
        self.from_json[problem] = chosen

    def assignments(self, facts: dict[str, dict[str, str]]) -> dict[str, Assignment]:
        out: dict[str, Assignment] = {}
        for problem, assignment in self.from_json.items():
            out[problem] = Assignment(
                id=problem, title=assignment.title, statement=assignment.statement,
                tests=assignment.tests, entry_point=assignment.entry_point,
                solution=assignment.solution, limits=assignment.limits,
            )
        for problem, cells in self.cells.items():
            if problem in out:
                continue
            f = facts.get(problem, {})
            entry = f.get("function") or None
            tests = tuple(
                CheckTest(name=f"t{i}", code=code + "\n") for i, code in enumerate(cells, 1)
            )
            if any("def check(" in t.code for t in tests) and not entry:
                raise CourseFormatError(
                    f"{self.file}: column {self.column!r}: problem {problem!r} has a "
                    "check(candidate) test but no function column names the entry point"
                )
            out[problem] = Assignment(
                id=problem, title=f.get("title") or problem,
                statement=_statement(f), tests=tests, entry_point=entry,
            )
        return out


def _statement(facts: Mapping[str, str]) -> str:
    if facts.get("statement"):
        return facts["statement"]
    if facts.get("function"):
        return f"Write the function `{facts['function']}`."
    return ""


def import_table(
    source: str | Path | Any,
    *,
    columns: Mapping[str, str],
    assignments: dict[str, Assignment] | None = None,
    salt: str | None = None,
    keep_ids: bool = False,
    term: str = "all",
    test_terms: list[str] | None = None,
    encoding: str = "utf-8",
    name: str | None = None,
    language: str | None = None,
    max_score: float | None = None,
    tests_dir: str | Path | None = None,
    split_options: SplitOptions | None = None,
    selection: Selection | None = None,
    progress: Callable[[int], None] | None = None,
) -> tuple[Course, ImportReport]:
    """Import a table of submissions (a .csv/.parquet/.jsonl file or a pandas DataFrame).

    Args:
        source: the table file, or a ``pandas.DataFrame``.
        columns: our field -> the table's column (``student``, ``problem`` and ``code`` needed).
        assignments: tests by problem id (they win over the table's tests column).
        salt: salt for pseudonymous student ids (None: a random one).
        keep_ids: keep the real student ids instead.
        term: the term of rows without a term column.
        test_terms: terms to hold out as the test split.
        encoding: the text encoding of CSV / JSON Lines files.
        name: the course name (default: the file's stem, or ``table``).
        language: the code's language where no language column says it (default python).
        max_score: divide numeric scores by this (e.g. 100).
        tests_dir: where test file paths are relative to (default: the table's folder).
        split_options: the split by students.
        progress: called with the rows read so far, every few thousand rows.
        selection: a selection preset.

    Raises:
        CourseFormatError: a missing column or test file, bad options; always naming where.
    """
    check_encoding(encoding)
    missing = [f for f in REQUIRED_FIELDS if f not in columns]
    if missing:
        raise CourseFormatError(f"--columns: missing {missing} (needed: {list(REQUIRED_FIELDS)})")
    if max_score is not None and not max_score > 0:
        raise CourseFormatError(f"--max-score {max_score!r}: must be a positive number")
    fixed_language = None
    if language is not None:
        fixed_language = language_name(language) or language.strip().lower()
    is_file = isinstance(source, (str, Path))
    file = Path(source).name if is_file else "DataFrame"
    base = Path(tests_dir) if tests_dir else (Path(source).parent if is_file else Path.cwd())
    report = ImportReport(format="table", source=str(source) if is_file else "DataFrame")
    report.on_rows = progress
    pseudonym = Pseudonymizer(salt, keep_ids=keep_ids)
    col = dict(columns)
    tests = _Tests(base, file, col.get("tests", "tests"))
    facts: dict[str, dict[str, str]] = {}
    rows: list[RawSubmission] = []

    def value(r: dict[str, str], field_name: str) -> str:
        return r.get(col[field_name], "") if field_name in col else ""

    for row, r in _records(source, report, list(col.values()), encoding):
        student, problem = value(r, "student").strip(), value(r, "problem").strip()
        code = value(r, "code")
        if not student or not problem:
            empty = col["student"] if not student else col["problem"]
            report.skip("empty id", file, row, f"column {empty!r} is empty")
            continue
        if not code.strip():
            report.skip("empty code", file, row, f"column {col['code']!r} is empty")
            continue
        try:
            score = _score(value(r, "score"), max_score)
        except ValueError as exc:
            report.skip("bad score", file, row, f"column {col.get('score')!r}: {exc}")
            continue
        order_text = value(r, "order").strip()
        try:
            order = float(order_text) if order_text else None
        except ValueError:
            report.skip("bad order", file, row, f"column {col['order']!r} is {order_text!r}")
            continue
        stamp = value(r, "timestamp")
        when = parse_timestamp(stamp)
        if when is None and stamp.strip():
            report.skip("bad timestamp", file, row, f"column {col['timestamp']!r} is {stamp!r}")
            continue
        lang_text = value(r, "language").strip()
        lang = (language_name(lang_text) or lang_text.lower()) if lang_text else None
        lang = lang or fixed_language or PYTHON
        if (why := language_disagreement(code, lang)) is not None:
            report.warn("code disagrees with its language", file, row, why)
        f = facts.setdefault(problem, {})
        for key in ("statement", "function", "title", "type"):
            if (text := value(r, key).strip()) and not f.get(key):
                f[key] = text
        tests.add(problem, value(r, "tests"), row)
        if score is None:
            report.note("kept without a logged score")
        rows.append(
            RawSubmission(
                student=pseudonym(student),
                assignment=problem,
                term=value(r, "term").strip() or term,
                when=when,
                tie_breaker=(order if order is not None else 0.0, _row_key(row)),
                code=code,
                timestamp=when.isoformat() if when else None,
                logged_score=score,
                feedback=value(r, "feedback").strip() or None,
                language=lang,
                redacted=_flag(r, col.get("redacted")),
                exam=_flag(r, col.get("exam")),
                row=_row_key(row),
            )
        )
    found = tests.assignments(facts)
    found.update(assignments or {})
    for aid, problem_facts in facts.items():
        if aid in found and not found[aid].statement and _statement(problem_facts):
            a = found[aid]
            found[aid] = Assignment(id=a.id, title=a.title, statement=_statement(problem_facts),
                                    tests=a.tests, entry_point=a.entry_point or
                                    problem_facts.get("function"), solution=a.solution,
                                    limits=a.limits)
    problems = {
        aid: Problem(id=aid, title=f.get("title") or aid, statement=_statement(f),
                     entry_point=f.get("function") or None)
        for aid, f in facts.items()
        if aid not in found
    }
    if selection is not None:
        selection.problem_types = (
            {aid: f.get("type", "") for aid, f in facts.items()} if "type" in col else None
        )
    report.settings = {
        "columns": col,
        "student_ids": pseudonym.describe(),
        "encoding": encoding,
        "ordering": _ordering(col),
        "max_score": max_score,
        "language": fixed_language or ("from column" if "language" in col else PYTHON),
        "tests": {"from_table": len(tests.cells) + len(tests.from_json),
                  "given": len(assignments or {})},
    }
    course = assemble_course(
        name or (Path(source).stem if is_file else "table"),
        found,
        rows,
        report,
        test_terms=test_terms,
        metadata={"table_columns": col},
        problems=problems,
        split_options=split_options,
        selection=selection,
    )
    return course, report


def _score(text: str, max_score: float | None) -> float | None:
    text = text.strip()
    if not text:
        return None
    if max_score is not None and text.lower() not in ("true", "false", "pass", "fail"):
        try:
            value = float(text) / max_score
        except ValueError:
            raise ValueError(f"{text!r} is not a number") from None
        if not 0 <= value <= 1:
            raise ValueError(f"{text!r} is outside 0..{max_score:g}")
        return value
    try:
        return parse_grade(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a grade in 0..1 or a pass/fail word") from None


def _flag(r: dict[str, str], column: str | None) -> bool | None:
    if column is None:
        return None
    return r.get(column, "").strip().lower() in ("1", "true", "yes", "y", "t")


def _row_key(row: int | str) -> int:
    return row if isinstance(row, int) else 0


def _ordering(col: dict[str, str]) -> str:
    if "timestamp" in col:
        return "timestamp, then order" if "order" in col else "timestamp, then row order"
    return "order, then row order" if "order" in col else "row order"

"""Reading log tables (CSV) robustly: required columns, bad encodings and ragged rows.

A missing required column is an error naming the file and the columns it does have (nothing
can be imported from such a table). A row with bytes that are not valid in the file's encoding,
or with the wrong number of fields, is a counted skip in the import report; the rest is kept.
Row numbers count the header as row 1, as spreadsheets do (a record spanning several physical
lines, e.g. source code, still counts as one row). Files are streamed: a table of millions of
rows is never held in memory as text.
"""

from __future__ import annotations

import codecs
import csv
import re
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

from student_gym.course.import_report import ImportReport
from student_gym.course.native import CourseFormatError

# Source code fields can be far longer than csv's 128 KiB default.
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


# surrogateescape turns each undecodable byte into a lone surrogate U+DC80..U+DCFF.
_UNDECODABLE = re.compile("[\udc80-\udcff]")


def _has_bad_bytes(text: str) -> bool:
    return _UNDECODABLE.search(text) is not None


def check_encoding(encoding: str) -> str:
    """The codec to read files with (UTF-8 accepts a byte-order mark).

    Raises:
        CourseFormatError: ``encoding`` is not a text encoding Python knows.
    """
    try:
        info = codecs.lookup(encoding)
    except (LookupError, TypeError):
        raise CourseFormatError(
            f"--encoding {encoding!r}: unknown text encoding (e.g. utf-8, latin-1, cp1252)"
        ) from None
    return "utf-8-sig" if info.name == "utf-8" else info.name


def read_table(
    path: Path,
    report: ImportReport,
    *,
    required: Iterable[str],
    encoding: str = "utf-8",
) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield ``(row_number, row)`` for every usable data row of a CSV file.

    Args:
        path: the CSV file.
        report: counts rows read and skips (bad encoding, ragged rows).
        required: columns that must be in the header.
        encoding: the file's text encoding (a UTF-8 byte-order mark is accepted).

    Raises:
        CourseFormatError: the file cannot be read or lacks required columns.
    """
    codec = check_encoding(encoding)
    try:
        handle = open(path, encoding=codec, errors="surrogateescape", newline="")
    except OSError as exc:
        raise CourseFormatError(f"{path}: cannot read: {exc}") from None
    with handle:
        yield from _rows(path, csv.reader(handle), report, required, encoding)


def _rows(
    path: Path, reader: Iterator[list[str]], report: ImportReport, required: Iterable[str],
    encoding: str,
) -> Iterator[tuple[int, dict[str, str]]]:
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise CourseFormatError(f"{path}: empty file (no header row)") from None
    except csv.Error as exc:
        raise CourseFormatError(f"{path}: row 1: malformed CSV header: {exc}") from None
    except UnicodeError as exc:
        raise CourseFormatError(f"{path}: cannot decode as {encoding}: {exc}") from None
    missing = [c for c in required if c not in header]
    if missing:
        hint = ""
        if any(_has_bad_bytes(h) or "\x00" in h for h in header):
            hint = f" (the header is not {encoding} text: pass the file's encoding)"
        raise CourseFormatError(
            f"{path}: missing column(s) {missing}; the header has {header}{hint}"
        )
    name = path.name
    row_number = 1
    while True:
        row_number += 1
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            report.count_row(name)
            report.skip("malformed CSV row", name, row_number, str(exc))
            continue
        except UnicodeError as exc:  # a multi-byte codec that cannot resynchronise
            raise CourseFormatError(
                f"{path}: row {row_number}: cannot decode as {encoding}: {exc}"
            ) from None
        if not fields or fields == [""]:
            continue  # blank line
        report.count_row(name)
        if len(fields) != len(header):
            report.skip(
                "malformed CSV row",
                name,
                row_number,
                f"{len(fields)} fields where the header has {len(header)}",
            )
            continue
        # One search over the whole row; only a row with bad bytes is searched field by field.
        bad = _has_bad_bytes("".join(fields)) and [
            h for h, v in zip(header, fields, strict=True) if _has_bad_bytes(v)
        ]
        if bad:
            report.skip(
                "bad encoding",
                name,
                row_number,
                f"field(s) {bad} are not valid {encoding} text",
            )
            continue
        yield row_number, dict(zip(header, fields, strict=True))


def find_table(folder: Path, *stems: str) -> Path | None:
    """The CSV in ``folder`` whose name (lower case, without .csv) is or ends with one of stems."""
    candidates = sorted(p for p in folder.iterdir() if p.suffix.lower() == ".csv")
    for stem in stems:
        for p in candidates:
            low = p.stem.lower()
            if low == stem or low.endswith("_" + stem) or low.endswith("-" + stem):
                return p
    return None

"""Flat outputs researchers use: a CSV of submissions with both grades and the one that counts."""

from __future__ import annotations

import csv
from pathlib import Path

from student_gym.course.model import RECORD_COLUMNS, Course


def write_submissions_csv(course: Course, path: str | Path) -> Path:
    """Write one row per submission (the columns of :meth:`Course.submission_records`).

    ``regraded_status`` is the grader's verdict where the course stores a report;
    ``grade_source`` says which grade counts (``score``): regraded where tests exist, else
    logged.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(RECORD_COLUMNS))
        writer.writeheader()
        for record in course.submission_records():
            writer.writerow({k: "" if v is None else v for k, v in record.items()})
    return path

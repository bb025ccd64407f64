"""Import reports: what an importer read, kept and skipped, and why. Nothing is dropped silently.

Every importer fills one :class:`ImportReport`: rows read per file, submissions and
trajectories kept, and each kind of skip with its count and a few examples (file, row,
reason). It is written as JSON beside the imported course and printed as a summary.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MAX_EXAMPLES = 5  # examples kept per skip kind; the count is always complete
PROGRESS_EVERY = 5000
MAX_DISTINCT = 15  # beyond MAX_EXAMPLES, a row whose reason text is new is still kept, up to this
_GRADING = {
    "regraded": "regraded (every problem has tests)",
    "logged": "logged (no tests: logged grades only)",
    "mixed": "regraded where tests exist, else logged",
}


@dataclass
class ImportReport:
    """Counts and examples of one import.

    Attributes:
        format: importer name ("falconcode", "progsnap2").
        source: the path imported.
        rows_read: data rows read, per file name.
        submissions_kept: submissions in the resulting course.
        trajectories: trajectories in the resulting course.
        assignments: assignments in the resulting course.
        skips: skip kind -> number of rows skipped for it.
        examples: skip kind -> a few ``{"file", "row", "reason"}`` (see :meth:`skip`).
        notes: facts worth knowing that did not drop anything (kind -> count), e.g. ties.
        warnings: facts that may make the data wrong though nothing was dropped (kind ->
            count), e.g. code whose language disagrees with the metadata; examples as skips.
        settings: the options the import ran with (salt is never stored).
        problems_without_tests: problems kept with logged grades only.
        grading: "regraded", "logged" or "mixed" (which grade counts, see the course model).
        splits: trajectories per split.
        selection: one entry per selection rule: its name, whether it was applied (or why
            not), and how many rows/trajectories it dropped.
    """

    format: str
    source: str
    rows_read: dict[str, int] = field(default_factory=dict)
    submissions_kept: int = 0
    trajectories: int = 0
    assignments: int = 0
    skips: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    notes: Counter[str] = field(default_factory=Counter)
    warnings: Counter[str] = field(default_factory=Counter)
    warning_examples: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    problems_without_tests: int = 0
    grading: str = ""
    splits: dict[str, int] = field(default_factory=dict)
    selection: list[dict[str, Any]] = field(default_factory=list)
    # Called with the rows read so far every PROGRESS_EVERY rows (a progress bar); not stored.
    on_rows: Callable[[int], None] | None = field(default=None, repr=False, compare=False)
    _total_rows: int = field(default=0, repr=False, compare=False)

    def count_row(self, file: str) -> None:
        self.rows_read[file] = self.rows_read.get(file, 0) + 1
        self._total_rows += 1
        if self.on_rows is not None and self._total_rows % PROGRESS_EVERY == 0:
            self.on_rows(self._total_rows)

    def skip(self, kind: str, file: str, row: int | str | None, reason: str) -> None:
        """Count one skipped row of ``kind``; keep it as an example while there are few.

        The first MAX_EXAMPLES rows are kept, then rows with a reason not seen yet (e.g. another
        unknown id), so each distinct reason shows up while there are not too many.
        """
        self.skips[kind] += 1
        examples = self.examples.setdefault(kind, [])
        new_reason = all(e["reason"] != reason for e in examples)
        if len(examples) < MAX_EXAMPLES or (new_reason and len(examples) < MAX_DISTINCT):
            examples.append({"file": file, "row": row, "reason": reason})

    def note(self, kind: str, count: int = 1) -> None:
        self.notes[kind] += count

    def warn(self, kind: str, file: str, row: int | str | None, reason: str) -> None:
        """Count one row that was kept but may be wrong; keep the first few as examples."""
        self.warnings[kind] += 1
        examples = self.warning_examples.setdefault(kind, [])
        if len(examples) < MAX_EXAMPLES:
            examples.append({"file": file, "row": row, "reason": reason})

    @property
    def skipped(self) -> int:
        return sum(self.skips.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "source": self.source,
            "rows_read": dict(self.rows_read),
            "submissions_kept": self.submissions_kept,
            "trajectories": self.trajectories,
            "assignments": self.assignments,
            "skipped": self.skipped,
            "skips": dict(sorted(self.skips.items())),
            "examples": {k: self.examples[k] for k in sorted(self.examples)},
            "notes": dict(sorted(self.notes.items())),
            "warnings": dict(sorted(self.warnings.items())),
            "warning_examples": {k: self.warning_examples[k] for k in sorted(self.warnings)},
            "problems_without_tests": self.problems_without_tests,
            "grading": self.grading,
            "splits": self.splits,
            "selection": self.selection,
            "settings": self.settings,
        }

    def write(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=1, ensure_ascii=False) + "\n", "utf-8")
        return path

    def print_summary(self, console: Any | None = None) -> None:
        """Print the counts and one example per skip kind as rich tables."""
        from rich.console import Console
        from rich.table import Table

        console = console or Console()
        table = Table(title=f"{self.format} import of {self.source}", show_header=False)
        for name, n in self.rows_read.items():
            table.add_row(f"rows read: {name}", str(n))
        table.add_row("submissions kept", str(self.submissions_kept))
        table.add_row("trajectories", str(self.trajectories))
        table.add_row("assignments with tests", str(self.assignments))
        if self.problems_without_tests:
            table.add_row("problems without tests (logged grades)", str(self.problems_without_tests))
        if self.grading:
            table.add_row("grade that counts", _GRADING[self.grading])
        if self.splits:
            table.add_row("splits", ", ".join(f"{k} {v}" for k, v in self.splits.items()))
        table.add_row("rows skipped", str(self.skipped))
        for kind, n in sorted(self.notes.items()):
            table.add_row(f"note: {kind}", str(n))
        for kind, n in sorted(self.warnings.items()):
            table.add_row(f"[yellow]warning: {kind}[/yellow]", str(n))
        console.print(table)
        if self.selection:
            rules = Table(title="selection rules")
            for col in ("rule", "applied", "dropped"):
                rules.add_column(col)
            for rule in self.selection:
                applied = "yes" if rule["applied"] else f"no: {rule['why']}"
                rules.add_row(rule["rule"], applied, f"{rule['dropped']} {rule['unit']}")
            console.print(rules)
        if self.skips:
            skips = Table(title="skipped rows", show_lines=False)
            for col in ("reason", "count", "first example"):
                skips.add_column(col)
            for kind, n in self.skips.most_common():
                ex = self.examples[kind][0]
                skips.add_row(kind, str(n), f"{ex['file']} row {ex['row']}: {ex['reason']}")
            console.print(skips)

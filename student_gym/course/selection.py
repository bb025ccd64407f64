"""Selection presets: which logged rows and trajectories a study keeps, each rule counted.

``edm2026`` is the selection of the EDM 2026 paper (from its released code), in order:

1. drop redacted rows;
2. optionally drop rows flagged ``exam``;
3. keep rows whose problem ``type`` is ``lab``;
4. drop problems whose statement or test mentions ``.csv``;
5. keep one problem per problem group (the group is the problem id's prefix before the first
   ``_``; the group's most frequent problem id is kept);
6. keep a (student, problem) only if the last submission's logged grade is >= 50 (of 100);
7. keep trajectories of more than 6 dialog messages (at least 3 submissions after collapsing
   repeats and cutting after the first full-marks submission);
8. drop trajectory-length outliers per problem: modified z-score
   0.6745 * (len - median) / MAD > 3.5 (a problem whose MAD is 0 has no outliers).

Every rule reports how many rows or trajectories it dropped; a rule whose column the logs do
not have (no ``redacted``, ``exam`` or ``type`` column, no logged grades) is reported as not
applied, with the reason, and drops nothing.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from student_gym.course.assembly import RawSubmission
from student_gym.course.import_report import ImportReport
from student_gym.course.model import Problem, Trajectory, collapse, logged_pass
from student_gym.grader.assignments import Assignment, CheckTest, ScriptTest
from student_gym.grader.report import GRADE_TOLERANCE

PRESETS = ("edm2026",)


@dataclass
class Selection:
    """A selection preset's settings, and the per-problem facts importers fill in.

    Attributes:
        name: the preset name.
        drop_exam: apply the optional "drop exam rows" rule.
        min_last_grade: the last submission's logged grade must reach this (0..1).
        min_submissions: submissions a trajectory needs after collapsing.
        outlier_z: modified z-score above which a trajectory length is an outlier.
        problem_types: problem id -> its ``type`` (None: the logs have no type column).
    """

    name: str = "edm2026"
    drop_exam: bool = False
    min_last_grade: float = 0.5
    min_submissions: int = 3
    outlier_z: float = 3.5
    problem_types: dict[str, str] | None = None
    _rules: list[dict[str, Any]] = field(default_factory=list, repr=False)

    @classmethod
    def preset(cls, name: str, *, drop_exam: bool = False) -> Selection:
        if name not in PRESETS:
            raise ValueError(f"--preset {name!r}: unknown preset; presets: {', '.join(PRESETS)}")
        return cls(name=name, drop_exam=drop_exam)

    def _rule(self, report: ImportReport, rule: str, dropped: int, unit: str,
              why: str | None = None) -> None:
        report.selection.append(
            {"rule": rule, "applied": why is None, "why": why, "dropped": dropped, "unit": unit}
        )

    # -- row rules ---------------------------------------------------------------------------

    def filter_rows(
        self,
        rows: list[RawSubmission],
        assignments: dict[str, Assignment],
        problems: dict[str, Problem],
        report: ImportReport,
    ) -> list[RawSubmission]:
        """Rules 1-5, in order; returns the kept rows."""
        rows = self._flag_rule(rows, report, "redacted", "drop redacted rows")
        if self.drop_exam:
            rows = self._flag_rule(rows, report, "exam", "drop exam rows")
        else:
            self._rule(report, "drop exam rows", 0, "rows", "optional rule not asked for")
        if self.problem_types is None:
            self._rule(report, "keep problem type lab", 0, "rows", "no problem type column")
        else:
            kept = [r for r in rows if self.problem_types.get(r.assignment, "").lower() == "lab"]
            self._rule(report, "keep problem type lab", len(rows) - len(kept), "rows")
            rows = kept
        texts = {aid: _problem_text(a) for aid, a in assignments.items()}
        texts.update({pid: p.statement for pid, p in problems.items() if pid not in texts})
        if not any(texts.values()):
            self._rule(report, "drop problems mentioning .csv", 0, "rows",
                       "no statement or test text")
        else:
            csv_problems = {aid for aid, text in texts.items() if ".csv" in text.lower()}
            kept = [r for r in rows if r.assignment not in csv_problems]
            self._rule(report, "drop problems mentioning .csv", len(rows) - len(kept), "rows")
            rows = kept
        counts = Counter(r.assignment for r in rows)
        best: dict[str, str] = {}
        for aid, n in sorted(counts.items()):
            group = aid.split("_", 1)[0]
            if group not in best or n > counts[best[group]]:
                best[group] = aid
        keep = set(best.values())
        kept = [r for r in rows if r.assignment in keep]
        self._rule(report, "one problem per group (most frequent id)", len(rows) - len(kept),
                   "rows")
        return kept

    def _flag_rule(
        self, rows: list[RawSubmission], report: ImportReport, attr: str, rule: str
    ) -> list[RawSubmission]:
        if all(getattr(r, attr) is None for r in rows):
            self._rule(report, rule, 0, "rows", f"no {attr} column")
            return rows
        kept = [r for r in rows if not getattr(r, attr)]
        self._rule(report, rule, len(rows) - len(kept), "rows")
        return kept

    # -- trajectory rules --------------------------------------------------------------------

    def filter_trajectories(
        self, trajectories: list[Trajectory], report: ImportReport
    ) -> list[Trajectory]:
        """Rules 6-8, in order; returns the kept trajectories."""
        if not any(s.logged_score is not None for t in trajectories for s in t.submissions):
            self._rule(report, f"last grade >= {self.min_last_grade * 100:g}", 0,
                       "trajectories", "no logged grades")
        else:
            kept = [
                t for t in trajectories
                if (t.submissions[-1].logged_score or 0.0) >= self.min_last_grade - GRADE_TOLERANCE
            ]
            self._rule(report, f"last grade >= {self.min_last_grade * 100:g}",
                       len(trajectories) - len(kept), "trajectories")
            trajectories = kept
        lengths = {t.id: len(collapse(t.submissions, logged_pass)) for t in trajectories}
        kept = [t for t in trajectories if lengths[t.id] >= self.min_submissions]
        self._rule(report, f"at least {self.min_submissions} submissions after collapsing "
                   f"(more than {2 * self.min_submissions} dialog messages)",
                   len(trajectories) - len(kept), "trajectories")
        trajectories = kept
        by_problem: dict[str, list[int]] = defaultdict(list)
        for t in trajectories:
            by_problem[t.assignment].append(lengths[t.id])
        outliers = set()
        for t in trajectories:
            values = by_problem[t.assignment]
            median = statistics.median(values)
            mad = statistics.median(abs(v - median) for v in values)
            if mad > 0 and 0.6745 * (lengths[t.id] - median) / mad > self.outlier_z:
                outliers.add(t.id)
        self._rule(report, f"length outliers per problem (modified z > {self.outlier_z:g})",
                   len(outliers), "trajectories")
        return [t for t in trajectories if t.id not in outliers]


def _problem_text(assignment: Assignment) -> str:
    """The statement and test code of an assignment (what rule 4 searches)."""
    parts = [assignment.statement]
    for test in assignment.tests:
        if isinstance(test, ScriptTest):
            parts.append(test.script)
        elif isinstance(test, CheckTest):
            parts.append(test.code)
    return "\n".join(parts)

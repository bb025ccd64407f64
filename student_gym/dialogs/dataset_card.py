"""The dataset card (README.md) written beside serialized datasets.

It says what a reader of the datasets must know: where the logs came from, how student ids
were pseudonymised, which selection rules ran and what each dropped, which grade counts, the
rows per kind and split, and the licence (which only the data's owner can state).
"""

from __future__ import annotations

from typing import Any

from student_gym.course.model import Course

UNKNOWN_LICENSE = "unknown"


def dataset_card(course: Course, report: dict[str, Any], license: str | None) -> str:
    """Markdown with a YAML header (Hugging Face dataset card conventions).

    Args:
        course: the serialized course.
        report: the serialize report (``datasets`` -> kind -> split -> counts).
        license: the licence of the source logs (None: "unknown", and the card says so).
    """
    meta = course.metadata
    lines = [
        "---",
        f"license: {license or UNKNOWN_LICENSE}",
        f"pretty_name: {course.name} student dialogs",
        "tags: [education, programming, student-modeling, student_gym]",
        "---",
        "",
        f"# {course.name}: student dialogs",
        "",
        "Dialogs made by `student-gym serialize` from programming course logs: the student's "
        "programs are assistant turns, the feedback on each program is the next user turn.",
        "",
        "## Source",
        "",
        f"- course: `{course.name}`, imported from `{meta.get('source', '?')}` "
        f"({meta.get('source_format', 'native')} format)",
        f"- problems: {len(course.assignments)} with tests, {len(course.problems)} without "
        f"(logged grades); trajectories: {len(course.trajectories)}",
        f"- grade that counts: {_grading(course)}",
        f"- licence: {license or 'unknown: the data owner must state it (serialize --license)'}",
        "",
        "## Pseudonymisation",
        "",
        f"Student ids: {meta.get('student_ids') or 'as stored in the course'}. The salt is "
        "never written into the course, the datasets or this card.",
        "",
        "## Selection",
        "",
    ]
    rules = meta.get("selection") or []
    if not rules:
        lines.append("No selection preset was applied at import; every kept row is here.")
    else:
        lines += ["| rule | applied | dropped |", "|---|---|---|"]
        for rule in rules:
            applied = "yes" if rule.get("applied") else f"no: {rule.get('why')}"
            lines.append(f"| {rule.get('rule')} | {applied} | {rule.get('dropped')} "
                         f"{rule.get('unit')} |")
    lines += ["", "## Splits and rows", "", "| kind | split | rows | trajectories |",
              "|---|---|---|---|"]
    for kind, splits in report["datasets"].items():
        for split, counts in splits.items():
            lines.append(f"| {kind} | {split} | {counts['rows']} | {counts['trajectories']} |")
    lines += [
        "",
        "Splits: held-out terms are `test`; within training terms a seeded fraction of "
        "students is `validation` (and `test` when the course has one term), so no student is "
        "in two splits of one term.",
        "",
        f"Dialog format: {report['format']}, feedback level {report['feedback_level']}.",
        "",
    ]
    return "\n".join(lines)


def _grading(course: Course) -> str:
    sources = course.grade_sources()
    return (f"regraded by the student_gym grader for {sources['regraded']} trajectories, "
            f"logged for {sources['logged']} (no tests or not Python)")

"""Course statistics: how a course's trajectories look, to compare it with real CS1 logs.

:func:`course_stats` computes, for any course (bundled, imported, with or without tests), the
figures ``student-gym course stats`` prints. Every figure is defined in the docstring of the
function that computes it; the definitions are pinned by tests/test_course_stats.py.

Where a submission has no grader report (a course with logged grades only, or one not yet
regraded), its status comes from the log: ``passed`` when the logged score is full,
``syntax_error`` when its Python code does not compile, ``failed`` when the log has a score,
``unknown`` otherwise. ``status_source`` counts how many statuses came from each place.
"""

from __future__ import annotations

import difflib
import statistics
import warnings
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from student_gym.course.model import (
    PYTHON,
    SPLITS,
    Course,
    Submission,
    Trajectory,
    collapse,
    logged_pass,
)
from student_gym.course.program_ast import normalized_ast

INDEX_BUCKETS = 10  # status mix per submission index 1..9, then one bucket "10+"
HELD_OUT_SPLIT = "test"
TRAIN_SPLIT = "train"


def submission_status(sub: Submission, language: str = PYTHON) -> tuple[str, str]:
    """``(status, source)``: the grader's status when a report is stored, else one from the log.

    Without a report: ``passed`` when the logged score is full; ``syntax_error`` when the code is
    Python and ``compile()`` refuses it; ``failed`` when a logged score exists; else
    ``unknown``. ``source`` is ``"report"`` or ``"logged"``.
    """
    if sub.report is not None:
        return sub.report.status, "report"
    if logged_pass(sub):
        return "passed", "logged"
    if language == PYTHON and _compile_error(sub.code) is not None:
        return "syntax_error", "logged"
    return ("failed" if sub.logged_score is not None else "unknown"), "logged"


def error_type(sub: Submission, language: str = PYTHON) -> str | None:
    """The exception a submission's first error is named by, or None when it raised nothing.

    With a report: the program-level ``error_type`` (``SyntaxError``, a top-level crash,
    ``Timeout``...), else the first test's ``error_type`` (a test that raised). Without one:
    the exception ``compile()`` raises on Python code, if any (runtime errors are unknown).
    """
    if sub.report is not None:
        if sub.report.error_type:
            return sub.report.error_type
        return next((t.error_type for t in sub.report.tests if t.error_type), None)
    return _compile_error(sub.code) if language == PYTHON else None


def _compile_error(code: str) -> str | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # novice "\d" in strings: SyntaxWarning noise
            compile(code, "<submission>", "exec")
    except (SyntaxError, ValueError) as exc:  # ValueError: a null byte
        return type(exc).__name__
    except (RecursionError, MemoryError):
        return "SyntaxError"  # CPython refuses the nesting: what a student would see
    return None


def program_key(code: str) -> str:
    """A program's identity: its normalised AST, or its stripped text when it does not parse."""
    tree = normalized_ast(code)
    if tree is not None:
        return tree
    return "text:" + "\n".join(line.rstrip() for line in code.strip().splitlines())


def length_stats(lengths: Sequence[int]) -> dict[str, Any]:
    """Trajectory lengths (submissions per trajectory, as logged, nothing collapsed).

    Returns median, mean, max, the share of trajectories with >= 3 and >= 10 submissions,
    the count with >= 3, and a histogram ``{length: trajectories}`` (lengths >= 20 in "20+").
    """
    if not lengths:
        return {"n": 0}
    histogram: Counter[str] = Counter(str(n) if n < 20 else "20+" for n in lengths)
    return {
        "n": len(lengths),
        "median": float(statistics.median(lengths)),
        "mean": statistics.fmean(lengths),
        "max": max(lengths),
        "share_ge_3": sum(n >= 3 for n in lengths) / len(lengths),
        "share_ge_10": sum(n >= 10 for n in lengths) / len(lengths),
        "count_ge_3": sum(n >= 3 for n in lengths),
        "histogram": dict(sorted(histogram.items(), key=lambda kv: int(kv[0].rstrip("+")))),
    }


def effective_length(trajectory: Trajectory) -> int:
    """Submissions a dialog shows: cut after the first pass, repeats of one program collapsed.

    This is what evaluation starts (k = 2..N) and DPO pairs are drawn from.
    """
    return len(collapse(trajectory.submissions,
                        lambda s: submission_status(s, trajectory.language)[0] == "passed"))


def status_by_index(course: Course) -> dict[str, dict[str, Any]]:
    """For submission index i = 1, 2, ... (1 = first try; "10+" pools the rest): the share of
    each status among all submissions at that index, and ``n``, the submissions there."""
    buckets: dict[str, Counter[str]] = {}
    for t in course.trajectories:
        for i, sub in enumerate(t.submissions, start=1):
            key = str(i) if i < INDEX_BUCKETS else f"{INDEX_BUCKETS}+"
            buckets.setdefault(key, Counter())[submission_status(sub, t.language)[0]] += 1
    return {key: _shares(counts) for key, counts in buckets.items()}


def _shares(counts: Counter[str]) -> dict[str, Any]:
    n = sum(counts.values())
    out: dict[str, Any] = {status: c / n for status, c in counts.most_common()}
    out["n"] = n
    return out


def distinct_programs(course: Course) -> dict[str, Any]:
    """Distinct programs over all submissions, counted within each assignment and summed.

    ``text_share``: distinct program texts (trailing whitespace ignored) / submissions.
    ``ast_share``: distinct :func:`program_key` values (normalised AST: names, docstrings and
    layout do not count) / submissions. Real ITAP logs: 81% by text.
    """
    texts: set[tuple[str, str]] = set()
    asts: set[tuple[str, str]] = set()
    n = 0
    for t in course.trajectories:
        for sub in t.submissions:
            n += 1
            texts.add((t.assignment, "\n".join(x.rstrip() for x in sub.code.strip().splitlines())))
            asts.add((t.assignment, program_key(sub.code)))
    return {"n": n, "text_share": len(texts) / n if n else None,
            "ast_share": len(asts) / n if n else None}


def held_out_seen(course: Course) -> dict[str, Any]:
    """How much of the held-out split a learner could have memorised from the training split.

    A held-out program is *seen* when its :func:`program_key` (normalised AST) occurs among the
    training split's submissions to the same assignment. ``finals``: share of held-out
    trajectories whose last submission is seen; ``submissions``: share of all held-out
    submissions seen; ``correct_finals``: the same among finals that passed.
    """
    seen: dict[str, set[str]] = {}
    for t in course.split(TRAIN_SPLIT):
        seen.setdefault(t.assignment, set()).update(program_key(s.code) for s in t.submissions)
    finals = subs = finals_hit = subs_hit = correct = correct_hit = 0
    for t in course.split(HELD_OUT_SPLIT):
        known = seen.get(t.assignment, set())
        for sub in t.submissions:
            subs += 1
            subs_hit += program_key(sub.code) in known
        last = t.submissions[-1]
        hit = program_key(last.code) in known
        finals += 1
        finals_hit += hit
        if submission_status(last, t.language)[0] == "passed":
            correct += 1
            correct_hit += hit
    return {
        "finals_n": finals,
        "finals": finals_hit / finals if finals else None,
        "submissions_n": subs,
        "submissions": subs_hit / subs if subs else None,
        "correct_finals_n": correct,
        "correct_finals": correct_hit / correct if correct else None,
    }


def edit_sizes(course: Course) -> dict[str, Any]:
    """Lines changed between consecutive submissions of a trajectory.

    One value per consecutive pair: lines removed + lines added by a line diff
    (:class:`difflib.SequenceMatcher`, trailing whitespace ignored). Returns median, mean, the
    share of identical resubmissions (0 lines) and of small edits (1-2 lines).
    """
    sizes = []
    for t in course.trajectories:
        for a, b in zip(t.submissions, t.submissions[1:], strict=False):
            sizes.append(lines_changed(a.code, b.code))
    if not sizes:
        return {"n": 0}
    return {
        "n": len(sizes),
        "median_lines": float(statistics.median(sizes)),
        "mean_lines": statistics.fmean(sizes),
        "identical_share": sum(s == 0 for s in sizes) / len(sizes),
        "small_share": sum(1 <= s <= 2 for s in sizes) / len(sizes),
    }


def lines_changed(before: str, after: str) -> int:
    """Lines removed plus lines added to turn ``before`` into ``after``."""
    a = [x.rstrip() for x in before.splitlines()]
    b = [x.rstrip() for x in after.splitlines()]
    matched = sum(block.size for block in
                  difflib.SequenceMatcher(None, a, b, autojunk=False).get_matching_blocks())
    return (len(a) - matched) + (len(b) - matched)


def course_stats(course: Course) -> dict[str, Any]:
    """Every statistic of ``course``, JSON-ready (see each helper for its definition).

    ``first_try_correct``: share of trajectories whose first submission passed;
    ``ever_correct``: share with any passing submission; ``status``: share of each status over
    all submissions; ``error_types``: submissions per :func:`error_type` name; ``counts``:
    students, assignments (used by trajectories), trajectories and submissions per split.
    """
    trajectories = course.trajectories
    statuses: Counter[str] = Counter()
    sources: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    first = ever = 0
    for t in trajectories:
        passed = []
        for sub in t.submissions:
            status, source = submission_status(sub, t.language)
            statuses[status] += 1
            sources[source] += 1
            passed.append(status == "passed")
            name = error_type(sub, t.language)
            if name:
                errors[name] += 1
        first += bool(passed and passed[0])
        ever += any(passed)
    n = len(trajectories)
    effective = [effective_length(t) for t in trajectories]
    per_split: dict[str, Counter[str]] = {"trajectories": Counter(), "submissions": Counter()}
    for t in trajectories:
        split = course.split_of(t)
        per_split["trajectories"][split] += 1
        per_split["submissions"][split] += len(t)
    held_out = [e for t, e in zip(trajectories, effective, strict=True)
                if course.split_of(t) == HELD_OUT_SPLIT]
    train = [e for t, e in zip(trajectories, effective, strict=True)
             if course.split_of(t) == TRAIN_SPLIT]
    return {
        "course": course.name,
        "synthetic": bool(course.metadata.get("synthetic", False)),
        "status_source": dict(sources),
        "counts": {
            "students": len({t.student for t in trajectories}),
            "assignments": len({t.assignment for t in trajectories}),
            "trajectories": dict(per_split["trajectories"]),
            "submissions": dict(per_split["submissions"]),
        },
        "length": length_stats([len(t) for t in trajectories]),
        "effective_length": {
            **length_stats(effective),
            "train_count_ge_3": sum(e >= 3 for e in train),
            "held_out_count_ge_3": sum(e >= 3 for e in held_out),
        },
        "first_try_correct": first / n if n else None,
        "ever_correct": ever / n if n else None,
        "status": _shares(statuses) if statuses else {"n": 0},
        "status_by_index": status_by_index(course),
        "distinct_programs": distinct_programs(course),
        "held_out_seen_in_training": held_out_seen(course),
        "error_types": dict(errors.most_common()),
        "edit_size": edit_sizes(course),
    }


def headline(stats: dict[str, Any]) -> list[tuple[str, Any]]:
    """The figures a side-by-side table shows, in order: (label, value or None)."""
    length, eff = stats["length"], stats["effective_length"]
    status, distinct = stats["status"], stats["distinct_programs"]
    seen, edits = stats["held_out_seen_in_training"], stats["edit_size"]
    counts = stats["counts"]
    rows: list[tuple[str, Any]] = [
        ("students", counts["students"]),
        ("assignments", counts["assignments"]),
        *((f"trajectories ({split})", counts["trajectories"].get(split, 0)) for split in SPLITS),
        ("submissions", status.get("n")),
        ("statuses from", ", ".join(f"{k} {v}" for k, v in sorted(stats["status_source"].items()))),
        ("length median", length.get("median")),
        ("length mean", length.get("mean")),
        ("length max", length.get("max")),
        ("share length >= 10", length.get("share_ge_10")),
        ("effective length >= 3 (train)", eff.get("train_count_ge_3")),
        ("effective length >= 3 (held-out)", eff.get("held_out_count_ge_3")),
        ("first-try correct", stats["first_try_correct"]),
        ("ever correct", stats["ever_correct"]),
        ("share syntax_error", status.get("syntax_error", 0.0) if status.get("n") else None),
        ("share runtime_error", status.get("runtime_error", 0.0) if status.get("n") else None),
        ("distinct programs (text)", distinct["text_share"]),
        ("distinct programs (AST)", distinct["ast_share"]),
        ("held-out finals seen in train", seen["finals"]),
        ("held-out submissions seen in train", seen["submissions"]),
        ("edit size median (lines)", edits.get("median_lines")),
        ("identical resubmissions", edits.get("identical_share")),
    ]
    top = list(stats["error_types"].items())[:3]
    rows.append(("top error types", ", ".join(f"{k} {v}" for k, v in top) or "-"))
    return rows


def format_value(value: Any) -> str:
    """How a figure prints: shares and means with 3 decimals, None as "-"."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}" if not value.is_integer() or value < 1 else f"{value:.0f}"
    return str(value)


def merged_rows(stats: Iterable[dict[str, Any]]) -> list[list[str]]:
    """Rows ``[label, value of course 1, value of course 2, ...]`` for a side-by-side table."""
    columns = [headline(s) for s in stats]
    return [[label, *(format_value(col[i][1]) for col in columns)]
            for i, (label, _) in enumerate(columns[0])]

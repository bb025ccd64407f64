"""Training rows built on the serializer: SFT samples, DPO pairs and DAPO prompts.

All three use TRL's conversational forms, with the dialog before the target submission as an
explicit ``prompt`` (a list of messages):

* SFT, prompt-completion: ``completion`` = [the assistant message]; TRL's SFTTrainer then puts
  the loss on the completion only (``completion_only_loss`` defaults to on for such rows).
* DPO, explicit prompt: ``chosen`` and ``rejected`` = [one assistant message] each; the prompt
  is never duplicated inside them, so truncating the prompt cannot cut into them.
* DAPO: ``prompt`` plus the columns the reward needs (target program and grade).

Which grade counts: the regraded one where the problem has tests (and the code is Python),
else the logged one; ``RowStats.grade_sources`` counts the trajectories of each. DAPO rows need
the grader for their reward, so trajectories without tests give none.

``datasets`` is imported lazily: student_gym installs and grades without it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from student_gym.course.model import Course, Problem, Submission, Trajectory
from student_gym.course.program_ast import same_program
from student_gym.dialogs.serializer import (
    DialogStyle,
    course_assignment,
    effective_submissions,
    program_turn,
    submission_messages,
    truncate_messages,
)
from student_gym.grader.assignments import Assignment
from student_gym.grader.report import GRADE_TOLERANCE


@dataclass
class RowStats:
    """What a row builder produced and what it skipped, with the reasons.

    Attributes:
        rows: rows produced.
        trajectories: trajectories read.
        skipped: reason -> count of trajectories or candidate rows skipped.
        errors: one message per bad trajectory, naming it (first 20 kept).
        truncated: prompts that lost turns to the token budget.
        grade_sources: trajectories used per grade source ("regraded" / "logged").
    """

    rows: int = 0
    trajectories: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    truncated: int = 0
    grade_sources: Counter[str] = field(default_factory=Counter)

    def skip(self, reason: str, message: str | None = None) -> None:
        self.skipped[reason] += 1
        if message is not None and len(self.errors) < 20:
            self.errors.append(message)


def _usable_trajectories(
    course: Course, split: str, stats: RowStats, *, need_tests: bool = False
) -> Iterator[tuple[Trajectory, list[Submission], Assignment | Problem]]:
    """(trajectory, effective submissions, problem) for every usable trajectory of a split.

    A trajectory whose assignment is missing or whose reports cannot be had is skipped, counted
    and named in ``stats.errors``; the rest go on. ``need_tests`` skips (and counts) the
    trajectories whose grade is the logged one.
    """
    for trajectory in course.split(split):
        stats.trajectories += 1
        source = course.grade_source(trajectory)
        if need_tests and source == "logged":
            stats.skip("no tests (DAPO rewards need the grader)")
            continue
        try:
            assignment = course_assignment(course, trajectory)
            subs = effective_submissions(trajectory, assignment, source)
        except (KeyError, ValueError) as exc:
            stats.skip("bad trajectory", str(exc.args[0] if exc.args else exc))
            continue
        stats.grade_sources[source] += 1
        yield trajectory, subs, assignment


def _prompt(
    assignment: Assignment | Problem,
    subs: list[Submission],
    prefix: int,
    style: DialogStyle,
    count_tokens: Callable[[list[dict[str, str]]], int] | None,
    max_prompt_tokens: int | None,
    stats: RowStats,
    language: str,
) -> list[dict[str, str]]:
    """The dialog before effective submission ``prefix``, truncated when a budget is given."""
    messages = submission_messages(assignment, subs[:prefix], style, language)
    if count_tokens is not None and max_prompt_tokens is not None:
        kept = truncate_messages(messages, count_tokens, max_prompt_tokens)
        if len(kept) < len(messages):
            stats.truncated += 1
        messages = kept
    return messages


def _scores(
    course: Course, trajectory: Trajectory, subs: list[Submission], source: str, stats: RowStats
) -> list[float] | None:
    """The grade that counts for each submission: ``source`` (regraded unless asked
    otherwise), or the logged grade where the trajectory has no tests.

    None (the trajectory is skipped and counted) when a logged score is missing.
    """
    if course.grade_source(trajectory) == "logged":
        source = "logged"
    scores = [s.score(source) for s in subs]
    missing = [s.order for s, score in zip(subs, scores, strict=True) if score is None]
    if missing:
        stats.skip(
            f"missing {source} score",
            f"trajectory {trajectory.id!r}: submission {missing[0]} has no {source} score",
        )
        return None
    return [float(score) for score in scores]


def _assistant(code: str, language: str) -> list[dict[str, str]]:
    return [program_turn(code, language)]


def sft_rows(
    course: Course,
    split: str = "train",
    style: DialogStyle | None = None,
    *,
    include_first: bool = False,
    count_tokens: Callable[[list[dict[str, str]]], int] | None = None,
    max_prompt_tokens: int | None = None,
    stats: RowStats | None = None,
) -> list[dict[str, Any]]:
    """One SFT row per assistant turn after the first (docs/dialogs.md).

    Row columns: ``prompt`` (all earlier messages), ``completion`` ([that assistant message]),
    ``trajectory_id``, ``assignment_id`` and ``step`` (the prefix: the completion is effective
    submission ``step``, 0-based, so the prompt shows ``step`` real submissions).

    Args:
        course: the course.
        split: "train", "test" or a term name.
        style: dialog style (default: summary feedback).
        include_first: also train the first submission (prompt = system + statement).
        count_tokens: token counter of a message list, used with ``max_prompt_tokens`` to
            left-truncate prompts by whole turns.
        max_prompt_tokens: prompt budget.
        stats: filled with counts and skip reasons when given.
    """
    style = style or DialogStyle()
    stats = stats if stats is not None else RowStats()
    rows: list[dict[str, Any]] = []
    for trajectory, subs, assignment in _usable_trajectories(course, split, stats):
        first = 0 if include_first else 1
        if len(subs) <= first:
            stats.skip("only one effective submission (no turn after the first)")
            continue
        for step in range(first, len(subs)):
            prompt = _prompt(assignment, subs, step, style, count_tokens, max_prompt_tokens, stats,
                             trajectory.language)
            rows.append(
                {
                    "prompt": prompt,
                    "completion": _assistant(subs[step].code, trajectory.language),
                    "trajectory_id": trajectory.id,
                    "assignment_id": trajectory.assignment,
                    "step": step,
                }
            )
    stats.rows += len(rows)
    return rows


def dpo_rows(
    course: Course,
    split: str = "train",
    style: DialogStyle | None = None,
    *,
    count_tokens: Callable[[list[dict[str, str]]], int] | None = None,
    max_prompt_tokens: int | None = None,
    score_source: str = "regraded",
    stats: RowStats | None = None,
) -> list[dict[str, Any]]:
    """DPO pairs, the algorithm of docs/dialogs.md exactly.

    For each effective submission t >= 2 (1-based) that is not the last: chosen = submission t;
    rejected = the first later submission of the same trajectory whose regraded grade differs
    (beyond 1e-9), skipping any already used as a rejected answer and any with the same
    normalized AST as the chosen one. Prompt = the dialog before t. ``score_source="logged"``
    compares the logged grades instead (regraded by default).

    Row columns: ``prompt``, ``chosen``, ``rejected``, ``trajectory_id``, ``assignment_id``,
    ``step`` (0-based index of the chosen submission = its prefix), ``rejected_step``,
    ``chosen_score``, ``rejected_score``.
    """
    style = style or DialogStyle()
    stats = stats if stats is not None else RowStats()
    rows: list[dict[str, Any]] = []
    for trajectory, subs, assignment in _usable_trajectories(course, split, stats):
        scores = _scores(course, trajectory, subs, score_source, stats)
        if scores is None:
            continue
        if len(subs) < 3:
            stats.skip("fewer than 3 effective submissions (no t >= 2 before the last)")
            continue
        used: set[int] = set()
        for t in range(1, len(subs) - 1):  # 0-based: the second .. the one before the last
            chosen = subs[t]
            rejected_at = next(
                (
                    u
                    for u in range(t + 1, len(subs))
                    if u not in used
                    and abs(scores[u] - scores[t]) > GRADE_TOLERANCE
                    and not same_program(subs[u].code, chosen.code)
                ),
                None,
            )
            if rejected_at is None:
                stats.skip("no later submission with a different grade")
                continue
            used.add(rejected_at)
            rejected = subs[rejected_at]
            prompt = _prompt(assignment, subs, t, style, count_tokens, max_prompt_tokens, stats,
                             trajectory.language)
            rows.append(
                {
                    "prompt": prompt,
                    "chosen": _assistant(chosen.code, trajectory.language),
                    "rejected": _assistant(rejected.code, trajectory.language),
                    "trajectory_id": trajectory.id,
                    "assignment_id": trajectory.assignment,
                    "step": t,
                    "rejected_step": rejected_at,
                    "chosen_score": scores[t],
                    "rejected_score": scores[rejected_at],
                }
            )
    stats.rows += len(rows)
    return rows


def dapo_rows(
    course: Course,
    split: str = "train",
    style: DialogStyle | None = None,
    *,
    include_first: bool = False,
    count_tokens: Callable[[list[dict[str, str]]], int] | None = None,
    max_prompt_tokens: int | None = None,
    score_source: str = "regraded",
    stats: RowStats | None = None,
) -> list[dict[str, Any]]:
    """DAPO prompts: one per real prefix with a next submission to match.

    Row columns: ``prompt``, ``trajectory_id``, ``prefix`` (as in the env's
    ``reset(options={"trajectory": ..., "prefix": ...})``), ``assignment_id``,
    ``target_code`` and ``target_score`` (the real next submission and its regraded grade).
    Prefixes start at 1 (the model has seen feedback) unless ``include_first``;
    ``score_source="logged"`` makes ``target_score`` the logged grade.
    """
    style = style or DialogStyle()
    stats = stats if stats is not None else RowStats()
    rows: list[dict[str, Any]] = []
    for trajectory, subs, assignment in _usable_trajectories(
        course, split, stats, need_tests=True
    ):
        scores = _scores(course, trajectory, subs, score_source, stats)
        if scores is None:
            continue
        first = 0 if include_first else 1
        if len(subs) <= first:
            stats.skip("only one effective submission (no turn after the first)")
            continue
        for prefix in range(first, len(subs)):
            rows.append(
                {
                    "prompt": _prompt(
                        assignment, subs, prefix, style, count_tokens, max_prompt_tokens, stats,
                        trajectory.language,
                    ),
                    "trajectory_id": trajectory.id,
                    "prefix": prefix,
                    "assignment_id": trajectory.assignment,
                    "target_code": subs[prefix].code,
                    "target_score": scores[prefix],
                }
            )
    stats.rows += len(rows)
    return rows


# -- datasets.Dataset wrappers ---------------------------------------------------------------


def _features(kind: str) -> Any:
    from datasets import Features, List, Value

    messages = List({"role": Value("string"), "content": Value("string")})
    meta = {
        "trajectory_id": Value("string"),
        "assignment_id": Value("string"),
    }
    if kind == "sft":
        return Features(
            {"prompt": messages, "completion": messages, **meta, "step": Value("int64")}
        )
    if kind == "dpo":
        return Features(
            {
                "prompt": messages,
                "chosen": messages,
                "rejected": messages,
                **meta,
                "step": Value("int64"),
                "rejected_step": Value("int64"),
                "chosen_score": Value("float64"),
                "rejected_score": Value("float64"),
            }
        )
    return Features(
        {
            "prompt": messages,
            "trajectory_id": Value("string"),
            "prefix": Value("int64"),
            "assignment_id": Value("string"),
            "target_code": Value("string"),
            "target_score": Value("float64"),
        }
    )


def rows_to_dataset(rows: list[dict[str, Any]], kind: str) -> Any:
    """A ``datasets.Dataset`` with fixed features (so an empty one still has its columns)."""
    from datasets import Dataset

    features = _features(kind)
    columns = {name: [row[name] for row in rows] for name in features}
    return Dataset.from_dict(columns, features=features)


def sft_dataset(
    course: Course, split: str = "train", style: DialogStyle | None = None, **kwargs: Any
) -> Any:
    """:func:`sft_rows` as a ``datasets.Dataset`` (TRL conversational prompt-completion)."""
    return rows_to_dataset(sft_rows(course, split, style, **kwargs), "sft")


def dpo_dataset(
    course: Course, split: str = "train", style: DialogStyle | None = None, **kwargs: Any
) -> Any:
    """:func:`dpo_rows` as a ``datasets.Dataset`` (TRL explicit-prompt preference form)."""
    return rows_to_dataset(dpo_rows(course, split, style, **kwargs), "dpo")


def dapo_dataset(
    course: Course, split: str = "train", style: DialogStyle | None = None, **kwargs: Any
) -> Any:
    """:func:`dapo_rows` as a ``datasets.Dataset`` (prompts + reward columns for GRPOTrainer)."""
    return rows_to_dataset(dapo_rows(course, split, style, **kwargs), "dapo")

"""``evaluate(agent, course, ...) -> Results``: the protocol end to end, resumable.

With ``out_dir`` the run writes ``episodes.jsonl`` (one finished episode per line, flushed as
it finishes), ``run.json`` (the settings that must match to resume) and ``results.json``.
Running again into the same directory skips the episodes already there.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from student_gym.course.model import Course
from student_gym.course.resolve import gradable_course, resolve_course
from student_gym.evaluation.aggregate import aggregate
from student_gym.evaluation.episodes import (
    PROTOCOL_VERSION,
    VALIDITY_RULES,
    EpisodeRecord,
    protocol_starts,
    read_episodes,
    write_episode,
)
from student_gym.evaluation.provenance import course_hash, run_provenance
from student_gym.evaluation.results import Results
from student_gym.evaluation.rollout import rollout
from student_gym.learners.contract import StopEvaluation, agent_name

log = logging.getLogger(__name__)
# Settings that change episodes: resuming into a run made with other values is refused.
# A run directory is resumed only with these unchanged: the students (limit and seed draw
# them), the protocol and everything the replies depend on.
_RESUME_KEYS = (
    "agent", "split", "steps", "limit", "seed", "feedback_level", "para", "score_source",
    "course_sha256", "protocol",
)  # fmt: skip


def _check_resume(out: Path, settings: dict[str, Any], resume: bool) -> list[EpisodeRecord]:
    """Episodes already finished in ``out`` (after checking the run is the same one)."""
    run_file = out / "run.json"
    episodes_file = out / "episodes.jsonl"
    if not resume or not run_file.exists():
        episodes_file.unlink(missing_ok=True)
        run_file.write_text(json.dumps(settings, indent=2) + "\n", encoding="utf-8")
        return []
    previous = json.loads(run_file.read_text(encoding="utf-8"))
    changed = [k for k in _RESUME_KEYS if previous.get(k) != settings.get(k)]
    if changed:
        details = ", ".join(f"{k}: {previous.get(k)!r} -> {settings.get(k)!r}" for k in changed)
        raise ValueError(
            f"{run_file}: cannot resume, the run was made with other settings ({details}); "
            "use another --out directory or --no-resume"
        )
    # Settings outside _RESUME_KEYS (batch size, bootstrap, validity) may change between runs.
    run_file.write_text(json.dumps(settings, indent=2) + "\n", encoding="utf-8")
    records, skipped = read_episodes(episodes_file)
    if skipped:
        log.warning(
            "%s: skipped %d unreadable line(s) (an interrupted write)", episodes_file, skipped
        )
        # Rewrite the file without the broken lines so that appends stay valid JSONL.
        with episodes_file.open("w", encoding="utf-8") as handle:
            for record in records:
                write_episode(handle, record)
    return records


def evaluate(
    agent: Any,
    course: Course | str | os.PathLike[str] | None = None,
    *,
    split: str = "test",
    steps: int = 5,
    limit: int | None = None,
    feedback_level: str = "summary",
    para: bool = False,
    score_source: str = "regraded",
    batch_size: int = 32,
    out_dir: str | os.PathLike[str] | None = None,
    resume: bool = True,
    progress: bool = False,
    seed: int = 0,
    bootstrap: int = 1000,
    name: str | None = None,
    extra_provenance: dict[str, Any] | None = None,
    validity: str = "paper",
) -> Results:
    """Evaluate an agent with the 5-step rollout protocol (docs/env.md).

    Args:
        agent: anything with ``act(observations, infos) -> replies``
            (:mod:`student_gym.learners.contract`).
        course: a Course, a native course path, or None for the bundled course.
        split: the split evaluated ("test": the held-out term).
        steps: the step limit per episode.
        limit: evaluate ``limit`` students drawn with ``seed``, all their trajectories in the
            split (all students when None); the drawn ids go into the provenance.
        feedback_level: the feedback level of the dialogs.
        para: the PARA variant (neutral feedback; the PARA baseline is evaluated this way).
        score_source: the student's grade that counts: "regraded" (our grader, the default)
            or "logged" (the score in the course log).
        batch_size: live episodes advanced together (one ``act`` and one ``grade_many`` each).
        out_dir: where episodes.jsonl, run.json and results.json go (nothing saved when None).
        resume: keep the finished episodes of an earlier run in ``out_dir``.
        progress: show a rich progress bar.
        seed: draws the students of ``limit`` and seeds the bootstrap (the rollout itself is
            greedy and deterministic).
        bootstrap: bootstrap resamples over students for confidence intervals.
        name: the agent's label (default: its ``name`` attribute or class name).
        extra_provenance: more entries for the provenance block (e.g. the CLI's agent spec).
        validity: which learner steps count as programs: "paper" (any non-empty program text,
            as the paper ran it) or "strict" (unfenced text must also parse). Decided when
            aggregating, so it can change between runs of the same directory.

    Returns:
        The :class:`Results`; ``results.stopped`` says why when the agent stopped the run.

    Raises:
        NoTestsError: (a ValueError) the course has logged grades only. A course with tests
            for some problems is evaluated on those (the provenance counts both).
    """
    if validity not in VALIDITY_RULES:
        raise ValueError(f"validity must be one of {VALIDITY_RULES}, got {validity!r}")
    course = gradable_course(resolve_course(course), "evaluate")
    label = name or agent_name(agent)
    starts = protocol_starts(course, split, steps, limit, seed)
    settings = {
        "agent": label,
        "split": split,
        "steps": steps,
        "limit": limit,
        "feedback_level": "none" if para else feedback_level,
        "para": para,
        "score_source": score_source,
        "seed": seed,
        "batch_size": batch_size,
        "bootstrap": bootstrap,
        "course_sha256": course_hash(course),
        "validity": validity,
        "protocol": PROTOCOL_VERSION,
    }
    done: list[EpisodeRecord] = []
    out = Path(out_dir) if out_dir is not None else None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        done = _check_resume(out, settings, resume)
    wanted = {s.key for s in starts}
    finished_keys = {r.key for r in done if r.key in wanted}
    todo = [s for s in starts if s.key not in finished_keys]

    stopped: str | None = None
    handle = (out / "episodes.jsonl").open("a", encoding="utf-8") if out is not None else None
    bar = _Progress(len(starts), len(starts) - len(todo), label) if progress else None
    new: list[EpisodeRecord] = []

    def on_episode(record: EpisodeRecord) -> None:
        new.append(record)
        if handle is not None:
            write_episode(handle, record)
        if bar is not None:
            bar.advance()

    try:
        rollout(
            agent,
            course,
            todo,
            split=split,
            feedback_level=feedback_level,
            para=para,
            batch_size=batch_size,
            on_episode=on_episode,
            env_kwargs={"score_source": score_source},
            steps=steps,
        )
    except StopEvaluation as exc:
        stopped = str(exc) or type(exc).__name__
        log.warning(
            "evaluation of %s stopped early: %s (%d episodes finished)", label, stopped, len(new)
        )
    finally:
        if handle is not None:
            handle.close()
        if bar is not None:
            bar.close()

    by_key = {r.key: r for r in [*done, *new]}
    records = [by_key[s.key] for s in starts if s.key in by_key]
    provenance = run_provenance(course, agent, settings)
    provenance["students"] = sorted({s.student for s in starts})
    provenance.update(extra_provenance or {})
    results = results_from_episodes(
        label, records, steps, validity=validity, bootstrap=bootstrap, seed=seed,
        provenance=provenance, stopped=stopped, planned=len(starts),
    )  # fmt: skip
    if out is not None:
        results.save(out / "results.json")
    return results


def results_from_episodes(
    label: str,
    records: Sequence[EpisodeRecord],
    steps: int,
    *,
    validity: str = "paper",
    bootstrap: int = 1000,
    seed: int = 0,
    provenance: dict[str, Any] | None = None,
    stopped: str | None = None,
    planned: int | None = None,
) -> Results:
    """Aggregate finished episodes into :class:`Results` (also used to re-read a run)."""
    summary = aggregate(records, steps, validity=validity, bootstrap=bootstrap, seed=seed)
    counts = dict(summary["counts"])
    if planned is not None:
        counts["planned_episodes"] = planned
    return Results(
        agent=label,
        steps=steps,
        metrics=summary["metrics"],
        counts=counts,
        validity=validity,
        step1=summary["step1"],
        behaviour=summary["behaviour"],
        provenance=provenance or {},
        stopped=stopped,
    )


class _Progress:
    """A rich progress bar over episodes (to stderr, so piped tables stay clean)."""

    def __init__(self, total: int, completed: int, label: str) -> None:
        from student_gym.progress import new_bar

        self._progress = new_bar()
        self._progress.start()
        self._task = self._progress.add_task(f"evaluate {label}", total=total, completed=completed)

    def advance(self) -> None:
        self._progress.advance(self._task)

    def close(self) -> None:
        self._progress.stop()


def evaluate_many(agents: Sequence[Any], course: Any = None, **kwargs: Any) -> list[Results]:
    """Evaluate several agents on the same course and settings (each in ``out_dir/<name>``)."""
    out_dir = kwargs.pop("out_dir", None)
    results = []
    for agent in agents:
        label = agent_name(agent)
        sub = Path(out_dir) / label if out_dir is not None else None
        results.append(evaluate(agent, course, out_dir=sub, **kwargs))
    return results

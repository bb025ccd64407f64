"""Behavioural fidelity beyond the three metrics: does the learner *act* like the students?

Three views, each comparing the learner with the real students on the same episodes:

* **Status mix per step.** At every step j where the student made a real submission, the
  category of the student's program and of the learner's: ``syntax`` (syntax error, too
  large), ``runtime`` (an exception, timeout, memory, crash, output limit, forbidden
  operation), ``failed`` (ran, score below 1, partial credit included), ``passed``; the learner
  has two more: ``no_program`` (its reply held none, under the run's validity rule) and
  ``finished`` (it had already passed at an earlier step, so it is done while the student is
  not). The Jensen-Shannon divergence (base 2, 0 = same mix, 1 = disjoint) is given per step
  and for all steps pooled.
* **Attempts to solve.** Per episode, the step at which the program first passed (1..horizon)
  or ``later`` (not within the horizon), for the learner and for the student; with its JS
  divergence.
* **Finish-step agreement.** Per episode: the learner passes at the student's step (``same``),
  ``earlier``, ``later`` (after the student, within the horizon) or ``not_within_horizon``.
  When the student does not pass within the horizon (the log goes on past it, or the student
  never passed) the episode is *censored*: ``censored_learner_finished`` (the learner passed,
  certainly earlier) or ``censored_neither`` (neither passed within the horizon: consistent).
  ``agreement`` = (same + censored_neither) / episodes.

Student categories come from our grader's verdict on the real program (the regraded status),
whatever score source the run used.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from student_gym.evaluation.episodes import EpisodeRecord
from student_gym.evaluation.metrics import js_divergence

STATUS_CATEGORIES = ("syntax", "runtime", "failed", "passed", "no_program", "finished")
_STATUS_TO_CATEGORY = {
    "syntax_error": "syntax",
    "too_large": "syntax",
    "runtime_error": "runtime",
    "timeout": "runtime",
    "memory_error": "runtime",
    "crashed": "runtime",
    "output_limit": "runtime",
    "forbidden": "runtime",
    "passed": "passed",
    "failed": "failed",
    "test_error": "failed",  # the assignment's own tests broke: the program did not pass
}
FINISH_CATEGORIES = (
    "same",
    "earlier",
    "later",
    "not_within_horizon",
    "censored_learner_finished",
    "censored_neither",
)


def status_category(status: str | None) -> str:
    """The status-mix category of a grader status (unknown statuses count as ``failed``)."""
    return _STATUS_TO_CATEGORY.get(status or "", "failed")


def learner_category(record: EpisodeRecord, j: int, validity: str = "paper") -> str:
    """The learner's category at step j (1-based) of an episode."""
    finish = record.learner_finish
    if finish is not None and finish < j:
        return "finished"
    step = next((s for s in record.steps if s.j == j), None)
    if step is None or not step.has_program(validity):
        return "no_program"
    return status_category(step.status)


def student_category(record: EpisodeRecord, j: int) -> str:
    """The student's category at step j (1 <= j <= student_steps)."""
    return status_category(record.student_submissions[j - 1].get("status"))


def finish_category(record: EpisodeRecord) -> str:
    """One of :data:`FINISH_CATEGORIES` for an episode."""
    student, learner = record.student_finish, record.learner_finish
    if student is None:
        return "censored_neither" if learner is None else "censored_learner_finished"
    if learner is None:
        return "not_within_horizon"
    if learner == student:
        return "same"
    return "earlier" if learner < student else "later"


def _js(p: dict[str, int], q: dict[str, int]) -> float | None:
    return js_divergence(p, q) if sum(p.values()) and sum(q.values()) else None


def _counts(values: Sequence[str], keys: Sequence[str]) -> dict[str, int]:
    return {k: sum(v == k for v in values) for k in keys}


def status_mix(
    episodes: Sequence[EpisodeRecord], steps: int, validity: str = "paper"
) -> dict[str, Any]:
    """Learner vs student category counts per step, with JS divergences."""
    per_step = []
    pooled_l: list[str] = []
    pooled_s: list[str] = []
    for j in range(1, steps + 1):
        # Episodes whose student made a j-th submission (and whose record holds it).
        here = [e for e in episodes if min(e.student_steps, len(e.student_submissions)) >= j]
        learner = [learner_category(e, j, validity) for e in here]
        student = [student_category(e, j) for e in here]
        pooled_l += learner
        pooled_s += student
        lc, sc = _counts(learner, STATUS_CATEGORIES), _counts(student, STATUS_CATEGORIES)
        per_step.append({"j": j, "n": len(here), "learner": lc, "student": sc, "js": _js(lc, sc)})
    lc, sc = _counts(pooled_l, STATUS_CATEGORIES), _counts(pooled_s, STATUS_CATEGORIES)
    return {
        "categories": list(STATUS_CATEGORIES),
        "per_step": per_step,
        "overall": {"n": len(pooled_l), "learner": lc, "student": sc, "js": _js(lc, sc)},
    }


def attempts(episodes: Sequence[EpisodeRecord], steps: int) -> dict[str, Any]:
    """Attempts-to-solve distributions (steps 1..horizon, or ``later``) and their JS."""
    keys = [str(j) for j in range(1, steps + 1)] + ["later"]

    def key(finish: int | None) -> str:
        return "later" if finish is None or finish > steps else str(finish)

    learner = _counts([key(e.learner_finish) for e in episodes], keys)
    student = _counts([key(e.student_finish) for e in episodes], keys)
    return {"keys": keys, "learner": learner, "student": student, "js": _js(learner, student)}


def finish_agreement(episodes: Sequence[EpisodeRecord]) -> dict[str, Any]:
    """Counts of :data:`FINISH_CATEGORIES` and the agreement rate."""
    counts = _counts([finish_category(e) for e in episodes], FINISH_CATEGORIES)
    n = len(episodes)
    censored = counts["censored_learner_finished"] + counts["censored_neither"]
    return {
        "episodes": n,
        "censored": censored,
        "counts": counts,
        "agreement": (counts["same"] + counts["censored_neither"]) / n if n else None,
    }


def behaviour(
    episodes: Sequence[EpisodeRecord], steps: int, validity: str = "paper"
) -> dict[str, Any]:
    """All three views (the ``behaviour`` block of a results file)."""
    return {
        "status_mix": status_mix(episodes, steps, validity),
        "attempts": attempts(episodes, steps),
        "finish": finish_agreement(episodes),
    }

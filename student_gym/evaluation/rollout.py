"""The batched evaluation rollout: every live episode advances together.

One loop drives a pool of :class:`~student_gym.env.StudentProgrammingEnv` instances (the same
env class users step by hand). Each round asks the agent for one reply per live episode in a
single ``act`` call (an LM generates for the whole batch at once) and grades all the programs
with one :func:`student_gym.grade_many` call (:func:`student_gym.env.step_many`). Finished
episodes free their slot for the next start, so the batch stays full (continuous batching).

An episode ends when the learner's program is fully correct or when it reaches the horizon
(``steps``, 5 in the paper), whether or not the student has real submissions left to pair with:
steps past the student's last submission do not enter the pair metrics, but they show whether
the learner finishes later than the student did.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from student_gym.course.model import Course
from student_gym.dialogs import feedback_text
from student_gym.env import StudentProgrammingEnv, step_many
from student_gym.evaluation.episodes import EpisodeRecord, Start, StepRecord
from student_gym.learners.contract import Agent, StopEvaluation, request_replies

__all__ = ["PairScorer", "StopEvaluation", "rollout"]


class PairScorer:
    """Pair metrics from :mod:`student_gym.evaluation.metrics`, cached by program text.

    The same real submission is a target for many starts and the replay agent's programs equal
    their targets, so caching saves most CodeBLEU calls. Without the ``metrics`` extra CodeBLEU
    is left unset (None, and no self-similarity), which aggregation reports as not computed.
    """

    def __init__(self) -> None:
        from student_gym.evaluation.metrics import codebleu_unavailable

        self.codebleu_unavailable = codebleu_unavailable()
        self._codebleu: dict[tuple[str, str], dict[str, float]] = {}

    def codebleu(self, pred: str, ref: str) -> dict[str, float]:
        from student_gym.evaluation.metrics import codebleu

        key = (pred, ref)
        if key not in self._codebleu:
            self._codebleu[key] = codebleu(pred, ref)
        return self._codebleu[key]

    def finish(self, record: EpisodeRecord, targets: Sequence[tuple[str, float | None]]) -> None:
        """Fill the pair metrics of a finished episode and the self-similarity of its targets."""
        from student_gym.evaluation.metrics import grade_proximity

        with_codebleu = self.codebleu_unavailable is None
        for step in record.steps:
            if step.target_code is None or not step.code.strip():
                continue  # no pair under any validity rule
            if step.target_score is not None and step.score is not None:  # None: broken tests
                step.grade_proximity = grade_proximity(step.score, step.target_score)
            if with_codebleu:
                scores = self.codebleu(step.code, step.target_code or "")
                step.codebleu = scores["codebleu"]
                step.codebleu_fixed = scores["codebleu_fixed"]
        record.target_self = []
        for code, _ in targets[: record.student_steps] if with_codebleu else ():
            scores = self.codebleu(code, code)
            record.target_self.append(
                {"codebleu": scores["codebleu"], "codebleu_fixed": scores["codebleu_fixed"]}
            )


@dataclass
class _Live:
    env: StudentProgrammingEnv
    start: Start
    observation: tuple
    info: dict[str, Any]
    record: EpisodeRecord


def rollout(
    agent: Agent,
    course: Course,
    starts: Sequence[Start],
    *,
    split: str = "test",
    feedback_level: str = "summary",
    para: bool = False,
    batch_size: int = 32,
    on_episode: Callable[[EpisodeRecord], None] | None = None,
    env_kwargs: dict[str, Any] | None = None,
    steps: int = 5,
) -> list[EpisodeRecord]:
    """Run the protocol's episodes for ``starts``, ``batch_size`` live episodes at a time.

    Args:
        agent: an :class:`student_gym.learners.contract.Agent`
            (``act(observations, infos) -> replies``).
        course: the course the starts come from.
        starts: the episodes to run (see :func:`protocol_starts`).
        split: the split the env is built on (only used to validate the course).
        feedback_level: the grader feedback level of the dialogs.
        para: use the PARA variant (neutral feedback turns).
        batch_size: live episodes per round.
        on_episode: called with each finished record, as soon as it finishes (for JSONL).
        env_kwargs: more keyword arguments for the env.
        steps: the horizon: the most steps a learner makes in one episode.

    Returns:
        The finished records, in the order they finished.

    Raises:
        StopEvaluation: the agent stopped the run; records finished so far were passed to
            ``on_episode``.
    """
    kwargs = dict(env_kwargs or {})
    kwargs.setdefault("reward", "grade")  # rewards do not enter the metrics; keep it cheap
    if para:
        kwargs.update(para=True, feedback_level="none")  # PARA renders no feedback at all
    else:
        kwargs["feedback_level"] = feedback_level
    queue = deque(starts)
    free = [
        StudentProgrammingEnv(course=course, split=split, **kwargs)
        for _ in range(max(1, min(batch_size, len(starts))))
    ]
    scorer = PairScorer()
    live: list[_Live] = []
    finished: list[EpisodeRecord] = []

    def finish(item: _Live, end: str) -> None:
        item.record.end = end
        ep = item.env.episode
        assert ep is not None
        targets = [(s.code, s.score(item.env.score_source)) for s in ep.targets]
        scorer.finish(item.record, targets)
        item.record.student_submissions = [
            {
                "code": s.code,
                "score": s.score(item.env.score_source),
                # Status categories come from our grader's verdict whatever the score source.
                "status": s.report.status if s.report is not None else None,
                "feedback": feedback_text(s.report, item.env.style) if s.report else "",
            }
            for s in ep.targets[: item.record.student_steps]
        ]
        finished.append(item.record)
        free.append(item.env)
        if on_episode is not None:
            on_episode(item.record)

    while queue or live:
        while queue and free:
            start = queue.popleft()
            env = free.pop()
            obs, info = env.reset(options={"trajectory": start.trajectory, "prefix": start.prefix})
            record = EpisodeRecord(
                trajectory=start.trajectory,
                student=start.student,
                assignment=start.assignment,
                prefix=start.prefix,
                student_steps=start.student_steps,
                horizon=steps,
                student_remaining=start.student_remaining,
                student_passed=start.student_passed,
            )
            live.append(_Live(env, start, obs, info, record))
        if not live:
            continue
        replies = request_replies(agent, [x.observation for x in live], [x.info for x in live])
        results = step_many([x.env for x in live], replies)
        still: list[_Live] = []
        for item, reply, (obs, _reward, terminated, _trunc, info) in zip(
            live, replies, results, strict=True
        ):
            grade = info["grade"]
            target = info.get("target")
            item.record.steps.append(
                StepRecord(
                    j=info["step"],
                    reply=reply,
                    code=info["code"],
                    format_ok=bool(info["format_ok"]),
                    score=float(grade["score"]),
                    status=str(grade["status"]),
                    target_code=target["code"] if target else None,
                    target_score=target.get("score") if target else None,
                    feedback=obs[-1]["content"],
                )
            )
            item.observation, item.info = obs, info
            if terminated:
                finish(item, "correct")
            elif info["step"] >= steps:
                finish(item, "horizon")
            else:
                still.append(item)
        live = still
    return finished


"""StudentProgramming-v0: a Gymnasium env of one learner working on one assignment.

One class, :class:`StudentProgrammingEnv`, owns the loop; the registered variants are keyword
arguments on it (``StudentProgramming-PARA-v0`` is ``para=True``, ``StudentProgramming-Free-v0``
is ``mode="free"``), the way Gymnasium registers ``FrozenLake8x8-v1``.

Grading is split into :meth:`~StudentProgrammingEnv.begin_step` and
:meth:`~StudentProgrammingEnv.end_step` so that :func:`step_many` can advance many envs with
one call to :func:`student_gym.grade_many` (the batched evaluation rollout and DAPO's rewards
use it).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import gymnasium as gym

from student_gym.course.model import Course, Submission, Trajectory
from student_gym.course.resolve import gradable_course, resolve_course
from student_gym.dialogs.replies import ReplyParser
from student_gym.dialogs.serializer import (
    DialogStyle,
    dialog_messages,
    effective_submissions,
    prefix_messages,
    submission_turns,
)
from student_gym.env.rewards import StepOutcome, make_reward
from student_gym.env.spaces import DialogSpace, ReplySpace
from student_gym.grader.assignments import Assignment
from student_gym.grader.report import GradeReport, report_info

MODES = ("replay", "free")

StepResult = tuple[tuple[dict[str, str], ...], float, bool, bool, dict[str, Any]]


@dataclass(frozen=True)
class PendingStep:
    """A parsed reply waiting for its grade (see :func:`step_many`)."""

    reply: str
    code: str
    format_ok: bool
    assignment: Assignment


@dataclass
class Episode:
    """The state of the current episode."""

    assignment: Assignment
    trajectory: Trajectory | None
    prefix: int  # real effective submissions shown before the learner's first step
    targets: tuple[Submission, ...]  # the real submissions after the prefix, in order
    messages: list[dict[str, str]]  # the dialog; observations are fresh copies of it
    steps: int = 0
    over: bool = False


class StudentProgrammingEnv(gym.Env[tuple, str]):
    """The artificial-programming-student environment.

    ## Description

    A learner (a language model, a rule-based novice, a replay of real students) works on one
    programming assignment until its program passes or the episode ends. In *replay* mode an
    episode starts from a real student's trajectory: the dialog holds that student's first
    ``prefix`` effective submissions (consecutive identical programs collapsed, cut at the
    first correct one) with the grader's feedback on each, and step ``j`` is paired with the
    student's real submission ``prefix + j``, which rewards and metrics compare against. In
    *free* mode it starts from the bare assignment, with no real student.

    ## Action Space

    :class:`~student_gym.env.spaces.ReplySpace`: the learner's reply, any string up to
    ``max_reply_length`` characters. The program is the reply's first fenced python block
    (``<think>`` reasoning removed); a reply without one is graded as it stands and gets
    ``info["format_ok"] = False``.

    ## Observation Space

    :class:`~student_gym.env.spaces.DialogSpace`: the dialog so far, a tuple of
    ``{"role", "content"}`` dicts: system (persona and rules), user (the statement), then an
    (assistant program, user feedback) pair per submission, ending with a user turn. It is
    exactly what the serializer (:mod:`student_gym.dialogs`) writes for the same history, so
    a model trained on serialized dialogs sees the same text here.

    ## Rewards

    ``reward="dapo"`` (default): -1 when the reply has no fenced block or breaks the
    assignment's policy, -0.5 for a syntax error, 2 when the program's normalised AST equals
    the real next submission's, 1 when its grade equals the real grade, else 0. Other terms
    (``"grade"``, ``"grade_match"``, ``"ast_match"``, ``"format"``), sums such as
    ``"dapo+format"``, weighted pairs, or any callable on a
    :class:`~student_gym.env.rewards.StepOutcome`. DAPO's over-length penalty is not an env
    term: it needs the learner's token count, which training computes.

    ## Episode End

    Terminated when the program passes every test (``info["grade"]["status"] == "passed"``).
    Truncated by the ``TimeLimit`` wrapper after ``max_episode_steps`` steps (5 for the
    registered ids, the paper's horizon).

    ## Info

    ``reset``: ``assignment``, ``prefix``, ``step`` (0), ``trajectory`` (replay) and
    ``next_target`` (the real submission step 1 is paired with, when there is one). ``step``:
    the same plus ``code`` (the program graded), ``grade`` (the grader's report as a dict),
    ``format_ok`` and ``target`` (the real submission this step was paired with).

    ## Arguments

    Args:
        course: a Course, a path to a native course, or None for the bundled course.
        split: the split ("train"/"test") or term whose trajectories replay episodes start from.
        feedback_level: "none" | "grade" | "summary" | "detailed": what each feedback turn says.
        para: the PARA baseline (``StudentProgramming-PARA-v0``): every feedback turn is one
            neutral line and the system prompt says no feedback will come; it needs
            ``feedback_level="none"`` (another level is refused, not dropped).
        reward: a :func:`~student_gym.env.rewards.make_reward` spec or a callable on a
            ``StepOutcome``.
        mode: "replay" (start from a real trajectory prefix) or "free" (from the assignment;
            ``StudentProgramming-Free-v0``).
        score_source: which grade of a real submission counts: "regraded" or "logged".
        system_prompt: replaces the serializer's default system prompt.
        render_mode: None or "ansi" (a readable transcript).
        max_reply_length: the longest reply the action space accepts.

    ``feedback=`` is reserved for feedback providers (tutors) and is not an argument yet.
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 1}

    def __init__(
        self,
        course: Course | str | os.PathLike[str] | None = None,
        split: str = "test",
        feedback_level: str = "summary",
        para: bool = False,
        reward: str | Sequence[tuple[str, float]] | Callable[[StepOutcome], float] = "dapo",
        mode: str = "replay",
        score_source: str = "regraded",
        system_prompt: str | None = None,
        render_mode: str | None = None,
        max_reply_length: int = 65536,
    ):
        if mode not in MODES:
            raise ValueError(f"StudentProgrammingEnv: mode must be one of {MODES}, got {mode!r}")
        if render_mode not in (None, *self.metadata["render_modes"]):
            raise ValueError(f"StudentProgrammingEnv: unsupported render_mode {render_mode!r}")
        if para and feedback_level != "none":
            raise ValueError(
                f"StudentProgrammingEnv: para=True gives no feedback, so feedback_level must be "
                f"'none' (got {feedback_level!r}); use StudentProgramming-v0 for feedback"
            )
        # DialogStyle validates the level and owns every rendering choice of the dialog.
        self.style = DialogStyle(
            feedback_level=feedback_level, para=bool(para), system_prompt=system_prompt
        )
        self.course = gradable_course(resolve_course(course), "StudentProgramming-v0")
        self.split = split
        self.mode = mode
        self.para = bool(para)
        self.score_source = score_source
        self.feedback_level = feedback_level
        self.reward_fn = reward if callable(reward) else make_reward(reward)
        self.render_mode = render_mode
        self.observation_space = DialogSpace()
        self.action_space = ReplySpace(max_length=max_reply_length)
        self.trajectories = self.course.split(split)
        if mode == "replay" and not self.trajectories:
            raise ValueError(f"course {self.course.name!r} has no trajectories in split {split!r}")
        used = {t.assignment for t in self.trajectories}
        # Free mode draws among the split's assignments (all of them when the split is empty).
        self.assignment_ids = sorted(used) or sorted(self.course.assignments)
        self._effective: dict[str, tuple[Submission, ...]] = {}
        self._episode: Episode | None = None

    def _sample_start(self) -> dict[str, Any]:
        """The reset options of an episode nobody chose, drawn with ``self.np_random``.

        Replay draws a trajectory uniformly and a prefix in 1..N-1 (the starts of the evaluation
        protocol; 0 when the trajectory has one effective submission); free mode draws an
        assignment.
        """
        if self.mode == "free":
            pick = int(self.np_random.integers(len(self.assignment_ids)))
            return {"assignment": self.assignment_ids[pick]}
        trajectory = self.trajectories[int(self.np_random.integers(len(self.trajectories)))]
        n = len(self.effective_submissions(trajectory))
        prefix = int(self.np_random.integers(1, n)) if n >= 2 else 0
        return {"trajectory": trajectory.id, "prefix": prefix}

    # -- episode setup -----------------------------------------------------------------------

    def effective_submissions(self, trajectory: Trajectory) -> tuple[Submission, ...]:
        """The trajectory's effective submissions (collapsed, cut at first correct), cached."""
        if trajectory.id not in self._effective:
            assignment = self._assignment(trajectory.assignment)
            self._effective[trajectory.id] = tuple(effective_submissions(trajectory, assignment))
        return self._effective[trajectory.id]

    def _start(self, options: dict[str, Any]) -> Episode:
        if "trajectory" in options:
            trajectory = self.course.trajectory(str(options["trajectory"]))
            effective = self.effective_submissions(trajectory)
            prefix = int(options.get("prefix", 1 if len(effective) >= 2 else 0))
            if not 0 <= prefix <= len(effective):
                raise ValueError(
                    f"reset options: prefix {prefix} is outside 0..{len(effective)} for "
                    f"trajectory {trajectory.id!r} ({len(effective)} effective submissions)"
                )
            assignment = self._assignment(trajectory.assignment)
            messages = prefix_messages(self.course, trajectory, prefix, self.style)
            return Episode(
                assignment=assignment,
                trajectory=trajectory,
                prefix=prefix,
                targets=effective[prefix:],
                messages=messages,
            )
        if "assignment" in options:
            assignment = self._assignment(str(options["assignment"]))
            messages = dialog_messages(assignment, [], self.style)
            return Episode(
                assignment=assignment,
                trajectory=None,
                prefix=0,
                targets=(),
                messages=messages,
            )
        raise ValueError(
            f"reset options need 'trajectory' (with optional 'prefix') or 'assignment'; "
            f"got keys {sorted(options)}"
        )

    def _assignment(self, aid: str) -> Assignment:
        try:
            return self.course.assignments[aid]
        except KeyError:
            raise KeyError(f"course {self.course.name!r} has no assignment {aid!r}") from None

    # -- the Gymnasium API -------------------------------------------------------------------

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[tuple[dict[str, str], ...], dict[str, Any]]:
        super().reset(seed=seed)
        options = dict(options or {})
        if "trajectory" not in options and "assignment" not in options:
            options.update(self._sample_start())
        self._episode = self._start(options)
        info = self._episode_info()
        self._add_target(info, "next_target", 0)
        return self._observation(), info

    def step(self, action: str) -> StepResult:
        from student_gym.grader import grade

        pending = self.begin_step(action)
        return self.end_step(pending, grade(pending.code, pending.assignment))

    def begin_step(self, action: str) -> PendingStep:
        """Parse a reply into the program to grade (the first half of :meth:`step`)."""
        if self._episode is None:
            raise RuntimeError("StudentProgrammingEnv.step called before reset()")
        if self._episode.over:
            raise RuntimeError("StudentProgrammingEnv.step: the episode is over; call reset()")
        if not isinstance(action, str):
            raise TypeError(
                f"StudentProgrammingEnv.step: action must be str, got {type(action).__name__}"
            )
        parsed = ReplyParser().parse(action)
        return PendingStep(action, parsed.code, parsed.format_ok, self._episode.assignment)

    def end_step(self, pending: PendingStep, report: GradeReport) -> StepResult:
        """Apply a graded step (the second half of :meth:`step`)."""
        ep = self._episode
        assert ep is not None
        ep.steps += 1
        target = ep.targets[ep.steps - 1] if ep.steps <= len(ep.targets) else None
        outcome = StepOutcome(
            reply=pending.reply,
            code=pending.code,
            format_ok=pending.format_ok,
            report=report,
            target_code=target.code if target is not None else None,
            target_score=target.score(self.score_source) if target is not None else None,
        )
        reward = float(self.reward_fn(outcome))
        # The serializer makes the turns, so the observation is the serialized dialog.
        ep.messages.extend(submission_turns(pending.code, report, self.style))
        terminated = report.fully_correct
        ep.over = terminated
        info = self._episode_info()
        info["code"] = pending.code
        info["grade"] = report_info(report)
        info["format_ok"] = pending.format_ok
        self._add_target(info, "target", ep.steps - 1)
        self._add_target(info, "next_target", ep.steps)
        return self._observation(), reward, terminated, False, info

    def render(self) -> str | None:
        """The episode so far as a readable transcript (``render_mode="ansi"``)."""
        if self.render_mode != "ansi" or self._episode is None:
            return None
        ep = self._episode
        who = ep.trajectory.id if ep.trajectory is not None else "free mode"
        lines = [f"# {ep.assignment.id} ({who}, prefix {ep.prefix}, step {ep.steps})"]
        for i, message in enumerate(ep.messages):
            role, content = message["role"], message["content"]
            label = role.upper()
            if role == "assistant":
                shown = i // 2  # messages: system, statement, then (assistant, user) pairs
                label += " (real student)" if shown <= ep.prefix else " (learner)"
            lines.append(f"--- {label} ---\n{content.rstrip()}")
        return "\n".join(lines) + "\n"

    # -- helpers -----------------------------------------------------------------------------

    @property
    def episode(self) -> Episode | None:
        """The current episode's state (read-only use: drivers and wrappers inspect it)."""
        return self._episode

    def _observation(self) -> tuple[dict[str, str], ...]:
        # Fresh dicts on every call: users keep observations, and check_env verifies that no
        # dict is shared between two of them.
        assert self._episode is not None
        return tuple({"role": m["role"], "content": m["content"]} for m in self._episode.messages)

    def _episode_info(self) -> dict[str, Any]:
        ep = self._episode
        assert ep is not None
        info: dict[str, Any] = {
            "assignment": ep.assignment.id,
            "prefix": ep.prefix,
            "step": ep.steps,
        }
        if ep.trajectory is not None:
            info["trajectory"] = ep.trajectory.id
        return info

    def _add_target(self, info: dict[str, Any], key: str, index: int) -> None:
        """Put the real submission paired with step ``index + 1`` under ``key``, if any."""
        ep = self._episode
        assert ep is not None
        if 0 <= index < len(ep.targets):
            sub = ep.targets[index]
            target: dict[str, Any] = {"code": sub.code, "index": ep.prefix + index + 1}
            score = sub.score(self.score_source)
            if score is not None:
                target["score"] = float(score)
            info[key] = target


def step_many(
    envs: Sequence[StudentProgrammingEnv], actions: Sequence[str], *, workers: int | None = None
) -> list[StepResult]:
    """Step several envs at once, grading all their programs with one ``grade_many`` call.

    Same results as calling ``env.step(action)`` on each, in order.
    """
    from student_gym.grader import grade_many

    if len(envs) != len(actions):
        raise ValueError(f"step_many: {len(envs)} envs but {len(actions)} actions")
    pending = [env.begin_step(action) for env, action in zip(envs, actions, strict=True)]
    reports = grade_many([(p.code, p.assignment) for p in pending], workers=workers)
    return [env.end_step(p, r) for env, p, r in zip(envs, pending, reports, strict=True)]

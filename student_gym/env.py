"""StudentProgramming-v0: a Gymnasium env of one learner working on one assignment.

An episode starts either from a real student's trajectory (*replay*: the dialog holds that
student's first ``prefix`` effective submissions with their feedback) or from the bare
assignment (*free*: no real student). Each step takes the learner's reply, extracts the program
(the shared :class:`~student_gym.replies.ReplyParser`), grades it, appends the program and the
grader's feedback to the dialog and scores it with composable reward terms
(:mod:`student_gym.rewards`). Step ``j`` is paired with the student's real submission
``prefix + j`` (1-based), which rewards and metrics compare against.

One base class owns the loop; variants override one hook (Minigrid style):
:meth:`StudentProgrammingEnv.dialog_style` (the PARA variant); :meth:`sample_start` decides how
an unchosen episode starts (the free-mode variant only switches its default ``mode``).

Grading is split into :meth:`~StudentProgrammingEnv.begin_step` and
:meth:`~StudentProgrammingEnv.end_step` so that :func:`step_many` can advance many envs with
one call to :func:`student_gym.grade_many` (the batched evaluation rollout uses it).
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym

from student_gym.assignments import Assignment
from student_gym.course.model import Course, Submission, Trajectory
from student_gym.grader.report import GradeReport
from student_gym.spaces import DialogSpace, ReplySpace

MODES = ("replay", "free")


def resolve_course(course: Course | str | os.PathLike[str] | None) -> Course:
    """The course an env or evaluation runs on: a Course, a path to a native course, or None.

    None means the bundled sample course.
    """
    if isinstance(course, Course):
        return course
    if course is None:
        from student_gym.course import bundled_course

        return bundled_course()
    from student_gym.course import load_course

    return load_course(course)


def gradable_course(course: Course, command: str) -> Course:
    """The part of ``course`` the grader can run (problems with tests, Python code).

    Raises:
        NoTestsError: (a ValueError) the course has logged grades only; says where tests go.
    """
    from student_gym.course.model import require_tests

    require_tests(course, command)
    return course if course.grading == "regraded" else course.gradable_only()


def report_info(report: GradeReport) -> dict[str, Any]:
    """The report as it goes into ``info["grade"]``: no runtime, and no None-valued fields.

    Equal to ``report.to_dict(runtime=False)`` without its None values. Leaving None fields out
    keeps every value's type stable, which gymnasium's vector envs need (they size an info
    array from the first sub-env's value); ``GradeReport.from_dict`` restores the omitted
    fields from their defaults, so the report round-trips exactly. Built from the dataclasses'
    ``__dict__`` rather than ``dataclasses.asdict``, which deep-copies every field and cost more
    than the rest of a step together on reports with many tests.
    """
    d: dict[str, Any] = {}
    for key, value in vars(report).items():
        if (value is None and key != "score") or key == "runtime":
            continue  # (score None: every test is broken; kept so callers always find it)
        if key == "tests":
            value = [dict(vars(t)) for t in value]
        elif key == "layers":
            value = list(value)
        elif key == "extra":
            value = copy.deepcopy(value) if value else {}
        elif key == "score":
            value = None if value is None else float(value)
        d[key] = value
    return d


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
    messages: list[tuple[str, str]]  # (role, content); fresh dicts are built per observation
    steps: int = 0
    over: bool = False
    records: list[dict[str, Any]] = field(default_factory=list)


class StudentProgrammingEnv(gym.Env[tuple, str]):
    """The artificial-programming-student environment.

    Args:
        course: a Course, a path to a native course, or None for the bundled sample course.
        split: the split ("train"/"test") or term whose trajectories replay episodes start from.
        feedback_level: "none" | "grade" | "summary" | "detailed" (see student_gym.feedback).
        reward: a reward spec for :func:`student_gym.rewards.make_reward` ("dapo", "grade",
            [("dapo", 1.0), ("format", 1.0)], ...) or a callable on a StepOutcome.
        reward_options: keyword arguments of ``make_reward`` (``max_tokens`` and
            ``cache_tokens`` of the "overlong" term).
        mode: "replay" (start from a real trajectory prefix) or "free" (from the assignment).
        score_source: which grade of a real submission counts: "regraded" or "logged".
        system_prompt: replaces the serializer's default system prompt.
        render_mode: None or "ansi" (a readable transcript).
        max_reply_length: the longest reply the action space accepts.
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 1}

    def __init__(
        self,
        course: Course | str | os.PathLike[str] | None = None,
        split: str = "test",
        feedback_level: str = "summary",
        reward: str | Sequence[tuple[str, float]] | Callable[[Any], float] = "dapo",
        reward_options: dict[str, Any] | None = None,
        mode: str = "replay",
        score_source: str = "regraded",
        system_prompt: str | None = None,
        render_mode: str | None = None,
        max_reply_length: int = 65536,
    ):
        from student_gym.rewards import make_reward

        if mode not in MODES:
            raise ValueError(f"StudentProgrammingEnv: mode must be one of {MODES}, got {mode!r}")
        if render_mode not in (None, *self.metadata["render_modes"]):
            raise ValueError(f"StudentProgrammingEnv: unsupported render_mode {render_mode!r}")
        self.course = gradable_course(resolve_course(course), "StudentProgramming-v0")
        self.split = split
        self.mode = mode
        self.score_source = score_source
        self.feedback_level = feedback_level
        self.style = self.dialog_style(feedback_level, system_prompt)
        self.reward_fn = (
            reward if callable(reward) else make_reward(reward, **(reward_options or {}))
        )
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

    # -- hooks for variants ------------------------------------------------------------------

    def dialog_style(self, feedback_level: str, system_prompt: str | None):
        """Hook: the serializer style of this env's dialogs (the PARA variant overrides it)."""
        from student_gym.dialogs import DialogStyle

        return DialogStyle(feedback_level=feedback_level, system_prompt=system_prompt)

    def sample_start(self) -> dict[str, Any]:
        """Hook: the reset options of an episode nobody chose, drawn with ``self.np_random``.

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
            from student_gym.dialogs import effective_submissions

            assignment = self._assignment(trajectory.assignment)
            self._effective[trajectory.id] = tuple(effective_submissions(trajectory, assignment))
        return self._effective[trajectory.id]

    def _start(self, options: dict[str, Any]) -> Episode:
        from student_gym.dialogs import dialog_messages, prefix_messages

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
                messages=[(m["role"], m["content"]) for m in messages],
            )
        if "assignment" in options:
            assignment = self._assignment(str(options["assignment"]))
            messages = dialog_messages(assignment, [], self.style)
            return Episode(
                assignment=assignment,
                trajectory=None,
                prefix=0,
                targets=(),
                messages=[(m["role"], m["content"]) for m in messages],
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
            options.update(self.sample_start())
        self._episode = self._start(options)
        info = self._episode_info()
        self._add_target(info, "next_target", 0)
        return self._observation(), info

    def step(self, action: str) -> tuple[tuple[dict[str, str], ...], float, bool, bool, dict]:
        from student_gym.grader import grade

        pending = self.begin_step(action)
        return self.end_step(pending, grade(pending.code, pending.assignment))

    def begin_step(self, action: str) -> PendingStep:
        """Parse a reply into the program to grade (the first half of :meth:`step`)."""
        from student_gym.replies import ReplyParser

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

    def end_step(
        self, pending: PendingStep, report: GradeReport
    ) -> tuple[tuple[dict[str, str], ...], float, bool, bool, dict]:
        """Apply a graded step (the second half of :meth:`step`)."""
        from student_gym.dialogs import feedback_text, format_program
        from student_gym.rewards import StepOutcome

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
        ep.messages.append(("assistant", format_program(pending.code)))
        ep.messages.append(("user", feedback_text(report, self.style)))
        terminated = report.fully_correct
        ep.over = terminated
        info = self._episode_info()
        info["grade"] = report_info(report)
        info["format_ok"] = pending.format_ok
        self._add_target(info, "target", ep.steps - 1)
        self._add_target(info, "next_target", ep.steps)
        ep.records.append(
            {
                "step": ep.steps,
                "reply": pending.reply,
                "code": pending.code,
                "format_ok": pending.format_ok,
                "report": report,
                "reward": reward,
            }
        )
        return self._observation(), reward, terminated, False, info

    def render(self) -> str | None:
        """The episode so far as a readable transcript (``render_mode="ansi"``)."""
        if self.render_mode != "ansi" or self._episode is None:
            return None
        ep = self._episode
        who = ep.trajectory.id if ep.trajectory is not None else "free mode"
        lines = [f"# {ep.assignment.id} ({who}, prefix {ep.prefix}, step {ep.steps})"]
        for i, (role, content) in enumerate(ep.messages):
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
        return tuple({"role": r, "content": c} for r, c in self._episode.messages)

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


class ParaStudentProgrammingEnv(StudentProgrammingEnv):
    """The PARA / no-feedback variant: every feedback turn is one neutral line."""

    def dialog_style(self, feedback_level: str, system_prompt: str | None):
        from student_gym.dialogs import DialogStyle

        style = DialogStyle.para_style()
        if system_prompt is not None:
            from dataclasses import replace

            style = replace(style, system_prompt=system_prompt)
        return style


class FreeStudentProgrammingEnv(StudentProgrammingEnv):
    """The free-mode variant: episodes start from a bare assignment, no real student.

    It only changes the default ``mode``; the base :meth:`sample_start` then draws assignments.
    """

    def __init__(self, **kwargs: Any):
        kwargs.setdefault("mode", "free")
        super().__init__(**kwargs)


def step_many(
    envs: Sequence[StudentProgrammingEnv], actions: Sequence[str], *, workers: int | None = None
) -> list[tuple[tuple[dict[str, str], ...], float, bool, bool, dict]]:
    """Step several envs at once, grading all their programs with one ``grade_many`` call.

    Same results as calling ``env.step(action)`` on each, in order.
    """
    from student_gym.grader import grade_many

    if len(envs) != len(actions):
        raise ValueError(f"step_many: {len(envs)} envs but {len(actions)} actions")
    pending = [env.begin_step(action) for env, action in zip(envs, actions, strict=True)]
    reports = grade_many([(p.code, p.assignment) for p in pending], workers=workers)
    return [env.end_step(p, r) for env, p, r in zip(envs, pending, reports, strict=True)]

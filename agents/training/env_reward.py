"""TRL reward functions for DAPO, computed by ``StudentProgramming-v0`` itself.

TRL calls each reward function as ``f(prompts=..., completions=..., completion_ids=...,
**dataset_columns) -> list[float]``. ``EnvReward`` resets one env per completion to the row's
real prefix (``options={"trajectory": id, "prefix": p}``) and steps all of them with the env's
batched path (``student_gym.env.step_many``: one parallel ``grade_many`` call), so the reward a
completion gets in training is the very reward the env gives in evaluation.
DAPO's soft over-length penalty comes from TRL (``get_soft_overlong_punishment``) on the
completion's token ids: the learner's own tokens, which the env never sees. This is exact only
for single-step rollouts, where the completion ids are the learner's reply and nothing else.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def completion_text(completion: Any) -> str:
    """The reply text of a TRL completion (a string, or a list of chat messages)."""
    if isinstance(completion, str):
        return completion
    return "".join(m.get("content") or "" for m in completion if m.get("role") == "assistant")


class EnvReward:
    """Reward of each completion as one step of StudentProgramming-v0 from the row's prefix.

    Args:
        course: the training course.
        split: its split the rows come from.
        feedback_level: the env's feedback level (does not change a one-step reward).
        para: use the PARA env (neutral feedback dialogs).
        reward: the env's reward spec without "overlong" (e.g. "dapo").
        workers: grader parallelism (all cores when None).
    """

    __name__ = "env_reward"  # TRL logs each reward function under its name

    def __init__(
        self,
        course,
        split: str = "train",
        *,
        feedback_level: str = "summary",
        para: bool = False,
        reward: str = "dapo",
        workers: int | None = None,
    ) -> None:
        self.course = course
        self.split = split
        self.feedback_level = feedback_level
        self.para = para
        self.reward = reward
        self.workers = workers
        self._envs: list[Any] = []  # reused between calls: building an env is not free

    def _env(self, index: int):
        from student_gym.env import StudentProgrammingEnv

        level = "none" if self.para else self.feedback_level  # PARA renders no feedback
        while len(self._envs) <= index:
            self._envs.append(
                StudentProgrammingEnv(course=self.course, split=self.split, feedback_level=level,
                                      para=self.para, reward=self.reward)
            )
        return self._envs[index]

    def __call__(
        self,
        completions: Sequence[Any],
        trajectory_id: Sequence[str],
        prefix: Sequence[int],
        **_: Any,
    ) -> list[float]:
        from student_gym.env import step_many

        envs = []
        for i, (tid, p) in enumerate(zip(trajectory_id, prefix, strict=True)):
            env = self._env(i)
            env.reset(options={"trajectory": tid, "prefix": int(p)})
            envs.append(env)
        replies = [completion_text(c) for c in completions]
        results = step_many(envs, replies, workers=self.workers)
        return [float(reward) for _obs, reward, *_rest in results]


def reward_functions(script_args, course, max_completion_length: int) -> list:
    """TRL reward functions for a run's ``--reward`` spec ("dapo+overlong" by default)."""
    terms = [t.strip() for t in script_args.reward.split("+") if t.strip()]
    env_terms = [t for t in terms if t != "overlong"]
    funcs: list = []
    if env_terms:
        funcs.append(
            EnvReward(
                course,
                script_args.split,
                feedback_level=script_args.feedback_level,
                para=script_args.para,
                reward="+".join(env_terms),
                workers=script_args.grader_workers,
            )
        )
    if "overlong" in terms:
        from trl.rewards import get_soft_overlong_punishment

        cache = min(script_args.overlong_cache_tokens, max_completion_length)
        funcs.append(get_soft_overlong_punishment(max_completion_length, cache))
    if not funcs:
        raise ValueError(f"--reward {script_args.reward!r} names no reward term")
    return funcs

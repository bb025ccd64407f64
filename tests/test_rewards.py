"""Reward terms and the DAPO reward."""

from __future__ import annotations

import pytest

from student_gym.dialogs.replies import ReplyParser
from student_gym.env.rewards import (
    StepOutcome,
    dapo_reward,
    format_reward,
    grade_match_reward,
    grade_reward,
    make_reward,
)
from student_gym.grader.report import GradeReport

TARGET = "def double(n):\n    return n * 2\n"


def outcome(reply: str, status: str = "failed", score: float = 0.5, **kw: object) -> StepOutcome:
    parsed = ReplyParser().parse(reply)
    report = GradeReport(score=score, passed=int(score * 4), total=4, status=status)
    kw.setdefault("target_code", TARGET)
    kw.setdefault("target_score", 0.5)
    return StepOutcome(reply=reply, code=parsed.code, format_ok=parsed.format_ok, report=report, **kw)


def test_dapo_reward_levels() -> None:
    # Same program up to names: 2.0, whatever the grade.
    assert dapo_reward(outcome("```python\ndef double(x):\n    return x * 2\n```", score=0.0)) == 2.0
    # A different program with the same grade: 1.0 (within 1e-9).
    same_grade = outcome("```python\ndef double(n):\n    return n + n\n```", score=0.5 + 1e-12)
    assert dapo_reward(same_grade) == 1.0
    # A different program and grade: 0.
    assert dapo_reward(outcome("```python\ndef double(n):\n    return n\n```", score=0.25)) == 0.0
    # A syntax error inside a good fence: -0.5.
    assert dapo_reward(outcome("```python\ndef double(n)\n    return n\n```", "syntax_error", 0.0)) == -0.5


def test_dapo_format_term_wins_whatever_the_grader_said() -> None:
    # No fence: the whole reply is the program; it may even pass, but the reward is -1.
    reply = "def double(x):\n    return x * 2\n"
    assert dapo_reward(outcome(reply, status="passed", score=1.0)) == -1.0
    assert format_reward(outcome(reply)) == -1.0
    assert format_reward(outcome(f"```python\n{reply}```")) == 0.0


def test_terms_without_a_target_give_zero_for_matching() -> None:
    free = outcome("```python\ndef double(n):\n    return n * 2\n```", target_code=None, target_score=None)
    assert dapo_reward(free) == 0.0
    assert grade_match_reward(free) == 0.0
    assert grade_reward(free) == 0.5


def test_the_env_has_no_overlong_term_and_training_adds_trls() -> None:
    """Over-length needs the learner's token count, which only the trainer has."""
    with pytest.raises(ValueError, match="not an env reward term"):
        make_reward("dapo+overlong")
    pytest.importorskip("trl")
    from types import SimpleNamespace

    from student_gym_agents.training.env_reward import reward_functions

    args = SimpleNamespace(reward="dapo+overlong", split="train", feedback_level="summary",
                           para=False, grader_workers=1, overlong_cache_tokens=20)
    env_term, overlong = reward_functions(args, course=None, max_completion_length=100)
    assert env_term.__name__ == "env_reward"
    assert overlong(completion_ids=[[1] * 50, [1] * 80, [1] * 90, [1] * 100, [1] * 101]) == [
        0.0, 0.0, pytest.approx(-0.5), pytest.approx(-1.0), -1.0]


def test_make_reward_sums_weighted_terms() -> None:
    step = outcome("```python\ndef double(x):\n    return x * 2\n```", score=0.25)
    assert make_reward("dapo")(step) == 2.0
    assert make_reward("grade")(step) == 0.25
    assert make_reward("dapo+format")(step) == 2.0
    assert make_reward("dapo+grade").__name__ == "dapo+grade"
    assert make_reward([("dapo", 0.5), ("grade", 2.0)])(step) == pytest.approx(1.5)
    with pytest.raises(ValueError, match="unknown reward term 'bleu'"):
        make_reward("bleu")


def test_a_report_without_a_score_gives_no_grade_signal() -> None:
    broken = outcome("```python\nprint(1)\n```", status="test_error", score=0.0)
    object.__setattr__(broken.report, "score", None)  # every test of the assignment broken
    assert grade_reward(broken) == 0.0 and grade_match_reward(broken) == 0.0

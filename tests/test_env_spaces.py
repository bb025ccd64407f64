"""The custom spaces: what they accept, what they sample, equality (vector envs need it)."""

from __future__ import annotations

import gymnasium as gym
import pytest

from student_gym.dialogs import format_program
from student_gym.dialogs.replies import ReplyParser
from student_gym.env.spaces import DialogSpace, ReplySpace


def test_text_space_rejects_code_so_custom_spaces_are_needed():
    code = format_program("def f(x):\n    return [x, (1, 2)]")
    assert not gym.spaces.Text(max_length=1000).contains(code)
    assert ReplySpace().contains(code)


def test_reply_space_samples_compilable_fenced_programs():
    space = ReplySpace(seed=5)
    for _ in range(20):
        reply = space.sample()
        parsed = ReplyParser().parse(reply)
        assert space.contains(reply) and parsed.format_ok
        compile(parsed.code, "<sample>", "exec")
    assert not space.contains(b"bytes") and not ReplySpace(max_length=3).contains("long")
    with pytest.raises(ValueError, match="max_length"):
        ReplySpace(max_length=0)


def test_dialog_space_contains_only_well_formed_dialogs():
    space = DialogSpace(seed=1)
    for _ in range(10):
        assert space.contains(space.sample())
    good = ({"role": "system", "content": "s"}, {"role": "user", "content": "u"})
    assert space.contains(good)
    assert not space.contains(list(good))  # a list, not a tuple
    assert not space.contains(
        good + ({"role": "assistant", "content": "a"},)
    )  # ends with assistant
    assert not space.contains(({"role": "robot", "content": "x"},))
    assert not space.contains(({"role": "user", "content": "x", "extra": 1},))
    assert not space.contains(({"role": "user", "content": 3},))


def test_spaces_compare_by_parameters():
    assert DialogSpace() == DialogSpace() and DialogSpace() != DialogSpace(max_messages=4)
    assert ReplySpace(10) == ReplySpace(10) and ReplySpace(10) != ReplySpace(11)
    assert ReplySpace() != DialogSpace()
    assert hash(ReplySpace(10)) == hash(ReplySpace(10))


def test_the_bundled_course_is_the_default():
    env = gym.make("StudentProgramming-v0")
    obs, info = env.reset(seed=0)
    assert env.observation_space.contains(obs)
    course = env.unwrapped.course
    assert course.splits[course.trajectory(info["trajectory"]).term] == "test"
    _, _, _, _, info = env.step(env.action_space.sample())
    assert info["grade"]["status"] in {"passed", "failed", "runtime_error", "syntax_error"}

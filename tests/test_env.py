"""StudentProgramming-v0: registration, check_env, reset/step contracts, determinism, vectors."""

from __future__ import annotations

import warnings

import gymnasium as gym
import pytest
from gymnasium.utils.env_checker import check_env
from test_env_course import tiny_course

import student_gym  # noqa: F401  (registers the envs)
from student_gym import grade
from student_gym.dialogs import (
    DialogStyle,
    dialog_messages,
    effective_submissions,
    format_program,
    prefix_messages,
    submission_turns,
)
from student_gym.env import StudentProgrammingEnv, step_many
from student_gym.env.registration import ENV_IDS
from student_gym.env.wrappers import RecordEpisodes, read_recorded
from student_gym.grader.report import GradeReport
from student_gym.learners.novice import NoviceAgent

ADD_OK = format_program("def add(a, b):\n    return a + b\n")
ADD_WRONG = format_program("def add(a, b):\n    return a * b\n")


def make(env_id: str = "StudentProgramming-v0", **kwargs):
    return gym.make(env_id, course=tiny_course(), **kwargs)


@pytest.mark.parametrize("env_id", sorted(ENV_IDS))
def test_check_env_passes_without_warnings(env_id):
    env = make(env_id)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any gymnasium checker warning fails the test
        check_env(env.unwrapped)
    env.close()


def test_registered_with_five_step_limit():
    assert set(ENV_IDS) <= set(gym.registry)
    assert gym.spec("StudentProgramming-v0").max_episode_steps == 5


def test_replay_reset_equals_serializer_prompt():
    course = tiny_course()
    env = make()
    obs, info = env.reset(options={"trajectory": "F24/s1/add", "prefix": 2})
    expected = prefix_messages(course, course.trajectory("F24/s1/add"), 2, DialogStyle())
    assert list(obs) == expected
    assert obs[-1]["role"] == "user"
    assert info["trajectory"] == "F24/s1/add" and info["prefix"] == 2
    # The next real submission is the third one (1-based index 3).
    assert info["next_target"]["index"] == 3
    assert info["next_target"]["score"] == 1.0


@pytest.mark.parametrize(
    ("env_id", "level", "style"),
    [
        ("StudentProgramming-v0", "summary", DialogStyle()),
        ("StudentProgramming-v0", "detailed", DialogStyle(feedback_level="detailed")),
        ("StudentProgramming-PARA-v0", "none", DialogStyle.para_style()),
    ],
)
def test_observation_after_k_steps_is_the_serializers_dialog(env_id, level, style):
    """The env and training share one serializer: after k learner steps (from the novice,
    and hostile replies: no fence, a program holding a fence, reasoning, an unclosed block),
    the observation equals the serializer's dialog of the same history."""
    course = tiny_course()
    trajectory = course.trajectory("F24/s1/add")
    assignment = course.assignments["add"]
    novice = NoviceAgent(course, seed=1)
    env = make(env_id, feedback_level=level)
    obs, info = env.reset(options={"trajectory": trajectory.id, "prefix": 1})
    real = effective_submissions(trajectory, assignment)[:1]
    history = [(s.code, s.report) for s in real]
    replies = iter([
        "no fence at all: return a + b",
        "<think>\nmaybe\n</think>\n````python\ns = '```'\ndef add(a, b):\n    return a\n````",
        "```python\ndef add(a, b):\n    return a - b",
        None,  # then the novice's own replies
        None,
    ])
    for _ in range(5):
        reply = next(replies) or novice.act([obs], [info])[0]
        obs, _, terminated, _, info = env.step(reply)
        history.append((info["code"], grade(info["code"], assignment)))
        assert list(obs) == dialog_messages(assignment, history, style)
        assert obs[-2] == submission_turns(info["code"], history[-1][1], style)[0]
        if terminated:
            break
    assert len(history) >= 4


def test_para_refuses_a_feedback_level_it_cannot_honour():
    with pytest.raises(ValueError, match="para=True gives no feedback"):
        make("StudentProgramming-PARA-v0", feedback_level="detailed")
    env = make("StudentProgramming-PARA-v0", system_prompt="Be a student.")
    obs, _ = env.reset(seed=0)
    assert obs[0]["content"] == "Be a student."  # every other argument is honoured
    assert gym.spec("StudentProgramming-PARA-v0").kwargs == {"para": True, "feedback_level": "none"}
    assert gym.spec("StudentProgramming-Free-v0").kwargs == {"mode": "free"}
    assert {gym.spec(i).entry_point for i in ENV_IDS} == {
        "student_gym.env.programming_env:StudentProgrammingEnv"}


def test_step_grades_appends_and_pairs_with_advancing_target():
    env = make()
    obs, _ = env.reset(options={"trajectory": "F24/s1/add", "prefix": 1})
    obs1, reward, terminated, truncated, info = env.step(ADD_WRONG)
    assert not terminated and not truncated
    assert len(obs1) == len(obs) + 2
    assert obs1[-2] == {"role": "assistant", "content": ADD_WRONG}
    assert "runtime" not in info["grade"]
    assert info["code"] == "def add(a, b):\n    return a * b"
    assert GradeReport.from_dict(info["grade"]).score == pytest.approx(1 / 3)
    assert info["format_ok"] is True
    # step 1 pairs with real submission 2 (a - b: 1/3) -> same grade, so DAPO reward 1.0
    assert info["target"]["index"] == 2 and info["next_target"]["index"] == 3
    assert reward == 1.0
    _, reward, terminated, _, info = env.step(ADD_OK)
    assert terminated and info["grade"]["status"] == "passed"
    assert info["target"]["index"] == 3 and "next_target" not in info
    assert reward == 2.0  # same normalized AST as the real next submission


def test_reply_without_program_gets_honest_verdict_and_format_flag():
    env = make()
    env.reset(options={"trajectory": "F24/s2/add", "prefix": 1})
    _, reward, terminated, _, info = env.step("I am not sure what to do here.")
    assert info["format_ok"] is False
    assert info["grade"]["status"] == "syntax_error"
    assert not terminated
    assert reward == -1.0  # the DAPO format term


def test_free_mode_has_no_target_and_truncates_after_five_steps():
    env = make()
    obs, info = env.reset(options={"assignment": "greet"})
    assert [m["role"] for m in obs] == ["system", "user"]
    assert "trajectory" not in info and "next_target" not in info
    for step in range(5):
        _, _, terminated, truncated, info = env.step(format_program("print('Hi')"))
        assert "target" not in info and not terminated
        assert truncated == (step == 4)


def test_para_variant_feedback_is_neutral():
    env = make("StudentProgramming-PARA-v0")
    env.reset(options={"trajectory": "F24/s1/add", "prefix": 1})
    obs, *_ = env.step(ADD_WRONG)
    assert obs[-1]["content"] == "Submission received."
    assert all("Tests passed" not in m["content"] for m in obs if m["role"] == "user")


def test_seeded_runs_give_identical_episodes():
    def run(seed):
        env = make(reward=[("dapo", 1.0), ("grade", 0.5)])
        env.action_space.seed(seed)
        episode = [env.reset(seed=seed)]
        for _ in range(3):
            step = env.step(env.action_space.sample())
            episode.append(step)
            if step[2] or step[3]:
                break
        return episode

    assert run(7) == run(7)
    env = make()
    starts = set()
    for seed in range(6):
        _, info = env.reset(seed=seed)
        starts.add((info["trajectory"], info["prefix"]))
    assert len(starts) > 1  # seeds do reach different episodes


def test_render_ansi_is_a_transcript():
    env = make(render_mode="ansi")
    env.reset(options={"trajectory": "F24/s1/add", "prefix": 1})
    env.step(ADD_OK)
    text = env.render()
    assert "(real student)" in text and "(learner)" in text
    assert "return a * b" not in text and "return a + b" in text


def test_bad_options_and_bad_course_split_are_clear_errors():
    env = make()
    with pytest.raises(ValueError, match="prefix 9 is outside"):
        env.reset(options={"trajectory": "F24/s1/add", "prefix": 9})
    with pytest.raises(KeyError, match="no trajectory"):
        env.reset(options={"trajectory": "nope"})
    with pytest.raises(KeyError, match="no assignment"):
        env.reset(options={"assignment": "nope"})
    with pytest.raises(KeyError, match="no split or term"):
        StudentProgrammingEnv(course=tiny_course(), split="2099-fall")


def test_step_many_matches_step_one_by_one():
    course = tiny_course()
    replies = [ADD_WRONG, ADD_OK, "print(1)"]
    options = [("F24/s1/add", 1), ("F24/s2/add", 1), ("F24/s3/greet", 1)]
    batched = [StudentProgrammingEnv(course=course) for _ in options]
    single = [StudentProgrammingEnv(course=course) for _ in options]
    for env_b, env_s, (tid, prefix) in zip(batched, single, options, strict=True):
        env_b.reset(options={"trajectory": tid, "prefix": prefix})
        env_s.reset(options={"trajectory": tid, "prefix": prefix})
    many = step_many(batched, replies)
    one = [env.step(reply) for env, reply in zip(single, replies, strict=True)]
    assert many == one


@pytest.mark.parametrize(
    ("mode", "autoreset"),
    [("sync", "SameStep"), ("sync", "Disabled"), ("async", "SameStep")],
)
def test_vector_envs(mode, autoreset):
    vector_kwargs = {"autoreset_mode": gym.vector.AutoresetMode(autoreset)}
    if mode == "async":
        vector_kwargs["shared_memory"] = False  # custom spaces cannot live in shared memory
    envs = gym.make_vec(
        "StudentProgramming-v0",
        num_envs=2,
        vectorization_mode=mode,
        vector_kwargs=vector_kwargs,
        course=tiny_course(),
    )
    try:
        obs, infos = envs.reset(seed=3)
        assert len(obs) == 2 and all(envs.single_observation_space.contains(o) for o in obs)
        # one correct and one wrong program: a runtime-free report beside a failed one
        replies = (ADD_OK, "def f(:\n")
        obs, rewards, terminated, truncated, infos = envs.step(replies)
        assert len(rewards) == 2
        assert infos["grade"]["status"][1] == "syntax_error"
        assert list(infos["format_ok"]) == [True, False]
    finally:
        envs.close()


def test_record_episodes_wrapper_writes_jsonl(tmp_path):
    path = tmp_path / "episodes.jsonl"
    env = RecordEpisodes(make(), path)
    env.reset(seed=0, options={"trajectory": "F24/s1/add", "prefix": 1})
    env.step(ADD_WRONG)
    env.step(ADD_OK)
    env.reset(options={"assignment": "greet"})
    env.step("print('x')")
    env.close()
    lines = read_recorded(path)
    assert [line["finished"] for line in lines] == [True, False]
    assert [s["info"]["grade"]["status"] for s in lines[0]["steps"]] == ["failed", "passed"]
    assert lines[0]["dialog"][-1]["role"] == "user"
    assert lines[1]["options"] == {"assignment": "greet"}

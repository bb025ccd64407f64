"""Agents: replay, the rule-based novice, the OpenAI-compatible API learner (against a local
HTTP server on 127.0.0.1) and the few-shot wrapper."""

from __future__ import annotations

import inspect
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import gymnasium as gym
import pytest
from test_env_course import tiny_course

from student_gym import grade
from student_gym.dialogs import DialogStyle, prefix_messages
from student_gym.dialogs.replies import ReplyParser
from student_gym.evaluation import evaluate
from student_gym.learners.contract import agent_name, request_replies
from student_gym.learners.novice import NoviceAgent, Plan
from student_gym.learners.replay import ReplayAgent
from student_gym_agents.api import FORMAT_INSTRUCTIONS, ApiAgent, CostCapExceeded, CourseDataRefused
from student_gym_agents.fewshot import FewShotAgent


@pytest.fixture
def openai_client():
    """The ``api`` extra: the API learner's tests skip without it."""
    return pytest.importorskip("openai")


REPLY = "```python\ndef add(a, b):\n    return a + b\n```"


class ChatServer:
    """A tiny chat-completions server: records requests, answers REPLY with fixed usage."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append({"path": self.path, "body": body})
                payload = {
                    "id": "c1", "object": "chat.completion", "created": 0, "model": body["model"],
                    "choices": [{"index": 0, "finish_reason": "stop",
                                 "message": {"role": "assistant", "content": REPLY}}],
                    "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
                }  # fmt: skip
                data = json.dumps(payload).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> ChatServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def observation(tid="F24/s1/add", prefix=1):
    course = tiny_course()
    return tuple(prefix_messages(course, course.trajectory(tid), prefix, DialogStyle()))


def test_every_learner_has_the_one_act_signature():
    from student_gym_agents.lm import LMAgent

    for cls in (ReplayAgent, NoviceAgent, FewShotAgent, ApiAgent, LMAgent):
        params = list(inspect.signature(cls.act).parameters)
        assert params == ["self", "observations", "infos"], (cls.__name__, params)
    course = tiny_course()
    assert agent_name(NoviceAgent(course)) == "novice"
    assert agent_name(FewShotAgent(ReplayAgent(), course, k=1)) == "replay+fewshot1"

    class Nameless:
        name = None

        def act(self, observations, infos):
            return [1 for _ in observations]

    assert agent_name(Nameless()) == "Nameless"
    with pytest.raises(ValueError, match="reply 0 is int, not str"):
        request_replies(Nameless(), [observation()], [{}])
    with pytest.raises(ValueError, match="1 observations but 0 infos"):
        request_replies(Nameless(), [observation()], [])


def test_replay_answers_the_real_next_submission():
    env = gym.make("StudentProgramming-v0", course=tiny_course())
    obs, info = env.reset(options={"trajectory": "F24/s1/add", "prefix": 1})
    (reply,) = request_replies(ReplayAgent(), [obs], [info])
    assert ReplyParser().parse(reply).code == "def add(a, b):\n    return a - b"
    with pytest.raises(ValueError, match="one env info per observation"):
        ReplayAgent().act([obs], [])


def test_novice_reading_detailed_feedback_fixes_one_error_per_step():
    course = tiny_course()
    agent = NoviceAgent(course, seed=3)
    env = gym.make("StudentProgramming-Free-v0", course=course, feedback_level="detailed")
    for aid in ("add", "count_evens", "greet"):
        obs, info = env.reset(options={"assignment": aid})
        first = agent.act([obs], [{}])[0]
        assert agent.act([obs], [{}]) == [first]  # deterministic
        statuses, programs = [], []
        for _ in range(5):
            obs, _, terminated, truncated, info = env.step(agent.act([obs], [info])[0])
            statuses.append(info["grade"]["status"])
            programs.append(obs[-2]["content"])
            if terminated or truncated:
                break
        assert statuses[-1] == "passed", (aid, statuses)
        assert len(set(programs)) == len(programs)  # every step changed the program
        if "syntax_error" in statuses:
            assert statuses.index("syntax_error") == 0  # the colon is fixed first


def _attempts_to_solve(course, level: str, seeds: range, horizon: int) -> dict:
    """Steps the novice takes to pass each (assignment, seed) (horizon + 1 when it never does)."""
    env = gym.make("StudentProgramming-Free-v0", course=course, feedback_level=level,
                   max_episode_steps=horizon)
    out = {}
    for seed in seeds:
        agent = NoviceAgent(course, seed=seed)
        for aid in sorted(course.assignments):
            obs, info = env.reset(options={"assignment": aid})
            steps = horizon + 1
            for step in range(1, horizon + 1):
                obs, _, terminated, truncated, info = env.step(agent.act([obs], [info])[0])
                if terminated:
                    steps = step
                    break
                if truncated:
                    break
            out[aid, seed] = steps
    return out


def test_feedback_matters_the_novice_reading_details_solves_in_fewer_attempts():
    """On the bundled course, the same novice (same error plans) reading the detailed feedback
    needs fewer submissions than reading the grade alone: paired by (assignment, seed), the
    mean difference's 95% bootstrap interval excludes 0."""
    import numpy as np

    from student_gym.course import bundled_course

    course = bundled_course()
    detailed = _attempts_to_solve(course, "detailed", range(3), horizon=10)
    grade_only = _attempts_to_solve(course, "grade", range(3), horizon=10)
    diff = np.array([grade_only[k] - detailed[k] for k in detailed], dtype=float)
    rng = np.random.default_rng(0)
    means = diff[rng.integers(0, len(diff), size=(2000, len(diff)))].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    print(f"attempts: detailed {np.mean(list(detailed.values())):.2f}, grade only "
          f"{np.mean(list(grade_only.values())):.2f}, difference {diff.mean():.2f} "
          f"[{low:.2f}, {high:.2f}] over {len(diff)} pairs")
    assert low > 0


def test_novice_plan_errors_are_its_own():
    assignment = tiny_course().assignments["count_evens"]
    plan = Plan(assignment.solution, (("off_by_one", 0), ("comparison", 0), ("missing_colon", 0)))
    full = plan.program(frozenset({0, 1, 2}))
    assert "range(len(xs) - 1)" in full and "!=" in full and "def count_evens(xs)\n" in full
    assert grade(full, assignment).status == "syntax_error"
    assert grade(plan.program(frozenset({0, 1})), assignment).status == "failed"
    assert grade(plan.program(frozenset()), assignment).status == "passed"


def test_api_agent_refuses_course_data_without_the_flag():
    with ChatServer() as server:
        with pytest.raises(CourseDataRefused, match="allow-remote-course-data"):
            ApiAgent("tiny", base_url=server.url)
        assert server.requests == []


def test_api_agent_talks_to_a_local_chat_server_and_caps_cost(openai_client):
    with ChatServer() as server:
        agent = ApiAgent(
            "tiny-model", base_url=server.url, api_key="x", allow_course_data=True,
            max_cost_usd=0.0003, input_price_per_million=1.0, output_price_per_million=5.0,
        )  # fmt: skip
        replies = agent.act([observation(), observation("F24/s2/add")], [{}, {}])
        assert replies == [REPLY, REPLY]
        bodies = [r["body"] for r in server.requests]  # concurrent: in any order
        assert {r["path"] for r in server.requests} == {"/v1/chat/completions"}
        assert all(b["model"] == "tiny-model" and b["temperature"] == 0.0 for b in bodies)
        # The one change to the dialog: the format request that stands in for the prefill.
        sent = [dict(m) for m in observation()]
        sent[0]["content"] += "\n\n" + FORMAT_INSTRUCTIONS
        assert sent in [b["messages"] for b in bodies]
        assert "Start your reply with ```python" in FORMAT_INSTRUCTIONS
        # 2 requests x (100 in x $1 + 20 out x $5) / 1e6 = $0.0004 >= the $0.0003 cap
        assert agent.usage.cost_usd == pytest.approx(0.0004)
        with pytest.raises(CostCapExceeded, match="cost cap"):
            agent.act([observation()], [{}])
        assert len(server.requests) == 2


def test_api_agent_cost_cap_stops_evaluation_cleanly(openai_client, tmp_path):
    with ChatServer() as server:
        agent = ApiAgent(
            "tiny-model", base_url=server.url, api_key="x", allow_course_data=True,
            max_total_tokens=240, concurrency=1,
        )  # fmt: skip
        results = evaluate(agent, tiny_course(), out_dir=tmp_path, batch_size=2, bootstrap=0)
        assert results.stopped and "token cap" in results.stopped
        assert len(server.requests) == 2
        assert results.provenance["agent"]["usage"]["requests"] == 2


def test_fewshot_puts_training_trajectories_of_the_same_assignment_in_the_prompt():
    course = tiny_course()
    seen = []

    class Echo:
        name = "echo"

        def act(self, observations, infos):
            seen.extend(observations)
            return ["" for _ in observations]

    agent = FewShotAgent(Echo(), course, k=2)
    assert agent.name == "echo+fewshot2"
    agent.act([observation(), observation("F24/s3/greet")], [{}, {}])
    add_system, greet_system = seen[0][0]["content"], seen[1][0]["content"]
    assert "return a * b" in add_system  # the training-term student S24/s5 on add
    assert "print('Hello, ' + input())" in greet_system and "return a * b" not in greet_system
    assert "return a - b" not in add_system  # never the evaluated (test-term) students
    assert seen[0][1:] == observation()[1:]  # the dialog itself is unchanged


def test_cli_api_agent_needs_the_flag_and_respects_the_cap(openai_client, tmp_path, capsys):
    from student_gym.course import save_course
    from student_gym.evaluation import Results
    from student_gym_agents.cli import main

    course_path = str(save_course(tiny_course(), tmp_path / "course"))
    with ChatServer() as server:
        base = [
            "evaluate",
            "--agent",
            "api:tiny",
            "--api-base",
            server.url,
            "--course",
            course_path,
        ]
        assert main([*base, "--out", str(tmp_path / "refused")]) == 2
        assert server.requests == [] and "allow-remote-course-data" in capsys.readouterr().err
        extra = ["--allow-remote-course-data", "--max-total-tokens", "240", "--concurrency", "1"]
        assert main([*base, *extra, "--out", str(tmp_path / "o"), "--no-plot"]) == 0
        results = Results.load(tmp_path / "o" / "api_tiny" / "results.json")
        assert results.stopped and len(server.requests) == 2


def test_api_format_instructions_can_be_switched_off_and_need_no_system_turn(openai_client):
    with ChatServer() as server:
        plain = ApiAgent("m", base_url=server.url, api_key="x", allow_course_data=True,
                         format_instructions=False)
        assert plain._messages(observation()) == [dict(m) for m in observation()]
        bare = ApiAgent("m", base_url=server.url, api_key="x", allow_course_data=True)
        messages = bare._messages([{"role": "user", "content": "Write add."}])
        assert messages[0] == {"role": "system", "content": FORMAT_INSTRUCTIONS}
        assert server.requests == []

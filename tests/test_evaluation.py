"""The evaluation protocol: metrics aggregation on hand-made episodes, the batched rollout,
evaluate() with replay/novice agents, resuming, stopping, and the CLI."""

from __future__ import annotations

import json

import pytest
from test_env_course import tiny_course

from student_gym.course import save_course
from student_gym.evaluation import (
    EpisodeRecord,
    Results,
    StepRecord,
    StopEvaluation,
    aggregate,
    evaluate,
    protocol_starts,
    rollout,
)
from student_gym.evaluation.plots import plots_unavailable
from student_gym.evaluation.rollout import PairScorer
from student_gym.learners.novice import NoviceAgent
from student_gym.learners.replay import ReplayAgent
from student_gym_agents.cli import main

SELF = [{"codebleu": 1.0, "codebleu_fixed": 1.0}] * 5


def step(j, score, target_score, code="x = 1", target="x = 1", cb=1.0):
    return StepRecord(
        j=j, reply="", code=code, format_ok=True, score=score, status="failed",
        target_code=target, target_score=target_score,
        grade_proximity=1 - abs(score - target_score), codebleu=cb, codebleu_fixed=cb,
    )  # fmt: skip


def episode(student, steps, student_steps, tid="t"):
    return EpisodeRecord(
        trajectory=tid, student=student, assignment="a", prefix=1,
        student_steps=student_steps, steps=steps, target_self=SELF[:student_steps],
        horizon=5, student_remaining=student_steps, student_passed=True,
        student_submissions=[{"code": "x = 1", "score": 1.0, "status": "failed"}] * student_steps,
    )  # fmt: skip


def test_early_stop_lowers_coverage():
    # The learner was correct at step 1 and stopped; the student went on for 2 more steps.
    result = aggregate([episode("s1", [step(1, 1.0, 1.0)], 3)], steps=3, bootstrap=0)
    cov = result["metrics"]["coverage"]
    assert cov["per_step"] == [1.0, 0.0, 0.0]
    assert cov["value"] == pytest.approx(1 / 3)  # pooled: 1 valid pair of 3 student steps
    assert cov["delta"] == pytest.approx(-1.0)


def test_grade_gaps_give_proximity_and_unweighted_step_mean():
    episodes = [
        episode("s1", [step(1, 0.5, 1.0), step(2, 0.2, 0.2)], 2),
        episode("s2", [step(1, 1.0, 1.0)], 1, tid="u"),
    ]
    gp = aggregate(episodes, steps=2, bootstrap=0)["metrics"]["grade_proximity"]
    assert gp["per_step"] == [pytest.approx(0.75), pytest.approx(1.0)]  # (0.5 + 1) / 2, 1
    assert gp["value"] == pytest.approx(0.875)  # unweighted over steps, not over 3 pairs
    assert gp["delta"] == pytest.approx(0.25)


def test_empty_program_is_not_a_valid_pair():
    episodes = [episode("s1", [step(1, 0.0, 0.5, code="  "), step(2, 0.5, 0.5)], 2)]
    metrics = aggregate(episodes, steps=2, bootstrap=0)["metrics"]
    assert metrics["coverage"]["per_step"] == [0.0, 1.0]
    assert metrics["grade_proximity"]["per_step"] == [None, 1.0]


def test_program_against_itself_gives_the_codebleu_package_self_score():
    calc_codebleu = pytest.importorskip("codebleu").calc_codebleu

    code = "print('hello')"
    record = episode("s1", [step(1, 1.0, 1.0, code=code, target=code, cb=None)], 1)
    PairScorer().finish(record, [(code, 1.0)])
    package = calc_codebleu([code], [code], lang="python")["codebleu"]
    assert record.steps[0].codebleu == pytest.approx(package)
    assert record.target_self[0]["codebleu"] == pytest.approx(package)
    assert package < 1.0  # the ceiling is below 1 for a one-line program


def test_bootstrap_interval_brackets_the_mean():
    episodes = [episode(f"s{i}", [step(1, i / 10, 1.0)], 1, tid=f"t{i}") for i in range(10)]
    gp = aggregate(episodes, steps=1, bootstrap=500, seed=1)["metrics"]["grade_proximity"]
    lo, hi = gp["ci"]
    assert lo < gp["value"] < hi


def test_protocol_starts_cover_every_start_k():
    starts = protocol_starts(tiny_course(), "test", steps=5)
    by_traj = {}
    for s in starts:
        by_traj.setdefault(s.trajectory, []).append((s.prefix, s.student_steps))
    assert by_traj["F24/s1/add"] == [(1, 2), (2, 1)]  # N = 3: k = 2, 3
    assert by_traj["F24/s4/count_evens"] == [(1, 1)]  # a duplicate AST was collapsed

def test_limit_draws_whole_students_with_the_seed():
    course = tiny_course()
    everyone = protocol_starts(course)
    students = sorted({s.student for s in everyone})
    draws = {seed: protocol_starts(course, limit=2, seed=seed) for seed in range(8)}
    for seed, starts in draws.items():
        picked = {s.student for s in starts}
        assert len(picked) == 2
        # every start of a drawn student is kept, in course order, and nothing else
        assert starts == [s for s in everyone if s.student in picked]
        assert protocol_starts(course, limit=2, seed=seed) == starts  # the seed decides
        bigger = {s.student for s in protocol_starts(course, limit=3, seed=seed)}
        assert picked <= bigger  # a larger sample keeps the smaller one's students
    assert len({frozenset(s.student for s in v) for v in draws.values()}) > 1  # not the first N
    assert protocol_starts(course, limit=len(students) + 5) == everyone
    with pytest.raises(ValueError, match="at least 1"):
        protocol_starts(course, limit=0)


def test_replay_reaches_coverage_1_gp_1_and_the_codebleu_ceiling(tmp_path):
    results = evaluate(ReplayAgent(), tiny_course(), out_dir=tmp_path, bootstrap=100)
    assert results.summary()["Cov"] == 1.0 and results.summary()["GP"] == 1.0
    m = results.metrics
    if m["codebleu"]["unavailable"] is None:
        assert m["codebleu"]["per_step"] == pytest.approx(m["self_similarity"]["per_step"])
    else:  # a core install: CodeBLEU is not computed, never 0
        assert m["codebleu"]["value"] is None and "student-gym[metrics]" in m["codebleu"]["unavailable"]
    assert results.counts["episodes"] == len(protocol_starts(tiny_course()))
    assert Results.load(tmp_path / "results.json").summary() == results.summary()
    prov = results.provenance
    assert prov["course"]["sha256"] and prov["packages"]["gymnasium"]
    assert prov["settings"]["feedback_level"] == "summary"


def test_novice_gives_honest_lower_numbers():
    results = evaluate(NoviceAgent(tiny_course()), tiny_course(), bootstrap=0)
    assert results.summary()["GP"] < 1.0
    if results.unavailable("codebleu") is None:
        assert results.summary()["CB"] < results.value("self_similarity")


def replay_steps(starts, horizon=5):
    """Steps replay makes: it passes exactly when its student did; where the student never
    passed it goes on (empty replies) to the horizon."""
    return sum(s.student_steps if s.student_passed else horizon for s in starts)


class CountingAgent:
    """Replay, counting calls and optionally stopping the run after some calls."""

    name = "counting"

    def __init__(self, stop_after: int | None = None) -> None:
        self.inner = ReplayAgent()
        self.calls = 0
        self.observations = 0
        self.stop_after = stop_after

    def act(self, observations, infos):
        if self.stop_after is not None and self.calls >= self.stop_after:
            raise StopEvaluation("test budget spent")
        self.calls += 1
        self.observations += len(observations)
        return self.inner.act(observations, infos)


def test_batched_rollout_equals_one_episode_at_a_time():
    course = tiny_course()
    starts = protocol_starts(course)
    one, many = CountingAgent(), CountingAgent()
    single = rollout(one, course, starts, batch_size=1)
    batched = rollout(many, course, starts, batch_size=8)
    key = lambda r: r.key  # noqa: E731
    assert [r.to_dict() for r in sorted(single, key=key)] == [
        r.to_dict() for r in sorted(batched, key=key)
    ]
    assert many.calls < one.calls and many.observations == one.observations


def test_stop_and_resume_do_not_redo_finished_episodes(tmp_path):
    course = tiny_course()
    stopped = evaluate(
        CountingAgent(stop_after=1), course, out_dir=tmp_path, batch_size=2, bootstrap=0
    )
    assert stopped.stopped == "test budget spent"
    done = stopped.counts["episodes"]
    assert 0 < done < stopped.counts["planned_episodes"]
    # An interrupted write leaves a broken last line: it is dropped, not fatal.
    with (tmp_path / "episodes.jsonl").open("a") as handle:
        handle.write('{"trajectory": "F24/s')
    agent = CountingAgent()
    resumed = evaluate(agent, course, out_dir=tmp_path, batch_size=2, bootstrap=0)
    assert resumed.stopped is None
    assert resumed.counts["episodes"] == resumed.counts["planned_episodes"]
    full = len(protocol_starts(course))
    assert agent.observations < replay_steps(protocol_starts(course))
    lines = (tmp_path / "episodes.jsonl").read_text().splitlines()
    assert len(lines) == full and len({json.loads(x)["prefix"] for x in lines}) >= 1
    again = CountingAgent()
    evaluate(again, course, out_dir=tmp_path, bootstrap=0)
    assert again.calls == 0
    with pytest.raises(ValueError, match="cannot resume"):
        evaluate(CountingAgent(), course, out_dir=tmp_path, steps=3, bootstrap=0)


def test_cli_evaluate_and_compare(tmp_path, capsys):
    course_path = save_course(tiny_course(), tmp_path / "course")
    out = tmp_path / "eval"
    argv = ["evaluate", "--agent", "replay", "--agent", "novice", "--course", str(course_path)]
    code = main([*argv, "--out", str(out), "--bootstrap", "50", "--no-progress"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "replay" in printed and "novice" in printed and "Cov" in printed
    if plots_unavailable() is None:
        assert (out / "per_step.png").stat().st_size > 0
    else:  # a core install: the plot is skipped with its reason
        assert "per-step curves: not drawn (install student-gym[metrics]: matplotlib)" in printed
    replay = Results.load(out / "replay" / "results.json")
    assert replay.summary()["Cov"] == 1.0
    compare = [str(out / "replay" / "results.json"), str(out / "novice")]
    assert main(["evaluate", "--compare", *compare, "--out", str(tmp_path / "cmp")]) == 0
    printed = capsys.readouterr().out
    assert "novice - replay" in printed and "Cov (pooled)" in printed
    assert main(["evaluate", "--agent", "bogus", "--course", str(course_path)]) == 2


def test_para_dialogs_and_the_student_sample_is_part_of_the_resume_key(tmp_path):
    course = tiny_course()
    small = evaluate(ReplayAgent(), course, para=True, limit=2, seed=1, out_dir=tmp_path,
                     bootstrap=0)
    assert small.provenance["settings"]["feedback_level"] == "none"
    drawn = sorted({s.student for s in protocol_starts(course, limit=2, seed=1)})
    assert small.provenance["students"] == drawn
    assert small.provenance["settings"]["limit"] == 2 and small.provenance["settings"]["seed"] == 1
    agent = CountingAgent()
    agent.name = "replay"  # same label: the run directory is resumed, not refused
    again = evaluate(agent, course, para=True, limit=2, seed=1, out_dir=tmp_path, bootstrap=0)
    assert agent.calls == 0 and again.counts["episodes"] == small.counts["episodes"]
    for changed in ({"limit": 3, "seed": 1}, {"limit": 2, "seed": 2}, {"limit": None, "seed": 1}):
        with pytest.raises(ValueError, match="cannot resume"):
            evaluate(agent, course, para=True, out_dir=tmp_path, bootstrap=0, **changed)
    full = evaluate(agent, course, para=True, out_dir=tmp_path / "all", bootstrap=0)
    assert full.counts["episodes"] == len(protocol_starts(course)) > small.counts["episodes"]
    assert full.summary()["Cov"] == 1.0 and full.summary()["GP"] == 1.0


def test_validity_rules_paper_counts_any_text_strict_needs_a_fence_or_a_parse() -> None:
    from student_gym.evaluation.episodes import StepRecord

    def step(code: str, format_ok: bool, status: str) -> StepRecord:
        return StepRecord(j=1, reply=code, code=code, format_ok=format_ok, score=0.0,
                          status=status, target_code="x = 1\n", target_score=0.0)

    assert not step("the the ( of", False, "syntax_error").valid("strict")
    assert step("the the ( of", False, "syntax_error").valid("paper")
    assert step("print(x", True, "syntax_error").valid("strict")
    assert step("print(1)", False, "failed").valid("strict")
    assert not step("   ", True, "syntax_error").valid("paper")
    with pytest.raises(ValueError, match="validity"):
        step("x", True, "failed").valid("lenient")

"""Every metric definition pinned on one hand-built example (numbers worked out by hand).

Three episodes, horizon H = 3, two students:

* E1 (s1): the student has 3 steps and passes at the 3rd. The learner: step 1 scores 0.5
  against the student's 0.0 (GP 0.5, CB 0.4, CB fixed 0.3), step 2 passes against 0.5
  (GP 0.5, CB 0.6): it finishes *earlier*.
* E2 (s2): the student passes at step 1. The learner's step 1 is free text without a fence
  that does not parse (a program under the paper's rule, not under the strict one): grade 0
  against 1 (GP 0, CB 0.1). Its step 2 passes (no student step to pair with): *later*.
* E3 (s2): the student goes on past the horizon (5 submissions left: censored). The learner:
  step 1 scores 0.2 against 0.2 (GP 1, CB 0.8), step 2 is empty (no program), step 3 scores
  0.0 against 0.4 (GP 0.6, CB 0.5); it never passes: *censored, neither finishes*.
"""

from __future__ import annotations

import math

import pytest

from student_gym.evaluation import EpisodeRecord, StepRecord, aggregate
from student_gym.evaluation.behaviour import finish_category
from student_gym.evaluation.metrics import js_divergence

H = 3


def step(j, code, status, score, target=None, gp=None, cb=None, cbf=None, fenced=True):
    return StepRecord(
        j=j, reply=code, code=code, format_ok=fenced, score=score, status=status,
        target_code=None if target is None else f"t = {target}", target_score=target,
        grade_proximity=gp, codebleu=cb, codebleu_fixed=cb if cbf is None else cbf,
    )  # fmt: skip


def real(status, score):
    return {"code": f"t = {score}", "score": score, "status": status, "feedback": "..."}


def record(tid, student, steps, remaining, passed, submissions):
    return EpisodeRecord(
        trajectory=tid, student=student, assignment="a", prefix=1,
        student_steps=min(H, remaining), steps=steps, horizon=H,
        student_remaining=remaining, student_passed=passed,
        student_submissions=submissions,
        target_self=[{"codebleu": 1.0, "codebleu_fixed": 0.9}] * min(H, remaining),
        end="correct" if any(s.status == "passed" for s in steps) else "horizon",
    )  # fmt: skip


E1 = record("t1", "s1", [
    step(1, "x = 1", "failed", 0.5, target=0.0, gp=0.5, cb=0.4, cbf=0.3),
    step(2, "x = 2", "passed", 1.0, target=0.5, gp=0.5, cb=0.6),
], 3, True, [real("failed", 0.0), real("failed", 0.5), real("passed", 1.0)])  # fmt: skip
E2 = record("t2", "s2", [
    step(1, "hello there", "syntax_error", 0.0, target=1.0, gp=0.0, cb=0.1, fenced=False),
    step(2, "x = 3", "passed", 1.0),
], 1, True, [real("passed", 1.0)])  # fmt: skip
E3 = record("t3", "s2", [
    step(1, "x = 4", "failed", 0.2, target=0.2, gp=1.0, cb=0.8),
    step(2, "", "syntax_error", 0.0, target=0.9),
    step(3, "x = 5", "failed", 0.0, target=0.4, gp=0.6, cb=0.5),
], 5, False, [real("failed", 0.2), real("runtime_error", 0.9), real("failed", 0.4)])  # fmt: skip
EPISODES = [E1, E2, E3]


@pytest.fixture(scope="module")
def paper():
    return aggregate(EPISODES, steps=H, bootstrap=0)


def test_coverage_pooled_is_the_headline_and_the_step_mean_sits_beside_it(paper):
    cov = paper["metrics"]["coverage"]
    # student steps per j: 3, 2, 2; valid pairs: 3 (E2's text counts), 1 (E3 empty), 1 (E1 done)
    assert cov["per_step"] == pytest.approx([1.0, 0.5, 0.5])
    assert cov["n_per_step"] == [3, 2, 2]
    assert cov["aggregation"] == "pooled"
    assert cov["value"] == pytest.approx(5 / 7)  # Σ valid / Σ student steps
    step_mean = paper["metrics"]["coverage_step_mean"]
    assert step_mean["value"] == pytest.approx((1.0 + 0.5 + 0.5) / 3)
    assert cov["delta"] == pytest.approx(((0.5 - 1) + (0.5 - 1)) / 2)


def test_grade_proximity_and_codebleu_are_means_of_per_step_means(paper):
    gp = paper["metrics"]["grade_proximity"]
    assert gp["per_step"] == pytest.approx([(0.5 + 0.0 + 1.0) / 3, 0.5, 0.6])
    assert gp["value"] == pytest.approx((0.5 + 0.5 + 0.6) / 3)
    assert gp["delta"] == pytest.approx(((0.5 - 0.5) + (0.6 - 0.5)) / 2)
    cb = paper["metrics"]["codebleu"]
    cb1 = (0.4 + 0.1 + 0.8) / 3
    assert cb["per_step"] == pytest.approx([cb1, 0.6, 0.5])
    assert cb["value"] == pytest.approx((cb1 + 0.6 + 0.5) / 3)
    assert cb["delta"] == pytest.approx(((0.6 - cb1) + (0.5 - cb1)) / 2)
    fixed = paper["metrics"]["codebleu_fixed"]  # the bug-fixed total, aggregated the same way
    assert fixed["per_step"] == pytest.approx([(0.3 + 0.1 + 0.8) / 3, 0.6, 0.5])
    assert fixed["value"] == pytest.approx((0.4 + 0.6 + 0.5) / 3)
    assert paper["metrics"]["self_similarity_fixed"]["value"] == pytest.approx(0.9)


def test_step1_view_has_no_survivor_bias(paper):
    assert paper["step1"]["grade_proximity"]["value"] == pytest.approx(0.5)
    assert paper["step1"]["codebleu"]["value"] == pytest.approx(1.3 / 3)
    assert paper["step1"]["coverage"] == {
        "value": 1.0, "ci": [None, None], "n": 3, "unavailable": None,
    }


def test_strict_rule_drops_unfenced_text_that_does_not_parse():
    strict = aggregate(EPISODES, steps=H, validity="strict", bootstrap=0)
    assert strict["validity"] == "strict"
    assert strict["metrics"]["coverage"]["value"] == pytest.approx(4 / 7)
    assert strict["metrics"]["grade_proximity"]["per_step"][0] == pytest.approx(0.75)
    assert strict["metrics"]["codebleu"]["per_step"][0] == pytest.approx(0.6)
    assert E2.steps[0].has_program("paper") and not E2.steps[0].has_program("strict")
    assert not E3.steps[1].has_program("paper")  # empty is never a program


def test_finish_step_agreement(paper):
    assert [finish_category(e) for e in EPISODES] == ["earlier", "later", "censored_neither"]
    finish = paper["behaviour"]["finish"]
    assert finish["episodes"] == 3 and finish["censored"] == 1
    assert finish["agreement"] == pytest.approx(1 / 3)  # same + censored_neither


def test_status_mix_and_its_js_divergence(paper):
    mix = paper["behaviour"]["status_mix"]
    j1, j2, j3 = mix["per_step"]
    assert (j1["n"], j2["n"], j3["n"]) == (3, 2, 2)
    assert {k: v for k, v in j1["learner"].items() if v} == {"failed": 2, "syntax": 1}
    assert {k: v for k, v in j1["student"].items() if v} == {"failed": 2, "passed": 1}
    assert j1["js"] == pytest.approx(1 / 3)
    assert {k: v for k, v in j2["learner"].items() if v} == {"passed": 1, "no_program": 1}
    assert j2["js"] == pytest.approx(1.0)  # disjoint
    assert {k: v for k, v in j3["learner"].items() if v} == {"finished": 1, "failed": 1}
    assert j3["js"] == pytest.approx(0.5)
    # Pooled: learner failed 3, syntax/passed/no_program/finished 1 each; students failed 4,
    # passed 2, runtime 1 (of 7); the mixture m = (p + q) / 2 category by category.
    kl_p = 3 / 7 * math.log2(3 / 3.5) + 3 * (1 / 7) * math.log2(2) + 1 / 7 * math.log2(1 / 1.5)
    kl_q = 4 / 7 * math.log2(4 / 3.5) + 2 / 7 * math.log2(2 / 1.5) + 1 / 7 * math.log2(2)
    assert mix["overall"]["js"] == pytest.approx((kl_p + kl_q) / 2)


def test_attempts_to_solve_distribution(paper):
    attempts = paper["behaviour"]["attempts"]
    assert attempts["learner"] == {"1": 0, "2": 2, "3": 0, "later": 1}
    assert attempts["student"] == {"1": 1, "2": 0, "3": 1, "later": 1}
    assert attempts["js"] == pytest.approx(2 / 3)


def test_js_divergence_by_hand():
    assert js_divergence({"a": 1}, {"b": 1}) == pytest.approx(1.0)
    assert js_divergence({"a": 2, "b": 2}, {"a": 1, "b": 1}) == pytest.approx(0.0)
    # p = (1/2, 1/2), q = (1, 0): m = (3/4, 1/4)
    expected = 0.5 * (0.5 * math.log2(0.5 / 0.75) + 0.5 * math.log2(0.5 / 0.25)) + 0.5 * (
        math.log2(1 / 0.75)
    )
    assert js_divergence({"a": 0.5, "b": 0.5}, {"a": 1.0}) == pytest.approx(expected)
    with pytest.raises(ValueError):
        js_divergence({"a": 0}, {"a": 1})
    with pytest.raises(ValueError):
        js_divergence({"a": -1, "b": 2}, {"a": 1})


def test_bootstrap_intervals_bracket_pooled_coverage_and_per_step_values():
    result = aggregate(EPISODES, steps=H, bootstrap=300, seed=3)
    cov = result["metrics"]["coverage"]
    lo, hi = cov["ci"]
    assert lo <= cov["value"] <= hi
    assert len(cov["per_step_ci"]) == H and all(len(ci) == 2 for ci in cov["per_step_ci"])

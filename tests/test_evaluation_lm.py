"""evaluate() with the tiny offline LM: batched generation end to end, model provenance."""

from __future__ import annotations

import pytest
from test_env_course import tiny_course

from student_gym.evaluation import evaluate
from student_gym.evaluation.episodes import protocol_starts

pytest.importorskip("torch")  # the `train` extra: the tiny LM is a transformers model
pytest.importorskip("transformers")


@pytest.mark.slow
def test_tiny_lm_agent_is_evaluated_with_model_hash(tmp_path):
    from student_gym_agents.lm import LMAgent
    from student_gym_agents.tiny import build_tiny_model

    path = build_tiny_model(tmp_path / "tiny")
    agent = LMAgent(path, max_new_tokens=8, max_prompt_tokens=512, batch_size=4)
    results = evaluate(
        agent, tiny_course(), limit=2, steps=2, out_dir=tmp_path / "run", bootstrap=0
    )
    planned = len(protocol_starts(tiny_course(), limit=2))  # two whole students
    assert results.counts["episodes"] == results.counts["planned_episodes"] == planned
    # a random model's replies are whatever it wrote; they were all graded and paired
    assert results.counts["learner_steps"] >= results.counts["episodes"]
    prov = results.provenance["agent"]
    assert prov["model_name_or_path"] == str(path) and len(prov["model_name_or_path_sha256"]) == 64

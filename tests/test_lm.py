"""The tiny offline Qwen3 builder and the LM learner (batched greedy, truncation, adapters)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from student_gym_agents.lm import LMAgent, quantization_config  # noqa: E402
from student_gym_agents.tiny import STAMP_NAME, TinyModelSpec, build_tiny_model  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("lm")]

SYSTEM = {"role": "system", "content": "You are a student learning Python."}
STATEMENT = {"role": "user", "content": "Write `double(n)` that returns twice `n`."}


def turn(k: int) -> list[dict]:
    program = f"```python\ndef double(n):\n    return n * {k}  # attempt {k}\n```"
    return [{"role": "assistant", "content": program},
            {"role": "user", "content": f"Tests passed: 0/2 (attempt {k})"}]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    torch.set_num_threads(1)
    return build_tiny_model(tmp_path_factory.mktemp("tiny"))


def test_tiny_model_is_a_real_qwen3_with_gpt2_bpe_and_is_cached(tiny: Path) -> None:
    from transformers import AutoConfig, AutoTokenizer

    config = AutoConfig.from_pretrained(tiny)
    tokenizer = AutoTokenizer.from_pretrained(tiny)
    assert config.model_type == "qwen3" and config.hidden_size == 64
    assert config.vocab_size == len(tokenizer) == 50257 + 2  # GPT-2 BPE + <|im_start|>, <|im_end|>
    assert tokenizer.eos_token == "<|im_end|>" and tokenizer.pad_token == "<|endoftext|>"
    assert tokenizer.decode(tokenizer("def f(x):\n    return x")["input_ids"]) == "def f(x):\n    return x"
    assert len(tokenizer("hello world")["input_ids"]) == 2  # real BPE merges, not bytes
    stamp = json.loads((tiny / STAMP_NAME).read_text())
    weights = (tiny / "model.safetensors").stat().st_mtime_ns
    assert build_tiny_model(tiny) == tiny  # same inputs: reused, not rebuilt
    assert (tiny / "model.safetensors").stat().st_mtime_ns == weights
    assert json.loads((tiny / STAMP_NAME).read_text()) == stamp


def test_tiny_model_seed_changes_weights(tiny: Path, tmp_path: Path) -> None:
    from safetensors.torch import load_file

    other = build_tiny_model(tmp_path / "other", seed=1)
    a, b = load_file(str(tiny / "model.safetensors")), load_file(str(other / "model.safetensors"))
    assert a.keys() == b.keys()
    assert not torch.equal(a["model.layers.0.mlp.up_proj.weight"], b["model.layers.0.mlp.up_proj.weight"])


def test_prompt_is_a_token_prefix_of_prompt_plus_reply(tiny: Path) -> None:
    # With thinking off the Qwen3 prompt ends in "</think>\n\n"; the tokenizer must not merge
    # that newline run with the reply's "```", or SFT would train on a context the learner never sees.
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny)
    messages = [SYSTEM, STATEMENT]
    reply = [{"role": "assistant", "content": "```python\ndef double(n):\n    return 2 * n\n```"}]
    prompt = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True,
                                     enable_thinking=False)
    full = tok.apply_chat_template(messages + reply, tokenize=False, enable_thinking=False)
    assert prompt.endswith("<|im_start|>assistant\n<think>\n\n</think>\n\n") and full.startswith(prompt)
    p, f = tok(prompt)["input_ids"], tok(full)["input_ids"]
    assert f[: len(p)] == p


def test_corpus_tokenizer_is_small_and_round_trips(tmp_path: Path) -> None:
    corpus = ["def double(n):\n    return n * 2\n", "Tests passed: 1/2", "print('hi')\n"] * 20
    path = build_tiny_model(tmp_path / "m", spec=TinyModelSpec(corpus_vocab_size=300), corpus=corpus)
    from transformers import AutoConfig, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(path)
    assert AutoConfig.from_pretrained(path).vocab_size == len(tok) <= 300
    text = "def double(n):\n    return n * 2\n"
    assert tok.decode(tok(text)["input_ids"]) == text


def test_agent_truncates_old_turns_but_keeps_system_and_statement(tiny: Path) -> None:
    agent = LMAgent(tiny, max_new_tokens=4, max_prompt_tokens=120)
    dialog = [SYSTEM, STATEMENT] + [m for k in range(1, 9) for m in turn(k)]
    assert agent.count_tokens(dialog) > 120
    prompt = agent.prompt(dialog)
    assert len(agent.tokenizer(prompt)["input_ids"]) <= 120
    assert SYSTEM["content"] in prompt and STATEMENT["content"] in prompt
    assert "attempt 8" in prompt and "attempt 1)" not in prompt  # newest kept, oldest dropped
    # Qwen3 thinking switched off (the template's empty think block), then the prefill fence.
    assert prompt.endswith("<|im_start|>assistant\n<think>\n\n</think>\n\n```python\n")
    assert prompt.count("<think>") == 1


def test_prefill_as_the_paper_ran_it_and_the_switch_that_turns_it_off(tiny: Path) -> None:
    from student_gym.dialogs.replies import parse_reply

    agent = LMAgent(tiny, max_new_tokens=8)
    replies = agent.act([[SYSTEM, STATEMENT]], [{}])
    assert replies[0].startswith("```python\n")  # the env sees the fence the model continued
    generated = replies[0].removeprefix("```python\n")
    assert parse_reply(replies[0]).code == generated.split("\n```")[0].rstrip()
    # A template that did not add the empty think block gets one before the fence.
    assert agent.prefill_text("<|im_start|>assistant\n") == "<think>\n\n</think>\n\n```python\n"
    assert agent.prefill_text("<|im_start|>assistant\n<think>\n\n</think>\n\n") == "```python\n"
    assert agent.provenance()["prefill"] is True

    free = LMAgent(tiny, max_new_tokens=8, prefill=False)
    assert free.prompt([SYSTEM, STATEMENT]).endswith("</think>\n\n")
    assert free.prefill_text("anything") == "" and free.provenance()["prefill"] is False


def test_agent_batches_greedily_in_input_order(tiny: Path) -> None:
    agent = LMAgent(tiny, max_new_tokens=6, batch_size=2)
    observations = [[SYSTEM, STATEMENT], [SYSTEM, STATEMENT, *turn(1)],
                    [SYSTEM, STATEMENT, *turn(1), *turn(2)]]
    batched = agent.act(observations, [{}] * len(observations))
    one_by_one = [agent.act([obs], [{}])[0] for obs in observations]
    # Left padding and sorting by length must not change any reply or its position.
    assert batched == one_by_one
    assert agent.act(observations, [{}] * len(observations)) == batched  # greedy: deterministic


def test_4bit_needs_cuda_and_says_so() -> None:
    assert quantization_config(False) is None
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(RuntimeError, match="CUDA"):
        quantization_config(True)


def test_adapter_dir_must_be_an_adapter(tiny: Path, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="not a peft adapter"):
        LMAgent(tiny, adapter=tmp_path)



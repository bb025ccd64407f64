"""The Hugging Face causal-LM learner: a (LoRA-adapted) chat model acting in StudentProgramming-v0.

``LMAgent.act`` takes a batch of observations (dialogs ending with a user turn) and returns one
reply per observation: each dialog is left-truncated by whole turns to the prompt budget with the
serializer's ``truncate_messages`` (never dropping system + statement), rendered with the model's
chat template with Qwen3 thinking switched off, left-padded and decoded greedily in batches.

Replies are prefilled as the paper ran its learners: the prompt ends with an empty think block
(when the chat template knows thinking and has not added one itself) and an opening
```` ```python ```` fence, so generation starts inside the program. The reply handed to the env
is the fence plus what was generated, parsed by the env's one reply rule. ``prefill=False``
(CLI ``--no-prefill``) lets the model start its reply freely.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from student_gym.dialogs.replies import strip_reasoning
from student_gym.grader import start_server
from student_gym.learners.contract import Info, Observation


def quantization_config(load_in_4bit: bool):
    """Return the bitsandbytes 4-bit (QLoRA) config, or None; fail clearly without CUDA."""
    if not load_in_4bit:
        return None
    import torch

    if not torch.cuda.is_available():
        raise RuntimeError(
            "load_in_4bit=True needs a CUDA GPU (bitsandbytes 4-bit); this machine has none. "
            "Drop the 4-bit flag to run in full precision on CPU."
        )
    try:
        import bitsandbytes  # noqa: F401
    except ImportError as exc:
        raise RuntimeError(
            "load_in_4bit=True needs bitsandbytes: pip install 'student-gym[quant]'"
        ) from exc
    from transformers import BitsAndBytesConfig

    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=torch.bfloat16,
    )


def load_tokenizer(model_name_or_path: str | os.PathLike[str]):
    """Load a tokenizer ready for batched generation: left padding and a pad token."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(model_name_or_path))
    tokenizer.padding_side = "left"  # decoder-only generation continues from the right edge
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


EMPTY_THINK = "<think>\n\n</think>\n\n"
CODE_PREFILL = "```python\n"


class LMAgent:
    """A causal LM (optionally with a LoRA adapter) answering dialogs greedily, in batches.

    Args:
        model_name_or_path: Hub name or local directory of the base model (``tiny``: the
            offline tiny Qwen3 of ``student_gym_agents.tiny``).
        adapter: Optional directory of a peft (LoRA) adapter trained on that base.
        max_new_tokens: Longest reply generated.
        max_prompt_tokens: Prompt budget; longer dialogs lose their oldest whole turns.
        load_in_4bit: Load the base in 4-bit (QLoRA style); needs CUDA and bitsandbytes.
        device: Torch device; CUDA when available, else CPU.
        batch_size: Dialogs generated together.
        enable_thinking: Passed to the chat template; Qwen3 thinking stays off by default.
        name: Label of the agent in results tables.
        prefill: Start every reply with an empty think block and ```` ```python ```` (the
            paper's setting).
    """

    def __init__(
        self,
        model_name_or_path: str | os.PathLike[str],
        adapter: str | os.PathLike[str] | None = None,
        *,
        max_new_tokens: int = 512,
        max_prompt_tokens: int = 3072,
        load_in_4bit: bool = False,
        device: str | None = None,
        batch_size: int = 8,
        enable_thinking: bool = False,
        name: str | None = None,
        prefill: bool = True,
    ) -> None:
        if max_new_tokens < 1 or max_prompt_tokens < 1 or batch_size < 1:
            raise ValueError(
                "max_new_tokens, max_prompt_tokens and batch_size must be positive, got "
                f"{max_new_tokens}, {max_prompt_tokens}, {batch_size}"
            )
        # The grader's fork server starts before the model loads: forking costs ~35 ms per GiB
        # of parent memory, so it is forked while the process is still small.
        start_server()
        import torch
        from transformers import AutoModelForCausalLM

        from student_gym_agents.tiny import resolve_model_name

        self.model_name_or_path = resolve_model_name(model_name_or_path)
        self.adapter = str(adapter) if adapter is not None else None
        self.max_new_tokens = max_new_tokens
        self.max_prompt_tokens = max_prompt_tokens
        self.batch_size = batch_size
        self.enable_thinking = enable_thinking
        self.prefill = prefill
        self.name = name or Path(self.adapter or self.model_name_or_path).name
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))

        self.tokenizer = load_tokenizer(self.model_name_or_path)
        self._thinking_template = "<think>" in str(self.tokenizer.chat_template or "")
        quant = quantization_config(load_in_4bit)
        kwargs: dict[str, Any] = {"dtype": "auto"}
        if quant is not None:
            kwargs.update(quantization_config=quant, device_map={"": self.device.index or 0})
        model = AutoModelForCausalLM.from_pretrained(self.model_name_or_path, **kwargs)
        if self.adapter is not None:
            model = load_adapter(model, self.adapter, merge=quant is None)
        if quant is None:
            model = model.to(self.device)
        self.model = model.eval()

    # -- prompts ---------------------------------------------------------------------------

    def render(self, messages: Sequence[dict]) -> str:
        """Render a dialog as the prompt text the model continues (generation prompt and, when
        prefilling, the empty think block and the opening fence added)."""
        text = self.tokenizer.apply_chat_template(
            [{"role": m["role"], "content": m["content"]} for m in messages],
            tokenize=False,
            add_generation_prompt=True,
            enable_thinking=self.enable_thinking,
        )
        return text + self.prefill_text(text)

    def prefill_text(self, prompt: str) -> str:
        """What is appended to a templated prompt before generation ("" without prefill)."""
        if not self.prefill:
            return ""
        think = ""
        if self._thinking_template and not prompt.rstrip().endswith("</think>"):
            think = EMPTY_THINK
        return think + CODE_PREFILL

    def count_tokens(self, messages: Sequence[dict]) -> int:
        """Number of prompt tokens of a dialog, as the model will see it."""
        return len(self.tokenizer(self.render(messages), add_special_tokens=False)["input_ids"])

    def prompt(self, observation: Sequence[dict]) -> str:
        """Truncate one observation to the prompt budget and render it."""
        from student_gym.dialogs import truncate_messages

        messages = truncate_messages(list(observation), self.count_tokens, self.max_prompt_tokens)
        return self.render(messages)

    # -- acting ----------------------------------------------------------------------------

    def act(self, observations: Sequence[Observation], infos: Sequence[Info]) -> list[str]:
        """Return one greedy reply per observation (a dialog ending with a user turn)."""
        import torch

        prompts = [self.prompt(obs) for obs in observations]
        # Similar lengths batched together waste less padding; replies go back in input order.
        order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
        replies: list[str] = [""] * len(prompts)
        for start in range(0, len(order), self.batch_size):
            chunk = order[start : start + self.batch_size]
            batch = self.tokenizer(
                [prompts[i] for i in chunk],
                return_tensors="pt",
                padding=True,
                add_special_tokens=False,
            ).to(self.device)
            with torch.inference_mode():
                output = self.model.generate(
                    **batch,
                    do_sample=False,
                    max_new_tokens=self.max_new_tokens,
                    pad_token_id=self.tokenizer.pad_token_id,
                    eos_token_id=self.tokenizer.eos_token_id,
                )
            new_tokens = output[:, batch["input_ids"].shape[1] :]
            texts = self.tokenizer.batch_decode(new_tokens, skip_special_tokens=True)
            for i, text in zip(chunk, texts, strict=True):
                # The reply parser's own rule removes reasoning; with the prefill the program's
                # first line starts right after the fence, so its indent is kept (no strip).
                text = strip_reasoning(text)
                replies[i] = CODE_PREFILL + text if self.prefill else text.strip()
        return replies

    def reset(self) -> None:
        """Nothing to reset: the learner is stateless between dialogs."""

    def provenance(self) -> dict[str, Any]:
        """Decoding settings that change results (for the results file)."""
        return {
            "prefill": self.prefill,
            "enable_thinking": self.enable_thinking,
            "max_new_tokens": self.max_new_tokens,
            "max_prompt_tokens": self.max_prompt_tokens,
        }


def load_adapter(model, adapter: str | os.PathLike[str], *, merge: bool):
    """Attach a peft adapter (after the adapters its lineage says were merged under it).

    A DPO/DAPO adapter was trained on base + merged SFT adapter; ``adapter_stack`` lists that
    SFT adapter first, so the learner sees the very model that was trained. Every adapter but
    the last is merged; the last is merged too when ``merge`` (faster generation).
    """
    from peft import PeftModel

    from student_gym_agents.training.model_loading import adapter_stack, is_adapter_dir

    stack = adapter_stack(adapter)
    for i, path in enumerate(stack):
        if not is_adapter_dir(path):
            raise FileNotFoundError(f"{path} is not a peft adapter directory (no adapter_config.json)")
        model = PeftModel.from_pretrained(model, path)
        if merge or i < len(stack) - 1:
            model = model.merge_and_unload()
    return model

"""ApiAgent: a learner behind any OpenAI-compatible chat-completions endpoint.

The GPT-5-mini baseline (``base_url=None``, the OpenAI API) or a local vLLM / llama.cpp server
(``base_url="http://127.0.0.1:8000/v1"``). Two safeguards:

* **Course data stays local unless you say otherwise.** Dialogs hold assignment statements and
  real students' programs; the agent refuses to be built unless ``allow_course_data=True``
  (CLI: ``--allow-remote-course-data``).
* **A cost cap.** ``max_total_tokens`` and/or ``max_cost_usd`` (with per-million-token prices)
  bound a run. The cap is checked before every request; once it is reached ``act`` raises
  :class:`CostCapExceeded`, which the evaluation treats as a clean stop (finished episodes are
  kept and the run can be resumed with a higher cap). Requests already in flight in one batch
  may overshoot the cap by at most that batch.

A chat endpoint cannot be prefilled the way local learners are (an empty think block and an
opening ```` ```python ```` fence), so the system message gets :data:`FORMAT_INSTRUCTIONS`
asking for the same shape; replies are parsed by the env's one rule, like every learner's.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any

from student_gym.learners.contract import Info, Observation, StopEvaluation

FORMAT_INSTRUCTIONS = (
    "Format: reply with the program only. Start your reply with ```python on its own line, end "
    "it with the closing ``` fence, and write no explanation before or after the code."
)


class CostCapExceeded(StopEvaluation):
    """The run's token or dollar budget is spent."""


class CourseDataRefused(PermissionError):
    """Sending course data to a remote endpoint was not explicitly allowed."""


@dataclass
class Usage:
    """What the run has spent so far."""

    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


def approx_tokens(messages: Sequence[Mapping[str, str]]) -> int:
    """A tokenizer-free estimate (4 characters a token, plus a few per message)."""
    return sum(len(m["content"]) // 4 + 4 for m in messages)


class ApiAgent:
    """Greedy chat-completions learner with a cost cap.

    Args:
        model: the served model name ("gpt-5-mini", "Qwen/Qwen3-4B-Instruct-2507", ...).
        base_url: the endpoint (None: the OpenAI API, or ``OPENAI_BASE_URL``).
        api_key: the key (None: ``OPENAI_API_KEY``; local servers accept any string).
        allow_course_data: must be True: the dialogs sent contain course data.
        max_total_tokens: stop once prompt + completion tokens reach this.
        max_cost_usd: stop once the cost reaches this (needs the two prices).
        input_price_per_million: USD per million prompt tokens.
        output_price_per_million: USD per million completion tokens.
        max_new_tokens: ``max_completion_tokens`` of each request.
        temperature: 0.0 for greedy decoding; None to leave it out (GPT-5-mini accepts only
            its default).
        max_prompt_tokens: left-truncate dialogs by whole turns to about this many tokens.
        concurrency: requests in flight at once.
        timeout: seconds per request.
        name: the label in results tables (default ``api:<model>``).
        client: an ``openai.OpenAI`` client to use instead of building one.
        format_instructions: append :data:`FORMAT_INSTRUCTIONS` to the system message (the
            stand-in for the local learners' prefill).
    """

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        allow_course_data: bool = False,
        max_total_tokens: int | None = None,
        max_cost_usd: float | None = None,
        input_price_per_million: float = 0.0,
        output_price_per_million: float = 0.0,
        max_new_tokens: int = 1024,
        temperature: float | None = 0.0,
        max_prompt_tokens: int | None = None,
        concurrency: int = 4,
        timeout: float = 120.0,
        name: str | None = None,
        client: Any = None,
        format_instructions: bool = True,
    ) -> None:
        where = base_url or "the OpenAI API"
        if not allow_course_data:
            raise CourseDataRefused(
                f"ApiAgent({model!r}) would send course data (assignment statements and real "
                f"students' programs) to {where}; pass allow_course_data=True "
                "(CLI: --allow-remote-course-data) to allow it"
            )
        if max_cost_usd is not None and not (input_price_per_million or output_price_per_million):
            raise ValueError("ApiAgent: max_cost_usd needs input/output prices per million tokens")
        self.model = model
        self.base_url = base_url
        self.max_total_tokens = max_total_tokens
        self.max_cost_usd = max_cost_usd
        self.prices = (float(input_price_per_million), float(output_price_per_million))
        self.max_new_tokens = max_new_tokens
        self.temperature = temperature
        self.max_prompt_tokens = max_prompt_tokens
        self.concurrency = max(1, concurrency)
        self.name = name or f"api:{model}"
        self.format_instructions = format_instructions
        self.usage = Usage()
        self._lock = threading.Lock()
        if client is None:
            from openai import OpenAI

            client = OpenAI(base_url=base_url, api_key=api_key or _env_key(), timeout=timeout)
        self.client = client

    # -- budget ----------------------------------------------------------------------------

    def _check_budget(self) -> None:
        u = self.usage
        if self.max_total_tokens is not None and u.total_tokens >= self.max_total_tokens:
            raise CostCapExceeded(
                f"token cap reached: {u.total_tokens} >= {self.max_total_tokens} tokens "
                f"after {u.requests} requests"
            )
        if self.max_cost_usd is not None and u.cost_usd >= self.max_cost_usd:
            raise CostCapExceeded(
                f"cost cap reached: ${u.cost_usd:.4f} >= ${self.max_cost_usd:.4f} "
                f"after {u.requests} requests"
            )

    def _record(self, usage: Any) -> None:
        prompt = int(getattr(usage, "prompt_tokens", 0) or 0)
        completion = int(getattr(usage, "completion_tokens", 0) or 0)
        with self._lock:
            self.usage.requests += 1
            self.usage.prompt_tokens += prompt
            self.usage.completion_tokens += completion
            self.usage.cost_usd += (prompt * self.prices[0] + completion * self.prices[1]) / 1e6

    # -- acting ----------------------------------------------------------------------------

    def _messages(self, observation: Sequence[Mapping[str, str]]) -> list[dict[str, str]]:
        messages = [{"role": m["role"], "content": m["content"]} for m in observation]
        if self.format_instructions:
            if messages and messages[0]["role"] == "system":
                messages[0]["content"] += "\n\n" + FORMAT_INSTRUCTIONS
            else:
                messages.insert(0, {"role": "system", "content": FORMAT_INSTRUCTIONS})
        if self.max_prompt_tokens is not None:
            from student_gym.dialogs import truncate_messages

            messages = truncate_messages(messages, approx_tokens, self.max_prompt_tokens)
        return messages

    def _complete(self, observation: Sequence[Mapping[str, str]]) -> str:
        with self._lock:
            self._check_budget()
        kwargs: dict[str, Any] = {
            "model": self.model,
            "messages": self._messages(observation),
            "max_completion_tokens": self.max_new_tokens,
        }
        if self.temperature is not None:
            kwargs["temperature"] = self.temperature
        response = self.client.chat.completions.create(**kwargs)
        self._record(response.usage)
        content = response.choices[0].message.content if response.choices else None
        return content or ""

    def act(self, observations: Sequence[Observation], infos: Sequence[Info]) -> list[str]:
        """One reply per dialog, ``concurrency`` requests at a time, in input order.

        Raises:
            CostCapExceeded: the budget was spent before or during this batch.
        """
        with self._lock:
            self._check_budget()
        if self.concurrency == 1 or len(observations) == 1:
            return [self._complete(obs) for obs in observations]
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            return list(pool.map(self._complete, observations))

    def reset(self) -> None:
        """Stateless between dialogs (the usage counter spans the run)."""

    def provenance(self) -> dict[str, Any]:
        """Model, endpoint, decoding settings and what was spent (for the results file)."""
        return {
            "model": self.model,
            "base_url": self.base_url,
            "temperature": self.temperature,
            "max_new_tokens": self.max_new_tokens,
            "format_instructions": self.format_instructions,
            "usage": asdict(self.usage),
        }


def _env_key() -> str:
    import os

    # Local OpenAI-compatible servers need some key string; the real API needs the real one.
    return os.environ.get("OPENAI_API_KEY") or "EMPTY"

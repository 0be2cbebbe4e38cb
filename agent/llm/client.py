"""The LLM client: Chat Completions only (every OpenAI-compatible server speaks it).

One layer owns retries: the openai client is built with max_retries=0 and `LLMClient` retries
429 / 408 / 409 / 5xx / timeouts / connection errors / malformed bodies with exponential backoff
and seedable jitter. 400/401/403/404 are never retried: they will not get better by waiting.

Every call is charged to a per-run `Budget` BEFORE it is sent (tokens counted locally), and what
the server reports is recorded per stage in a `UsageAccount` for the report JSON.
"""

from __future__ import annotations

import json
import logging
import random
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

import openai
from openai.types.chat import ChatCompletion
from pydantic import BaseModel, Field, ValidationError

from agent.llm.config import LLMConfig, build_openai_client
from agent.llm.errors import (
    BudgetExceeded,
    LLMConfigError,
    LLMError,
    StructuredOutputError,
)
from agent.llm.retry import MalformedResponse, classify, translate
from agent.llm.usage import (
    Budget,
    UsageAccount,
    count_message_tokens,
    count_text_tokens,
)
from agent.llm.tracing import NoopTracer, Tracer

__all__ = [
    "Budget",
    "BudgetExceeded",
    "ChatResult",
    "LLMClient",
    "LLMConfig",
    "LLMConfigError",
    "LLMError",
    "StructuredOutputError",
    "ToolCall",
    "UsageAccount",
    "build_openai_client",
    "tool_result_message",
]

log = logging.getLogger("postmortem.llm")

Message = Mapping[str, Any]
T = TypeVar("T", bound=BaseModel)

# -- results -------------------------------------------------------------------------------------
class ToolCall(BaseModel):
    id: str
    name: str
    raw_arguments: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    # Set when the model's arguments are not a JSON object; hand it back to the model as the result.
    error: str | None = None


class ChatResult(BaseModel):
    content: str | None = None
    tool_calls: list[ToolCall] = Field(default_factory=list)
    finish_reason: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0

    def assistant_message(self) -> dict[str, Any]:
        """The message to append to the conversation before the tool results."""
        msg: dict[str, Any] = {"role": "assistant", "content": self.content}
        if self.tool_calls:
            msg["tool_calls"] = [
                {
                    "id": c.id,
                    "type": "function",
                    "function": {"name": c.name, "arguments": c.raw_arguments},
                }
                for c in self.tool_calls
            ]
        return msg


def tool_result_message(call_id: str, content: str) -> dict[str, Any]:
    return {"role": "tool", "tool_call_id": call_id, "content": content}


# -- helpers -------------------------------------------------------------------------------------
def _strict_schema(schema: type[BaseModel]) -> dict[str, Any] | None:
    """The model's JSON schema in the strict form structured outputs require, if convertible."""
    try:
        from openai.lib._pydantic import to_strict_json_schema

        return to_strict_json_schema(schema)
    except (TypeError, ValueError, KeyError, AssertionError) as exc:
        # An unconvertible schema only means this call uses JSON mode instead.
        log.debug("schema %s not convertible to strict form: %s", schema.__name__, exc)
        return None


def _schema_name(schema: type[BaseModel]) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", schema.__name__)[:64] or "Output"


_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL)


def _strip_fences(text: str) -> str:
    m = _FENCE.match(text)
    return m.group(1) if m else text.strip()


def _validation_summary(err: ValidationError | ValueError) -> str:
    if isinstance(err, ValidationError):
        parts = [
            f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}" for e in err.errors()
        ]
        more = f" (+{len(parts) - 15} more)" if len(parts) > 15 else ""
        return "; ".join(parts[:15]) + more
    return f"not valid JSON: {err}"


# -- the client ----------------------------------------------------------------------------------
class LLMClient:
    """Structured output, tool-calling rounds and streaming, with retries, budget and usage."""

    def __init__(
        self,
        config: LLMConfig,
        *,
        tracer: Tracer | None = None,
        client: openai.OpenAI | None = None,
        budget: Budget | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config
        self.tracer: Tracer = tracer or NoopTracer()
        self._client = client or build_openai_client(config)
        self.budget = budget or Budget(config.max_calls, config.max_input_tokens)
        self.usage = UsageAccount(model=config.model, prices=config.prices)
        self._sleep = sleep
        self._rng = random.Random(config.jitter_seed)
        # Flipped off for the rest of the run once a server rejects json_schema response_format.
        self.json_schema_supported = True

    def usage_dict(self) -> dict[str, Any]:
        """Usage per stage + totals + budget, for Report.usage."""
        return self.usage.as_dict(self.budget)

    # -- public calls ----------------------------------------------------------------------------
    def structured(self, messages: Sequence[Message], schema: type[T], *, stage: str) -> T:
        """Ask for an answer that validates against `schema`.

        Tries strict json_schema first; a server that rejects it (400/422) is asked again in JSON
        mode with the schema in the prompt. An answer that does not validate is re-asked ONCE with
        the validation error; a second failure raises StructuredOutputError.
        """
        msgs = [dict(m) for m in messages]
        strict = _strict_schema(schema) if self.json_schema_supported else None
        completion: ChatCompletion | None = None
        if strict is not None:
            response_format = {
                "type": "json_schema",
                "json_schema": {"name": _schema_name(schema), "schema": strict, "strict": True},
            }
            try:
                completion = self._complete(stage, msgs, response_format=response_format)
            except LLMError as exc:
                if exc.status not in (400, 422):
                    raise
                log.info(
                    "server rejected json_schema response_format (%s); using JSON mode: %s",
                    exc.status,
                    exc,
                )
                self.json_schema_supported = False
        if completion is None:
            msgs = self._with_json_instruction(msgs, schema)
            completion = self._complete(stage, msgs, response_format={"type": "json_object"})
            response_format = {"type": "json_object"}

        content = self._content(completion)
        try:
            return schema.model_validate_json(_strip_fences(content))
        except (ValidationError, ValueError) as err:
            problem = _validation_summary(err)
        log.info("stage %s: answer did not validate (%s); re-asking once", stage, problem)
        msgs = [
            *msgs,
            {"role": "assistant", "content": content},
            {
                "role": "user",
                "content": (
                    f"Your previous reply did not validate against the {schema.__name__} schema: "
                    f"{problem}. Reply again with only the corrected JSON object."
                ),
            },
        ]
        retry = self._complete(stage, msgs, response_format=response_format)
        content = self._content(retry)
        try:
            return schema.model_validate_json(_strip_fences(content))
        except (ValidationError, ValueError) as err:
            raise StructuredOutputError(
                f"Stage '{stage}': the model's answer still did not match {schema.__name__} after "
                f"one re-ask ({_validation_summary(err)}). Try a stronger model "
                "(POSTMORTEM_MODEL) or run with the offline engine.",
                last_content=content,
            ) from None

    def chat(
        self,
        messages: Sequence[Message],
        tools: Sequence[Mapping[str, Any]] | None = None,
        *,
        stage: str,
        tool_choice: str | Mapping[str, Any] | None = None,
    ) -> ChatResult:
        """One round: the model answers with text and/or tool calls (OpenAI tool dicts)."""
        extra: dict[str, Any] = {}
        if tools:
            extra["tools"] = list(tools)
            if tool_choice is not None:
                extra["tool_choice"] = tool_choice
        completion = self._complete(stage, [dict(m) for m in messages], **extra)
        choice = completion.choices[0]
        calls: list[ToolCall] = []
        for call in choice.message.tool_calls or []:
            fn = getattr(call, "function", None)
            if fn is None:  # custom (non-function) tools are not used here
                continue
            raw = fn.arguments or ""
            try:
                args = json.loads(raw) if raw.strip() else {}
                error = None if isinstance(args, dict) else "arguments are not a JSON object"
            except ValueError as exc:
                args, error = {}, f"arguments are not valid JSON: {exc}"
            calls.append(
                ToolCall(
                    id=call.id,
                    name=fn.name,
                    raw_arguments=raw,
                    arguments=args if isinstance(args, dict) else {},
                    error=error,
                )
            )
        usage = completion.usage
        return ChatResult(
            content=choice.message.content,
            tool_calls=calls,
            finish_reason=choice.finish_reason,
            input_tokens=usage.prompt_tokens if usage else 0,
            output_tokens=usage.completion_tokens if usage else 0,
        )

    def stream(self, messages: Sequence[Message], *, stage: str) -> Iterator[str]:
        """Yield text deltas as they arrive.

        Failures before the first delta are retried like any call; once text has been yielded a
        failure raises (a retry would repeat text the caller already showed).
        """
        msgs = [dict(m) for m in messages]
        input_estimate = count_message_tokens(msgs)
        self.budget.charge(input_estimate, stage=stage)
        request = self._request(msgs)
        request["stream"] = True
        if self.config.stream_usage:
            request["stream_options"] = {"include_usage": True}
        started = time.monotonic()
        attempt = 0
        while True:
            pieces: list[str] = []
            reported: Any = None
            try:
                for chunk in self._client.chat.completions.create(**request):
                    if getattr(chunk, "usage", None):
                        reported = chunk.usage
                    for choice in chunk.choices or []:
                        text = choice.delta.content if choice.delta else None
                        if text:
                            pieces.append(text)
                            yield text
                break
            except (openai.APIError, ValueError) as exc:
                if pieces:
                    self.usage.record_failure(stage, time.monotonic() - started)
                    raise LLMError(
                        f"Stage '{stage}': the stream from {self.config.endpoint} broke off after "
                        f"{len(pieces)} chunks ({exc}). Run the stage again.",
                        kind="stream_interrupted",
                    ) from None
                attempt = self._retry_or_raise(exc, stage, attempt, started)
        text = "".join(pieces)
        if reported is not None:
            in_tok, out_tok, estimated = reported.prompt_tokens, reported.completion_tokens, False
        else:
            in_tok, out_tok, estimated = input_estimate, count_text_tokens(text), True
        self._account(stage, msgs, text, in_tok, out_tok, started, estimated)

    # -- internals -------------------------------------------------------------------------------
    def _with_json_instruction(
        self, msgs: list[dict[str, Any]], schema: type[BaseModel]
    ) -> list[dict[str, Any]]:
        instruction = (
            "Answer with exactly one JSON object and nothing else (no prose, no code fences). "
            f"It must validate against this JSON schema:\n{json.dumps(schema.model_json_schema())}"
        )
        out = [dict(m) for m in msgs]
        if out and out[0].get("role") == "system" and isinstance(out[0].get("content"), str):
            out[0]["content"] = f"{out[0]['content']}\n\n{instruction}"
        else:
            out.insert(0, {"role": "system", "content": instruction})
        return out

    def _request(self, msgs: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
        request: dict[str, Any] = {"model": self.config.model, "messages": msgs, **extra}
        if self.config.temperature is not None:
            request["temperature"] = self.config.temperature
        if self.config.max_output_tokens is not None:
            request["max_completion_tokens"] = self.config.max_output_tokens
        return request

    def _content(self, completion: ChatCompletion) -> str:
        message = completion.choices[0].message
        if getattr(message, "refusal", None):
            raise LLMError(f"The model refused the request: {message.refusal}", kind="refusal")
        return message.content or ""

    def _complete(self, stage: str, msgs: list[dict[str, Any]], **extra: Any) -> ChatCompletion:
        """One logical call: budget charge, retries, usage and tracing."""
        input_estimate = count_message_tokens(
            msgs, {k: v for k, v in extra.items() if k in ("tools", "response_format")} or None
        )
        self.budget.charge(input_estimate, stage=stage)
        request = self._request(msgs, **extra)
        started = time.monotonic()
        attempt = 0
        while True:
            try:
                completion = self._client.chat.completions.create(**request)
                if not isinstance(completion, ChatCompletion) or not completion.choices:
                    raise MalformedResponse("response has no choices")
                break
            except (openai.APIError, MalformedResponse, ValueError) as exc:
                attempt = self._retry_or_raise(exc, stage, attempt, started)
        usage = completion.usage
        message = completion.choices[0].message
        output: Any = message.content
        if message.tool_calls:
            output = {"content": message.content, "tool_calls": [c.model_dump() for c in message.tool_calls]}
        if usage is not None:
            in_tok, out_tok, estimated = usage.prompt_tokens, usage.completion_tokens, False
        else:
            out_text = message.content or json.dumps(output, default=str)
            in_tok, out_tok, estimated = input_estimate, count_text_tokens(out_text), True
        self._account(stage, msgs, output, in_tok, out_tok, started, estimated)
        return completion

    def _account(
        self,
        stage: str,
        msgs: list[dict[str, Any]],
        output: Any,
        in_tok: int,
        out_tok: int,
        started: float,
        estimated: bool,
    ) -> None:
        latency = time.monotonic() - started
        cost = self.usage.record(
            stage, input_tokens=in_tok, output_tokens=out_tok, latency_s=latency, estimated=estimated
        )
        self.tracer.generation(
            stage,
            self.config.model,
            msgs,
            output,
            {"input": in_tok, "output": out_tok, "cost_usd": cost, "latency_s": latency},
        )

    def _retry_or_raise(self, exc: Exception, stage: str, attempt: int, started: float) -> int:
        """Sleep and return the next attempt number, or raise a user-facing LLMError."""
        retryable, retry_after = classify(exc)
        if not retryable or attempt >= self.config.max_retries:
            self.usage.record_failure(stage, time.monotonic() - started)
            raise translate(exc, self.config, attempts=attempt + 1) from None
        delay = self._backoff(attempt)
        if retry_after is not None:
            delay = min(retry_after, self.config.retry_after_cap_s)
        log.info(
            "stage %s: %s; retry %d/%d in %.2fs",
            stage,
            type(exc).__name__,
            attempt + 1,
            self.config.max_retries,
            delay,
        )
        self.usage.record_retry(stage)
        self._sleep(delay)
        return attempt + 1

    def _backoff(self, attempt: int) -> float:
        # "Equal jitter": half the exponential delay fixed, half random, so retries spread out.
        ceiling = min(self.config.backoff_max_s, self.config.backoff_base_s * (2.0**attempt))
        return ceiling / 2 + self._rng.uniform(0, ceiling / 2)

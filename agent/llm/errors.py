"""Errors the LLM layer raises. Every message tells the user what to do next."""

from __future__ import annotations

from typing import Literal

ErrorKind = Literal[
    "config",
    "auth",
    "permission",
    "not_found",
    "bad_request",
    "rate_limited",
    "server_error",
    "timeout",
    "unreachable",
    "malformed",
    "structured_output",
    "refusal",
    "stream_interrupted",
    "budget",
]


class LLMError(RuntimeError):
    """A failure talking to the model. `kind` lets callers decide (e.g. fall back to offline)."""

    def __init__(self, message: str, *, kind: ErrorKind, status: int | None = None) -> None:
        super().__init__(message)
        self.kind: ErrorKind = kind
        self.status = status


class LLMConfigError(LLMError):
    def __init__(self, message: str) -> None:
        super().__init__(message, kind="config")


class StructuredOutputError(LLMError):
    """The model's answer did not validate against the schema, even after one re-ask."""

    def __init__(self, message: str, *, last_content: str = "") -> None:
        super().__init__(message, kind="structured_output")
        self.last_content = last_content


class BudgetExceeded(LLMError):
    """The run's LLM budget (calls or input tokens) would be exceeded by the next call."""

    def __init__(self, message: str) -> None:
        super().__init__(message, kind="budget")

"""Which failures are worth retrying, and how each failure is explained to the user."""

from __future__ import annotations

import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime

import openai

from agent.llm.config import LLMConfig
from agent.llm.errors import LLMError

__all__ = ["RETRY_STATUSES", "MalformedResponse", "classify", "retry_after_s", "translate"]

RETRY_STATUSES = frozenset({408, 409, 429})


class MalformedResponse(Exception):
    """A 200 whose body is not a usable chat completion (retryable)."""


def retry_after_s(exc: openai.APIStatusError) -> float | None:
    headers = exc.response.headers
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return float(ms) / 1000
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError:
        try:
            return max(0.0, parsedate_to_datetime(raw).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


def status_message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, Mapping):
        inner = body.get("error", body)
        if isinstance(inner, Mapping) and inner.get("message"):
            return str(inner["message"])
        if isinstance(inner, str):
            return inner
    return str(exc.message)


def classify(exc: Exception) -> tuple[bool, float | None]:
    """(retryable, seconds the server asked us to wait)."""
    if isinstance(exc, openai.APIStatusError):
        code = exc.status_code
        if code in RETRY_STATUSES or code >= 500:
            return True, retry_after_s(exc)
        return False, None
    if isinstance(exc, (openai.APIConnectionError, openai.APIResponseValidationError)):
        return True, None  # includes APITimeoutError
    if isinstance(exc, (MalformedResponse, ValueError)):
        return True, None  # a body that is not JSON / not a completion
    return False, None


def translate(exc: Exception, config: LLMConfig, *, attempts: int) -> LLMError:
    """A user-facing error that says what to do next; never includes the key."""
    cfg = config
    where = cfg.endpoint
    tries = f"after {attempts} attempt{'s' if attempts != 1 else ''}"
    if isinstance(exc, openai.APIStatusError):
        code, detail = exc.status_code, status_message(exc)
        if code == 401:
            return LLMError(
                f"The LLM server at {where} rejected the API key (401: {detail}). Check "
                "OPENAI_API_KEY (or AZURE_OPENAI_API_KEY), or unset it to use the offline "
                "engine.",
                kind="auth",
                status=code,
            )
        if code == 403:
            return LLMError(
                f"The API key may not use model '{cfg.model}' at {where} (403: {detail}). "
                "Check the key's permissions or choose another model with POSTMORTEM_MODEL.",
                kind="permission",
                status=code,
            )
        if code == 404:
            return LLMError(
                f"Model '{cfg.model}' was not found at {where} (404: {detail}). Set "
                "POSTMORTEM_MODEL to a model this server serves (for Azure: the deployment "
                "name) and check that OPENAI_BASE_URL includes the API prefix, e.g. /v1.",
                kind="not_found",
                status=code,
            )
        if code == 429:
            return LLMError(
                f"The LLM server at {where} kept rate-limiting requests (429) {tries}: "
                f"{detail}. Wait and retry, or raise POSTMORTEM_LLM_MAX_RETRIES.",
                kind="rate_limited",
                status=code,
            )
        if code >= 500 or code in RETRY_STATUSES:
            return LLMError(
                f"The LLM server at {where} kept failing (HTTP {code}) {tries}: {detail}. "
                "Try again later or use the offline engine.",
                kind="server_error",
                status=code,
            )
        return LLMError(
            f"The LLM server at {where} rejected the request (HTTP {code}): {detail}.",
            kind="bad_request",
            status=code,
        )
    if isinstance(exc, openai.APITimeoutError):
        return LLMError(
            f"The LLM server at {where} did not answer within {cfg.timeout_s:g}s {tries}. "
            "Raise POSTMORTEM_LLM_TIMEOUT or check the server's load.",
            kind="timeout",
        )
    if isinstance(exc, openai.APIConnectionError):
        return LLMError(
            f"Could not reach the LLM server at {where} {tries} ({exc.__cause__ or exc}). "
            "Check OPENAI_BASE_URL (or AZURE_OPENAI_ENDPOINT) and that the server is running.",
            kind="unreachable",
        )
    return LLMError(
        f"The LLM server at {where} returned bodies that are not valid chat completions "
        f"{tries} ({exc}). Check that OPENAI_BASE_URL points at an OpenAI-compatible API.",
        kind="malformed",
    )

"""The one configuration object: read once from the environment (here, and nowhere else) and the
command-line flags, then passed down: in the LangGraph runtime context for the graph, as a parameter
elsewhere. Variable names and defaults are the ones the README documents.

Only the engine's test hooks (`POSTMORTEM_FAULT_BEFORE_STAGE` in agent/graph.py and the ingest
worker fault in tools/ingest_units.py) and the child-process environment built by
evals/render/git_repo.py read `os.environ` elsewhere. tools/tokens.py writes TIKTOKEN_CACHE_DIR
(from `tokenizer_cache`), because tiktoken takes its cache folder from nowhere else.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from agent.llm.config import LLMConfig
from agent.llm.errors import LLMConfigError
from agent.llm.tracing import LangfuseKeys
from tools.workdir_lock import DEFAULT_WAIT_S

__all__ = ["ConfigError", "DEFAULT_WORKDIR", "EngineChoice", "Settings"]

log = logging.getLogger("postmortem.config")

DEFAULT_WORKDIR = Path(".postmortem")
EngineChoice = Literal["auto", "offline", "openai"]


class ConfigError(ValueError):
    """An environment variable holds a value we cannot use; the message names it and the fix."""


class Settings(BaseModel):
    """Everything a run may be configured with. Per-run facts that must survive a resume (the dump,
    the postmortem date, the names opt-in) live in the checkpointed `RunOptions` instead."""

    model_config = ConfigDict(frozen=True)

    # -- command-line flags --------------------------------------------------------------------
    workdir: Path = DEFAULT_WORKDIR
    llm: EngineChoice = "auto"
    max_repairs: int = 2  # validator repair rounds before emitting with findings
    strict: bool = False  # fail instead of emitting a report with unresolved findings
    # -- environment ---------------------------------------------------------------------------
    llm_config: LLMConfig = Field(default_factory=LLMConfig)  # how to reach the LLM, the draft's budget
    langfuse: LangfuseKeys | None = None  # None: no tracing
    chat_max_calls: int = 30  # POSTMORTEM_CHAT_MAX_CALLS
    chat_max_input_tokens: int = 200_000  # POSTMORTEM_CHAT_MAX_INPUT_TOKENS
    ingest_workers: int | None = None  # POSTMORTEM_INGEST_WORKERS; None: one per core, at most 8
    lock_wait_s: float = DEFAULT_WAIT_S  # POSTMORTEM_LOCK_WAIT_S
    db: str | None = None  # POSTMORTEM_DB; None: a file in the user data folder
    pager: str = "less"  # PAGER; "cat" turns paging of long Markdown in `chat` off
    # TIKTOKEN_CACHE_DIR, else XDG_CACHE_HOME/postmortem-lead/tiktoken; None: no copy of the
    # tokenizer's BPE file (TIKTOKEN_CACHE_DIR="" turns tiktoken's cache off, and ours with it)
    tokenizer_cache: Path | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **flags: Any) -> Settings:
        """Read the environment (`env` in tests) once; `flags` are command-line values on top."""
        e = os.environ if env is None else env
        return cls(llm_config=_llm_config(e), langfuse=_langfuse(e), **_chat_budget(e),
                   ingest_workers=_workers(e), lock_wait_s=_lock_wait(e), db=_get(e, "POSTMORTEM_DB"),
                   pager=e.get("PAGER", "less"), tokenizer_cache=_tokenizer_cache(e), **flags)

    def with_flags(self, **flags: Any) -> Settings:
        """A copy with command-line values set (None means: the flag was not given)."""
        return self.model_copy(update={k: v for k, v in flags.items() if v is not None})


def _get(e: Mapping[str, str], name: str) -> str | None:
    value = e.get(name, "").strip()
    return value or None


def _number(e: Mapping[str, str], name: str, default: Any, kind: type[int | float]) -> Any:
    raw = _get(e, name)
    if raw is None:
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise LLMConfigError(f"{name}={raw!r} is not a valid {kind.__name__}; fix or unset it.") from None
    if value < 0:
        raise LLMConfigError(f"{name}={raw!r} must not be negative.")
    return value


def _llm_config(e: Mapping[str, str]) -> LLMConfig:
    azure_endpoint = _get(e, "AZURE_OPENAI_ENDPOINT")
    provider: Literal["openai", "azure"] = "azure" if azure_endpoint else "openai"
    key = _get(e, "AZURE_OPENAI_API_KEY") if provider == "azure" else None
    key = key or _get(e, "OPENAI_API_KEY")
    return LLMConfig(
        provider=provider,
        api_key=SecretStr(key) if key else None,
        base_url=_get(e, "OPENAI_BASE_URL"),
        model=_get(e, "POSTMORTEM_MODEL") or _get(e, "AZURE_OPENAI_DEPLOYMENT") or "gpt-4o-mini",
        azure_endpoint=azure_endpoint,
        api_version=_get(e, "OPENAI_API_VERSION"),
        timeout_s=_number(e, "POSTMORTEM_LLM_TIMEOUT", 60.0, float),
        max_retries=_number(e, "POSTMORTEM_LLM_MAX_RETRIES", 4, int),
        max_calls=_number(e, "POSTMORTEM_MAX_CALLS", 25, int),
        max_input_tokens=_number(e, "POSTMORTEM_MAX_INPUT_TOKENS", 60_000, int),
    )


def _langfuse(e: Mapping[str, str]) -> LangfuseKeys | None:
    """The three Langfuse values when all are set: evidence never goes to a default cloud host."""
    public = e.get("LANGFUSE_PUBLIC_KEY", "").strip()
    secret = e.get("LANGFUSE_SECRET_KEY", "").strip()
    host = (e.get("LANGFUSE_HOST", "") or e.get("LANGFUSE_BASE_URL", "")).strip()
    if public and secret and host:
        return LangfuseKeys(public_key=public, secret_key=SecretStr(secret), host=host.rstrip("/"))
    if public or secret:
        missing = [n for n, v in (("LANGFUSE_PUBLIC_KEY", public), ("LANGFUSE_SECRET_KEY", secret),
                                  ("LANGFUSE_HOST", host)) if not v]
        log.warning("Langfuse tracing is off: %s not set.", ", ".join(missing))
    return None


def _chat_budget(e: Mapping[str, str]) -> dict[str, int]:
    # Lenient, as before: a value that is not a whole number keeps the default.
    def whole(name: str, default: int) -> int:
        raw = e.get(name, "").strip()
        return int(raw) if raw.isdigit() else default

    return {"chat_max_calls": whole("POSTMORTEM_CHAT_MAX_CALLS", 30),
            "chat_max_input_tokens": whole("POSTMORTEM_CHAT_MAX_INPUT_TOKENS", 200_000)}


def _workers(e: Mapping[str, str]) -> int | None:
    raw = e.get("POSTMORTEM_INGEST_WORKERS", "").strip()
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"POSTMORTEM_INGEST_WORKERS must be a whole number, got {raw!r}") from None


def _lock_wait(e: Mapping[str, str]) -> float:
    try:
        return float(e.get("POSTMORTEM_LOCK_WAIT_S", "") or DEFAULT_WAIT_S)
    except ValueError:
        return DEFAULT_WAIT_S


def _tokenizer_cache(e: Mapping[str, str]) -> Path | None:
    chosen = e.get("TIKTOKEN_CACHE_DIR")
    if chosen is not None:
        return Path(chosen) if chosen else None  # "": the user disabled tiktoken's cache
    base = e.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "postmortem-lead" / "tiktoken"

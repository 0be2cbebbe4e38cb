"""Tracing behind a tiny interface, so the graph never needs to know about Langfuse.

    tracer = get_tracer(settings.langfuse)     # Langfuse when configured, else a silent no-op
    with tracer.run("postmortem", {"incident": "INC-1"}):
        with tracer.stage("timeline"):
            tracer.generation("timeline", model, messages, output, {"input": 812, "output": 95})
            tracer.tool("search_evidence", {"q": "OOM"}, "12 hits")
    tracer.flush()

Langfuse is used only when LANGFUSE_PUBLIC_KEY, LANGFUSE_SECRET_KEY and LANGFUSE_HOST (or
LANGFUSE_BASE_URL) are all set: incident evidence is sensitive, so it is never sent to a default
cloud host implicitly. Inputs and outputs handed to the tracer must already be redacted.
Tracing failures never break a run: the tracer logs one warning and turns itself off.
"""

from __future__ import annotations

import contextvars
import logging
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from pydantic import BaseModel, SecretStr

import prompts

log = logging.getLogger("postmortem.tracing")

# Token counts ("input", "output") and "cost_usd" of one LLM call, as the client reports them.
Usage = Mapping[str, float | int]

__all__ = ["LangfuseKeys", "LangfuseTracer", "NoopTracer", "Tracer", "get_tracer"]


class Tracer:
    """The interface, and the no-op implementation: records nothing, sends nothing, logs nothing."""

    enabled: bool = False

    @contextmanager
    def run(self, name: str, metadata: Mapping[str, Any] | None = None) -> Iterator[Tracer]:
        yield self

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        yield

    def generation(self, stage: str, model: str, input: Any, output: Any, usage: Usage) -> None:
        return None

    def tool(self, name: str, input: Any, output: Any) -> None:
        return None

    def flush(self) -> None:
        return None


class NoopTracer(Tracer):
    """Explicit name for the silent tracer."""


class LangfuseKeys(BaseModel):
    """Where traces go; agent.config builds it only when all three values are set."""

    public_key: str
    secret_key: SecretStr
    host: str


def get_tracer(keys: LangfuseKeys | None = None) -> Tracer:
    """Langfuse when `keys` are given (from Settings.langfuse), else the silent no-op."""
    if keys is None:
        return NoopTracer()
    return LangfuseTracer(public_key=keys.public_key, secret_key=keys.secret_key.get_secret_value(),
                          host=keys.host)


_current_stage: contextvars.ContextVar[Any] = contextvars.ContextVar(
    "postmortem_stage_span", default=None
)


class LangfuseTracer(Tracer):
    """One trace per run, a span per stage, generations and tool spans inside their stage."""

    enabled = True

    def __init__(
        self,
        *,
        public_key: str,
        secret_key: str,
        host: str,
        flush_interval_s: float | None = None,
        span_exporter: Any = None,
    ) -> None:
        # Imported here so the no-op path never loads the SDK (or its warnings).
        from langfuse import Langfuse
        from opentelemetry.sdk.trace import TracerProvider

        # A private provider: Langfuse would otherwise install itself as the process-global
        # OpenTelemetry provider and capture unrelated spans.
        self._client = Langfuse(
            public_key=public_key,
            secret_key=secret_key,
            base_url=host,
            tracer_provider=TracerProvider(),
            flush_interval=flush_interval_s,
            span_exporter=span_exporter,
        )
        self._run_span: Any = None
        self._stages: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._failed = False

    # Tracing is an observer: an SDK or exporter failure must never abort a postmortem, so every
    # SDK call goes through here; the first failure is reported once and tracing turns off.
    def _safe(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        if self._failed:
            return None
        try:
            return fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - deliberate isolation boundary, see above
            self._failed = True
            log.warning("Langfuse tracing turned off after an error in %s: %s", what, exc)
            return None

    @contextmanager
    def run(self, name: str, metadata: Mapping[str, Any] | None = None) -> Iterator[Tracer]:
        from langfuse import propagate_attributes

        meta = {"prompt_set": prompts.PROMPT_SET_VERSION, **{str(k): str(v) for k, v in (metadata or {}).items()}}
        cm = self._safe(
            "run",
            self._client.start_as_current_observation,
            name=name,
            as_type="span",
            metadata=meta,
        )
        span = self._safe("run", cm.__enter__) if cm is not None else None
        prop = self._safe("run", propagate_attributes, trace_name=name, metadata=meta)
        if prop is not None:
            self._safe("run", prop.__enter__)
        self._run_span = span
        error: BaseException | None = None
        try:
            yield self
        except BaseException as exc:
            error = exc
            if span is not None:
                self._safe("run", span.update, level="ERROR", status_message=str(exc)[:500])
            raise
        finally:
            self._run_span = None
            exc_info = (type(error), error, error.__traceback__) if error else (None, None, None)
            if prop is not None:
                self._safe("run", prop.__exit__, *exc_info)
            if cm is not None and span is not None:
                self._safe("run", cm.__exit__, *exc_info)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        parent = self._run_span
        if parent is not None:
            span = self._safe("stage", parent.start_observation, name=name, as_type="span")
        else:
            span = self._safe("stage", self._client.start_observation, name=name, as_type="span")
        token = _current_stage.set(span)
        with self._lock:
            self._stages[name] = span
        try:
            yield
        except BaseException as exc:
            if span is not None:
                self._safe("stage", span.update, level="ERROR", status_message=str(exc)[:500])
            raise
        finally:
            _current_stage.reset(token)
            with self._lock:
                self._stages.pop(name, None)
            if span is not None:
                self._safe("stage", span.end)

    def _parent(self, stage: str | None) -> Any:
        with self._lock:
            by_name = self._stages.get(stage) if stage else None
        return by_name or _current_stage.get() or self._run_span

    def _child(self, parent: Any, **kwargs: Any) -> Any:
        if parent is not None:
            return parent.start_observation(**kwargs)
        return self._client.start_observation(**kwargs)

    def generation(self, stage: str, model: str, input: Any, output: Any, usage: Usage) -> None:
        details = {
            k: int(usage[k]) for k in ("input", "output") if isinstance(usage.get(k), (int, float))
        }
        cost = usage.get("cost_usd")
        obs = self._safe(
            "generation",
            self._child,
            self._parent(stage),
            name=f"{stage}.llm",
            as_type="generation",
            model=model,
            input=input,
            output=output,
            usage_details=details,
            cost_details={"total": float(cost)} if cost is not None else None,
            # Every generation names its prompt set: no run span is needed to tell which prompts spoke.
            metadata={"stage": stage, "latency_s": usage.get("latency_s"), "prompt_set": prompts.PROMPT_SET_VERSION},
        )
        if obs is not None:
            self._safe("generation", obs.end)

    def tool(self, name: str, input: Any, output: Any) -> None:
        obs = self._safe(
            "tool",
            self._child,
            self._parent(None),
            name=name,
            as_type="tool",
            input=input,
            output=output,
        )
        if obs is not None:
            self._safe("tool", obs.end)

    def flush(self) -> None:
        self._safe("flush", self._client.flush)

    def shutdown(self) -> None:
        self._safe("shutdown", self._client.shutdown)

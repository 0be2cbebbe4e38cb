"""The LLM engine: the offline engine's facts first, then a model adds what code cannot.

Every stage starts from the offline result, so a failed or over-budget model call costs nothing
but the extra depth: the stage falls back to the offline output and says so in `usage`. What the
model returns is merged under rules — it may add hypotheses, whys and factors that cite existing
evidence, and summary prose; it can never replace the computed timeline, durations, impact or
trigger ranking, and a statement citing no existing evidence is kept only as an [ASSUMPTION].
"""

from __future__ import annotations

import json
import re
from datetime import date
from collections.abc import Iterator
from typing import Any, Literal

from pydantic import BaseModel, Field

import prompts
from agent.engine import OfflineEngine
from agent.llm.client import LLMClient, LLMConfig, tool_result_message
from agent.llm.errors import LLMError
from agent.llm.tracing import NoopTracer, Tracer
from agent.model import (
    Analysis,
    Finding,
    Hypothesis,
    Report,
    Scope,
    TimelineEvent,
    ValidationFinding,
    WhyStep,
    iso_z,
)
from agent.offline.detection import human_duration
from agent.offline.window_facts import WindowFacts
from tools.models import Inventory
from tools.query import TOOLS
from tools.store.reader import EvidenceReader
from tools.tokens import count_tokens, truncate_to_tokens
from tools.untrusted import quote_evidence

MAX_TOOL_STEPS = 4
EVIDENCE_TOKENS = 6000  # quoted evidence per stage prompt
FACTS_TOKENS = 6000
ISO = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2})?Z?")

Status = Literal["confirmed", "likely", "inconclusive", "rejected"]


class LLMHypothesis(BaseModel):
    statement: str
    status: Status
    evidence: list[str] = Field(default_factory=list)


class LLMWhy(BaseModel):
    question: str
    answer: str
    evidence: list[str] = Field(default_factory=list)


class LLMAnalysis(BaseModel):
    """What the analysis stage asks the model for (strict JSON schema)."""

    hypotheses: list[LLMHypothesis]
    five_whys: list[LLMWhy]
    contributing_factors: list[LLMHypothesis]


class LLMNarrative(BaseModel):
    """What synthesis and repair ask for: the prose a reader sees first."""

    summary: list[str]
    went_well: list[str]
    could_improve: list[str]


def tool_specs() -> list[dict[str, Any]]:
    """Chat Completions `tools` for the query tools, schemas from their pydantic inputs."""
    specs = []
    for name, (fn, model) in TOOLS.items():
        doc = (fn.__doc__ or name).strip().splitlines()[0]
        specs.append({"type": "function", "function": {
            "name": name, "description": doc, "parameters": model.model_json_schema()}})
    return specs


def call_tool(store: EvidenceReader, name: str, arguments: dict[str, Any]) -> str:
    """Run one query tool for the model; bad calls come back as text, never as exceptions."""
    if name not in TOOLS:
        return f"[error] unknown tool {name!r}; available: {', '.join(TOOLS)}"
    fn, model = TOOLS[name]
    try:
        inp = model.model_validate(arguments)
    except ValueError as exc:
        return f"[error] invalid arguments for {name}: {str(exc)[:300]}"
    # Tool output is evidence too: delimited as data, whatever it contains.
    return quote_evidence(f"tool:{name}", fn(store, inp).render())


def facts_block(timeline: list[TimelineEvent], a: Analysis) -> str:
    """The code-computed facts as compact JSON (the model must not contradict them)."""
    d = a.detection
    facts = {
        "timeline": [{"t": iso_z(e.timestamp), "category": e.category, "event": e.event, "evidence": e.evidence}
                     for e in timeline],
        "detection": {"detected_by": d.detected_by, "time_to_detect": human_duration(d.time_to_detect_s),
                      "time_to_mitigate": human_duration(d.time_to_mitigate_s),
                      "time_to_resolve": human_duration(d.time_to_resolve_s)},
        "impact": [{"name": m.name, "value": m.value, "unit": m.unit, "evidence": m.evidence} for m in a.impact.metrics],
        "suspected_triggers": [{"ref": t.ref[:12], "summary": t.summary, "score": t.score, "reasons": t.reasons,
                                "evidence": t.evidence} for t in a.suspected_triggers[:3]],
        "failure_modes": a.failure_modes,
        "severity": a.severity, "review_type": a.review_type,
        "root_causes": [f.model_dump() for f in a.root_causes],
        "contributing_factors": [f.model_dump() for f in a.contributing_factors],
        "data_gaps": a.data_gaps,
    }
    return truncate_to_tokens(json.dumps(facts, indent=1, default=str), FACTS_TOKENS)


def evidence_block(store: EvidenceReader, ids: list[str]) -> str:
    """The cited records, quoted as data (instruction-like records are described, not quoted)."""
    parts: list[str] = []
    used = 0
    for ev_id in dict.fromkeys(ids):
        ev = store.get(ev_id)
        if ev is None:
            continue
        text = "(flagged as instruction-like; withheld)" if ev.flags else ev.text[:600]
        q = quote_evidence(ev.id, f"{iso_z(ev.ts) if ev.ts else 'undated'} {ev.kind.value} {text}")
        n = count_tokens(q)
        if used + n > EVIDENCE_TOKENS:
            parts.append(f"[{len(ids) - len(parts)} more cited records left out to stay within budget]")
            break
        parts.append(q)
        used += n
    return "\n".join(parts)


# What the synthesis prompt gets as computed facts, and as the analysis' findings.
_FACT_FIELDS = {"title", "severity", "review_type", "services", "timeline", "detection", "impact",
                "suspected_triggers", "failure_modes", "data_gaps"}
_FINDING_FIELDS = {"root_causes", "contributing_factors", "hypotheses", "five_whys", "action_items"}


def scope_block(scope: Scope) -> str:
    return scope.model_dump_json(include={"title", "services", "window_start", "window_end",
                                          "declared_severity"})


def timeline_block(timeline: list[TimelineEvent]) -> str:
    rows = [f"{iso_z(e.timestamp)} [{e.category}] {e.event} [{', '.join(e.evidence)}]" for e in timeline]
    return truncate_to_tokens("\n".join(rows) or "[DATA GAP] no dated events", FACTS_TOKENS // 2)


class LLMEngine(OfflineEngine):
    name = "openai"

    def __init__(self, config: LLMConfig, client: LLMClient | None = None, *,
                 tracer: Tracer | None = None) -> None:
        self.config = config
        self.tracer = tracer or NoopTracer()
        self.client = client or LLMClient(config, tracer=self.tracer)
        self.fallbacks: list[str] = []
        self.tool_calls = 0
        self.prompts_used: dict[str, str] = {}  # stage -> prompt id, for usage (which prompts wrote this)

    def _prompt(self, stage: str, name: str) -> prompts.Prompt:
        """Load a prompt for `stage` and remember it: usage names every prompt behind a report."""
        p = prompts.load(name)
        self.prompts_used[stage] = p.id
        return p

    # -- helpers -------------------------------------------------------------------------------
    def _system(self) -> dict[str, str]:
        return {"role": "system", "content": self._prompt("system", "system").text}

    def _fallback(self, stage: str, exc: Exception) -> None:
        self.fallbacks.append(f"{stage}: {exc.__class__.__name__}: {str(exc)[:200]}")

    def _usage(self) -> dict[str, Any]:
        usage = dict(self.client.usage_dict())
        usage["engine"] = self.config.describe()
        usage["tool_calls"] = self.tool_calls
        usage["fallbacks"] = list(self.fallbacks)
        usage["prompts"] = dict(self.prompts_used)
        usage["prompt_set"] = prompts.PROMPT_SET_VERSION
        return usage

    def _investigate(self, store: EvidenceReader, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Bounded tool loop: the model may query the evidence before answering."""
        seen: set[str] = set()
        specs = tool_specs()
        for _ in range(MAX_TOOL_STEPS):
            result = self.client.chat(messages, tools=specs, stage="data_collection")
            if not result.tool_calls:
                if (result.content or "").strip():
                    # Its closing note (ids that matter, gaps) travels on to the analysis request.
                    messages.append({"role": "assistant", "content": result.content.strip()})
                break
            messages.append(result.assistant_message())
            for call in result.tool_calls:
                key = call.name + json.dumps(call.arguments, sort_keys=True)
                if call.error:
                    out = f"[error] {call.error}"
                elif key in seen:
                    out = "[refused] identical call already answered above; use that result or narrow the query."
                else:
                    seen.add(key)
                    self.tool_calls += 1
                    out = call_tool(store, call.name, call.arguments)
                    self.tracer.tool(call.name, call.arguments, out)
                messages.append(tool_result_message(call.id, out))
        return messages

    # -- stages ---------------------------------------------------------------------------------
    def analysis(self, store: EvidenceReader, scope: Scope, timeline: list[TimelineEvent],
                 facts: WindowFacts | None = None) -> Analysis:
        a = super().analysis(store, scope, timeline, facts)
        cited = [i for e in timeline for i in e.evidence] + [i for t in a.suspected_triggers[:3] for i in t.evidence]
        search = self._prompt("data_collection", "data_collection").render(
            scope=scope_block(scope), timeline=timeline_block(timeline),
            data_gaps="\n".join(f"- {gap}" for gap in a.data_gaps) or "- none recorded")
        user = self._prompt("analysis", "analysis").render(facts=facts_block(timeline, a),
                                                           evidence=evidence_block(store, cited))
        try:
            with self.tracer.stage("analysis"):
                messages = self._investigate(store, [self._system(), {"role": "user", "content": search}])
                messages.append({"role": "user", "content": user})
                out = self.client.structured(messages, LLMAnalysis, stage="analysis")
        except LLMError as exc:
            self._fallback("analysis", exc)
            return a
        return merge_analysis(a, out, store)

    def synthesis(self, scope: Scope, inventory: Inventory | None, timeline: list[TimelineEvent],
                  analysis: Analysis, today: date, names_opt_in: bool,
                  store: EvidenceReader | None = None) -> Report:
        report = super().synthesis(scope, inventory, timeline, analysis, today, names_opt_in)
        report.usage = self._usage()
        return self.narrate(report, store, [], 0) if store is not None else report

    def narrate(self, report: Report, store: EvidenceReader, findings: list[ValidationFinding],
                round_no: int) -> Report:
        """Ask for summary prose: the first draft (synthesis prompt) or a repair round (review_repair
        prompt), both parsed into LLMNarrative; merged only where grounded."""
        evidence = evidence_block(store, [i for e in report.timeline[:12] for i in e.evidence])
        stage = "synthesis" if round_no == 0 else "review"
        if round_no == 0:
            user = self._prompt(stage, "synthesis").render(
                facts=truncate_to_tokens(report.model_dump_json(include=_FACT_FIELDS), FACTS_TOKENS),
                findings=truncate_to_tokens(report.model_dump_json(include=_FINDING_FIELDS), FACTS_TOKENS),
                evidence=evidence, today=report.postmortem_date.isoformat())
        else:
            user = self._prompt(stage, "review_repair").render(
                report=truncate_to_tokens(report.model_dump_json(exclude={"usage", "computed_facts"}), FACTS_TOKENS),
                violations="\n".join(f"- {f.rule} (line {f.line}): {f.message} -> {f.suggestion}" for f in findings)
                or "- none", evidence=evidence, round=round_no, max_rounds=2)
        try:
            with self.tracer.stage(stage):
                out = self.client.structured([self._system(), {"role": "user", "content": user}],
                                             LLMNarrative, stage=stage)
        except LLMError as exc:
            self._fallback("narrative", exc)
            return report.model_copy(update={"usage": self._usage()})
        merged = merge_narrative(report, out, store)
        merged.usage = self._usage()
        return merged

    def respond(self, text: str, report_json: str) -> Iterator[str]:
        """A streamed facilitator reply to a free-form chat message (the user's own words)."""
        user = self._prompt("chat", "chat").render(report=truncate_to_tokens(report_json, FACTS_TOKENS))
        messages = [self._system(), {"role": "user", "content": user + "\n\nThe reviewer says:\n" + text}]
        try:
            yield from self.client.stream(messages, stage="chat")
        except LLMError as exc:
            yield f"[the model is unavailable: {exc}]"

    def repair(self, report: Report, findings: list[ValidationFinding], store: EvidenceReader) -> Report:
        revised = self.narrate(report, store, findings, report.validation.repair_rounds + 1)
        # The deterministic repair always runs after the model: what code can fix, code fixes.
        return super().repair(revised, findings, store)


def _grounded_ids(store: EvidenceReader, ids: list[str]) -> list[str]:
    return [i for i in dict.fromkeys(ids) if store.exists(i)][:4]


def _timestamps_ok(text: str, store: EvidenceReader, known: set[str]) -> bool:
    from dateutil import parser as dp

    for m in ISO.finditer(text):
        raw = m.group(0)
        if raw.rstrip("Z") in known:
            continue
        try:
            dt = dp.isoparse(raw.replace(" ", "T").rstrip("Z") + "+00:00")
        except ValueError:
            return False
        if not store.has_timestamp(dt, 60):
            return False
    return True


def merge_analysis(a: Analysis, out: LLMAnalysis, store: EvidenceReader) -> Analysis:
    merged = a.model_copy(deep=True)
    known: set[str] = set()
    hyps: list[Hypothesis] = []
    for h in out.hypotheses[:6]:
        ids = _grounded_ids(store, h.evidence)
        if not h.statement.strip() or not _timestamps_ok(h.statement, store, known):
            continue
        hyps.append(Hypothesis(statement=h.statement.strip(), evidence=ids,
                               status=h.status if ids else "inconclusive", assumption=not ids))
    if hyps:
        # Offline hypotheses about the ranked triggers stay first: they carry the computed ranking.
        merged.hypotheses = a.hypotheses[:1] + [h for h in hyps if h.statement != a.hypotheses[0].statement] \
            if a.hypotheses else hyps
    whys = [WhyStep(question=w.question.strip(), answer=w.answer.strip(), evidence=_grounded_ids(store, w.evidence),
                    gap=not _grounded_ids(store, w.evidence))
            for w in out.five_whys[:6] if w.question.strip() and _timestamps_ok(w.answer, store, known)]
    for w in whys:
        if w.gap and "[ASSUMPTION]" not in w.answer and "[DATA GAP]" not in w.answer:
            w.answer = f"[ASSUMPTION] {w.answer}"
    if len(whys) >= 3:
        merged.five_whys = whys
    n = len(merged.contributing_factors)
    for f in out.contributing_factors[:4]:
        ids = _grounded_ids(store, f.evidence)
        if not ids or not _timestamps_ok(f.statement, store, known):
            continue  # a factor with no evidence belongs in the review meeting, not the report
        n += 1
        merged.contributing_factors.append(Finding(id=f"CF-{n}", statement=f.statement.strip(),
                                                   status=f.status, evidence=ids))
    return merged


def merge_narrative(report: Report, out: LLMNarrative, store: EvidenceReader) -> Report:
    merged = report.model_copy(deep=True)
    known = {iso_z(e.timestamp).rstrip("Z") for e in report.timeline}
    summary = [s.strip() for s in out.summary[:5] if s.strip() and _timestamps_ok(s, store, known)]
    if summary:
        # Code-computed lines (severity, top actions) stay; the model's prose leads.
        merged.summary = summary + [s for s in report.summary if s.startswith(("Severity", "Top actions"))]
    if out.went_well:
        merged.went_well = [s.strip() for s in out.went_well[:5] if s.strip()] or report.went_well
    if out.could_improve:
        merged.could_improve = [s.strip() for s in out.could_improve[:5] if s.strip()] or report.could_improve
    return merged


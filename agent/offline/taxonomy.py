"""AI failure-mode taxonomy and the deterministic classifier that maps evidence onto it.

Top-level categories: training, serving, rag, agentic, eval, safety, data, infra. Each mode has a
pattern; a mode is reported when distinct evidence records (not the same line repeated) match it.
Matching reads error logs, alerts, k8s events, metric names, commit messages, chat and notes; it
never reads records flagged as instruction-like.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, Field

from tools.models import EvidenceKind
from tools.store.reader import EvidenceReader


@dataclass(frozen=True)
class Mode:
    id: str
    title: str
    pattern: re.Pattern[str]
    # What this failure mode means for each AI-native factor (used in the AI lens).
    specialist: str = ""


def _p(expr: str) -> re.Pattern[str]:
    return re.compile(expr, re.I)


TAXONOMY: tuple[Mode, ...] = (
    Mode("training.loss_spike", "Training loss spike / divergence",
         _p(r"loss spike|loss (?:diverg|exploded|jump)|\bnan loss|loss(?:=| is) nan|grad(?:ient)?[ _]norm|divergen")),
    Mode("training.bad_data_shard", "Corrupt or bad training data shard",
         _p(r"(?:bad|corrupt\w*|malformed|poisoned|duplicated?) (?:data )?shard|shard[-_ ]?\d+.{0,40}(?:corrupt|bad|malformed|garbage)")),
    Mode("training.checkpoint_corruption", "Checkpoint corruption",
         _p(r"checkpoint.{0,40}(?:corrupt|checksum|truncat|mismatch|failed to load|incomplete)|(?:corrupt|truncated)\w* checkpoint"),
         "storage/filesystem engineer for the checkpoint store"),
    Mode("training.hardware_fault", "Silent hardware fault during training",
         _p(r"\bxid\b|ecc error|silent data corruption|\bsdc\b|nvlink error|gpu fell off"),
         "hardware reliability specialist (GPU vendor support)"),
    Mode("serving.oom", "Out-of-memory in the serving engine",
         _p(r"out of memory|\boom(?:kill\w*)?\b|cuda oom|oomkill|gpu_memory_utilization|memory limit exceeded")),
    Mode("serving.kv_cache", "KV-cache pressure / preemption pathology",
         _p(r"kv[- _]?cache|preempt\w* (?:sequences?|requests?|seqs)|sequences? (?:were |was )?preempted|"
            r"block manager|swap space|num_gpu_blocks|cache eviction")),
    Mode("serving.batching", "Batching / scheduling anomaly",
         _p(r"max_num_seqs|max_num_batched_tokens|continuous batching|batch(?:ing)? (?:size|scheduler|anomal)|queue (?:time|depth)")),
    Mode("serving.quantization_drift", "Quantization drift in outputs",
         _p(r"quantiz\w*|\bint4\b|\bint8\b|\bfp8\b|\bawq\b|\bgptq\b")),
    Mode("serving.latency_regression", "Latency regression / cold start",
         _p(r"cold[- ]start|p99 latency|latency regression|time to first token|ttft")),
    Mode("rag.stale_index", "Stale or partial retrieval index",
         _p(r"stale (?:answer|result|document|index|content)|partial(?:ly)? reindex|reindex\w* (?:job )?(?:fail|partial|incomplete|stopped|timed out)|re-?index\w*.{0,60}(?:skipped|interrupted|partial|incomplete|half)|mix(?:ed|ing|ture of)\W{0,3}(?:\w+[/ ]){0,3}(?:shards|embeddings|vectors|index|indexes|indices)|(?:half|partial(?:ly)?)[- ]migrated|(?:shards|vectors|embeddings|chunks) (?:from|with|in) (?:two|different|mixed|both) (?:embedding )?(?:models|encoders|spaces)|index (?:is )?(?:stale|out of date|outdated)|document age|index_age|docs? (?:missing|not indexed)")),
    Mode("rag.context_poisoning", "Context poisoning through retrieved content",
         _p(r"(?:context|retrieval|document|corpus) poison\w*|poison\w* (?:document|doc|page|chunk)|injected (?:document|content|instruction)|malicious (?:document|page|chunk|link|url)|phishing|verify (?:your|the) account|"
            r"untrusted (?:source|review|content) in (?:the )?index")),
    # The query side and the index side embedded by different models (a switch of embedding
    # model without a full re-embed): vectors still compare, so nothing errors, answers just drift.
    Mode("rag.embedding_mismatch", "Embedding-model mismatch between queries and index",
         _p(r"embedding(?:s| model)? (?:switch|swap|change|upgrade|migration|mismatch|drift)|"
            r"switch\w* (?:the )?(?:embeddings?|(?:query )?encoder|embedding model)\b|"
            r"(?:query|document) encoder (?:to|from|change|switch|mismatch)|"
            r"(?:different|two|mixed|incompatible) (?:embedding )?(?:models?|encoders?|vector spaces?) (?:in|for|across) (?:the )?(?:index|collection)|"
            r"vector space mismatch|mixed embeddings")),
    Mode("rag.retrieval_quality", "Retrieval-quality regression",
         _p(r"retrieval[_ ](?:quality|score|recall|precision|relevance)|top-?1[_ ](?:retrieval[_ ])?score|"
            r"retrieval_top\w*|recall@\d+|\bndcg\b|(?:answer[_ ])?fallback[_ ](?:rate|ratio)|"
            r"(?:unrelated|irrelevant|wrong) (?:articles|documents|docs|chunks|passages|results|context)|"
            r"can'?t find (?:articles|documents|docs) that (?:definitely )?exist")),
    Mode("rag.reranker_fallback", "Reranker fallback pathology",
         _p(r"reranker (?:fallback|timeout|disabled|unavailable)|fall(?:ing)? back to bm25")),
    Mode("agentic.runaway_loop", "Agent runaway loop",
         _p(r"runaway|infinite loop|max(?:imum)? (?:iterations|steps)|step limit|recursion limit|same tool call|tool call loop|loop detected|\d{3,} (?:tool )?calls|token (?:budget )?burn|budget burn|"
            r"repeat\w* (?:the same|\w+ with the same)|(?<!crash )(?<!crash-)\blooping\b")),
    # "looping" alone, never a pod's "crashlooping" / "crash looping" (a restart loop, not an agent).
    Mode("agentic.destructive_tool_call", "Destructive / irreversible tool call",
         _p(r"destructive|irreversibl\w*|drop table|deleted? (?:\d+ )?(?:rows|records|files|tickets|accounts)|rm -rf|truncate table|wiped")),
    Mode("agentic.argument_hallucination", "Tool argument hallucination",
         _p(r"hallucinat\w* (?:argument|parameter|id)|invalid tool argument|unknown (?:customer|order|account) id")),
    Mode("eval.contamination", "Eval contamination",
         _p(r"contaminat\w*|test set (?:leak|overlap)|benchmark (?:leak|overlap)|train(?:ing)?/test overlap")),
    Mode("eval.metric_misspecification", "Mis-specified eval metric",
         _p(r"metric (?:mis-?specif\w*|was wrong|bug|definition)|mis-?specified metric|wrong metric|scorer bug|metric measured|"
            r"proxy (?:metric|reward)|vanity metric|(?:on|by) (?:thumbs(?:[- ]up)?|likes|ratings|engagement) alone|"
            r"optimi[sz]\w* for (?:engagement|thumbs|ratings|likes|approval)")),
    Mode("eval.flaky_eval", "Flaky / small-sample eval",
         _p(r"flak(?:y|e|iness)|small sample|eval (?:variance|noise)|non-?determinis|re-?run passed|"
            r"passed on (?:re-?run|retry)|transient|intermittent|"
            r"(?:429|rate[- ]limit\w*|read ?timeouts?).{0,60}(?:download\w*|dataset|hub|eval)")),
    # A policy trained against a reward model (RLHF, PPO, DPO) that learned what the reward
    # model or raters like rather than what is right.
    Mode("training.reward_hacking", "Reward hacking / reward-model over-optimisation",
         _p(r"reward[- ]hack\w*|reward model (?:exploit\w*|over-?optimi\w*|bias\w*|favou?rs?|prefers?|rewards?)|"
            r"over-?optimi[sz]\w* (?:the |against the |on the )?(?:reward|rm\b|preference)|"
            r"(?:rm|reward model)\S* (?:rewards?|prefers?|favou?rs?) (?:agreement|agreeable|warm|flatter|confident)")),
    Mode("safety.jailbreak", "Jailbreak / policy bypass",
         _p(r"jailbreak\w*|policy bypass|bypass(?:ed)? (?:the )?(?:safety|filter|guardrail)|harmful (?:output|content|completion)")),
    Mode("safety.over_refusal", "Over-refusal",
         _p(r"over-?refus\w*|refusal rate|refus(?:ed|ing|als?) (?:benign|legitimate|valid|normal)")),
    Mode("safety.sycophancy", "Sycophancy amplification",
         _p(r"sycophan\w*|agree\w* with (?:an? |the )?(?:\w+(?:'s)? ){0,2}(?:wrong|incorrect|false|mistaken)|"
            r"agree_with_wrong|wrong[-_ ]claim|flatter\w*|"
            r"(?:confirm|validat|prais|affirm)\w* (?:the )?(?:\w+(?:'s)? )?(?:incorrect|wrong|false|mistaken) (?:\w+ )?(?:answers?|claims?|solutions?)|"
            r"(?:too|overly) (?:agreeable|eager to please)|tells? (?:users?|students?|people) what they want")),
    Mode("data.schema_drift", "Upstream schema drift",
         _p(r"schema (?:drift|change|mismatch|violation)|column .{0,30}(?:missing|renamed|dropped)|unexpected (?:column|field)|missing (?:column|field)|keyerror|type mismatch")),
    Mode("data.label_leakage", "Label leakage",
         _p(r"label leak\w*|leak\w* (?:of )?(?:the )?label|target leak\w*|future (?:data|information) leak|"
            r"point[- ]in[- ]time|feature timing|(?:auc|accuracy|score) (?:is |looks )?too good|leaky feature")),
    Mode("infra.config_change", "Configuration change",
         _p(r"config(?:uration)? (?:change|push|rollout)|feature flag")),
    Mode("infra.capacity", "Capacity exhaustion",
         _p(r"capacity|quota exceeded|insufficient (?:gpu|cpu|memory)|pending pods|unschedulable|disk (?:full|pressure)")),
)
MODES = {m.id: m for m in TAXONOMY}
SPECIALIST_TRIGGERS = _p(
    r"silent data corruption|\bxid\b|ecc error|nvlink|bit ?flip|adversarial (?:suffix|example|attack)|"
    r"gradient inversion|model extraction|membership inference|backdoor"
)

SOURCE_WEIGHT = {
    EvidenceKind.LOG: 1.0, EvidenceKind.ALERT: 1.5, EvidenceKind.K8S_EVENT: 1.5,
    EvidenceKind.METRIC: 1.0, EvidenceKind.COMMIT: 1.0, EvidenceKind.CHAT: 1.0,
    EvidenceKind.NOTE: 1.0, EvidenceKind.PAGE: 1.0, EvidenceKind.TRACE: 0.5,
}
MIN_SCORE = 2.0
# Records the failing system wrote. A mode named only in chat, notes or a commit message ("could
# this be a runaway loop?") is a question, not a failure mode: one of these must match it too.
SYSTEM_KINDS = frozenset({EvidenceKind.LOG, EvidenceKind.TRACE, EvidenceKind.K8S_EVENT, EvidenceKind.ALERT,
                          EvidenceKind.METRIC, EvidenceKind.PAGE})
# Categories whose failing component logs its own failure (an engine OOM, a tool loop, a loss
# spike). Quality, data and safety failures often show only in what people saw (a poisoned answer
# quoted in chat, an eval note), so talk about them still counts.
SYSTEM_CATEGORIES = ("agentic.", "serving.", "training.", "infra.")


@dataclass
class Classification:
    modes: list[str]
    scores: dict[str, float]
    evidence: dict[str, list[str]]
    specialist_hits: list[str]


def scan_window(store: EvidenceReader, start: datetime | None, end: datetime | None) -> ModeScan:
    """The failure-mode scores of the evidence in the window: computed once per stage, then passed
    to the change ranking (its modes) and to `classify` (with the trigger on top)."""
    scan = ModeScan()
    scan.window(store, start, end)
    return scan


def classify(window: ModeScan, store: EvidenceReader, trigger_ids: list[str]) -> Classification:
    """Failure modes the window's evidence supports, with the trigger commits scanned on top of a
    copy of the window's scan (which stays as it was)."""
    scan = window.model_copy(deep=True)
    for ev in store.get_many(trigger_ids):
        scan.add(ev.kind, ev.id, ev.text + " " + " ".join(str(f) for f in ev.attrs.get("files") or []))
    return scan.result()


class ModeScan(BaseModel):
    """Scores per failure mode, with the evidence behind them, built record by record. A model,
    so the timeline stage's scan of the window reaches the analysis through the graph state."""

    scores: dict[str, float] = Field(default_factory=dict)
    ev_for: dict[str, list[str]] = Field(default_factory=dict)
    seen_text: dict[str, set[str]] = Field(default_factory=dict)  # per mode, texts already counted
    specialist: list[str] = Field(default_factory=list)
    system: dict[str, int] = Field(default_factory=dict)  # mode -> matching records from SYSTEM_KINDS

    def add(self, kind: EvidenceKind, eid: str, text: str) -> None:
        scores, ev_for, seen_text, specialist = self.scores, self.ev_for, self.seen_text, self.specialist

        if SPECIALIST_TRIGGERS.search(text) and len(specialist) < 3:
            specialist.append(eid)
        for m in TAXONOMY:
            if not m.pattern.search(text):
                continue
            key = text[:80].lower()
            seen = seen_text.setdefault(m.id, set())
            if key in seen:
                continue  # the same message repeated is one piece of evidence
            seen.add(key)
            scores[m.id] = scores.get(m.id, 0.0) + SOURCE_WEIGHT.get(kind, 1.0)
            system = kind in SYSTEM_KINDS
            self.system[m.id] = self.system.get(m.id, 0) + system
            cited = ev_for.setdefault(m.id, [])
            # Cited records: the system's own first, so the mode's evidence is of its own kind.
            if system and self.system[m.id] == 1 and len(cited) >= 4:
                cited[-1] = eid
            elif len(cited) < 4:
                cited.append(eid)

    def window(self, store: EvidenceReader, start: datetime | None, end: datetime | None) -> None:
        scan = self.add
        for ev in store.errors(start=start, end=end, limit=5000, include_warnings=True):
            scan(ev.kind, ev.id, ev.text)
        # Traces are left to the error scan above: a healthy trace's text is the users' prompt and
        # the retrieved documents, whose topic (say, API rate limits) is not a failure of the system.
        warn_kinds = [EvidenceKind.ALERT, EvidenceKind.K8S_EVENT, EvidenceKind.CHAT, EvidenceKind.NOTE,
                      EvidenceKind.PAGE]
        for ev in store.iter(kinds=warn_kinds, start=start, end=end):
            if ev.flags:
                continue
            scan(ev.kind, ev.id, ev.text + " " + " ".join(str(v) for v in (ev.attrs.get("labels") or {}).values()))
        for ev in store.iter(kinds=[EvidenceKind.NOTE]):
            if ev.ts is None and not ev.flags:
                scan(ev.kind, ev.id, ev.text)
        for ev in store.iter(kinds=[EvidenceKind.METRIC]):
            scan(ev.kind, ev.id, str(ev.attrs.get("name") or ""))

    def result(self) -> Classification:
        scores = self.scores
        picked = sorted((m for m, s in scores.items() if s >= MIN_SCORE and (
            self.system.get(m, 0) >= 1 or not m.startswith(SYSTEM_CATEGORIES))),
                        key=lambda m: (-scores[m], m))
        # Generic infra modes only when nothing AI-specific explains the incident.
        specific = [m for m in picked if not m.startswith("infra.")]
        modes = (specific + [m for m in picked if m.startswith("infra.")][:1]) if specific else picked[:2]
        return Classification(modes=modes[:5], scores=dict(scores), evidence=dict(self.ev_for),
                              specialist_hits=list(self.specialist))

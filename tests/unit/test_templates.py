"""Log templates (drain3): lines that differ only in numbers or ids share one template."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from agent.offline import templates
from tools.models import Evidence, EvidenceKind

T0 = datetime(2024, 3, 9, 4, 0, tzinfo=UTC)


def _log(i: int, text: str, level: str = "error", **attrs: object) -> Evidence:
    return Evidence(id=f"log:svc.log:{i}", kind=EvidenceKind.LOG, ts=T0 + timedelta(seconds=i),
                    source="svc.log", text=text, level=level, attrs=dict(attrs))


def test_lines_differing_in_numbers_and_ids_share_a_template() -> None:
    recs = [_log(i, f"shard {i} of index kb-{1000 + i} failed after {i * 13} ms (req 0x{i * 4099:x})")
            for i in range(1, 7)]
    recs += [_log(10 + i, f"embedding worker-{i} lost its GPU lease") for i in range(3)]
    mined = templates.mine(recs)
    assert [t.count for t in mined] == [6, 3]
    top = mined[0]
    assert top.first.id == "log:svc.log:1"  # sample = the first record of the run
    assert top.last_ts == T0 + timedelta(seconds=6)
    assert "failed after" in top.template and "1013" not in top.template


def test_access_lines_are_never_templates() -> None:
    recs = [_log(i, f'10.0.0.{i} - - "GET /v1/x HTTP/1.1" 503 12', format="access", status=503)
            for i in range(5)]
    assert templates.mine(recs) == []


def test_new_since_baseline() -> None:
    base = [_log(i, f"retrying upstream call {i}", level="warning") for i in range(5)]
    window = [_log(20 + i, f"retrying upstream call {i}", level="warning") for i in range(3)]
    window += [_log(30 + i, f"checksum mismatch on checkpoint step-{i}00") for i in range(2)]
    fresh = templates.new_since(base, window)
    assert len(fresh) == 1 and fresh[0].count == 2
    assert fresh[0].first.id == "log:svc.log:30"


def test_miner_reads_no_config_file(tmp_path, monkeypatch) -> None:
    """A drain3.ini in the working directory (which a dump could supply) changes nothing."""
    (tmp_path / "drain3.ini").write_text("[DRAIN]\nsim_th = 0.01\ndepth = 3\n")
    monkeypatch.chdir(tmp_path)
    assert templates.make_miner().config.drain_sim_th == 0.5

"""Yearless layouts get the year of the dump's newest dated evidence, and the loghub benchmark
scores lines right. All samples are written here in the public layouts (BSD syslog as OpenSSH
writes it, klog as kubelet writes it, loghub's structured CSV columns)."""

from __future__ import annotations

from concurrent.futures import Future
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from benchmarks import loghub
from tools.ingest import _read_ahead_holds, ingest
from tools.ingest_units import UnitResult
from tools.models import Inventory, SourceReport
from tools.store.reader import EvidenceReader
from tools.store.writer import StoreWriter

UTC = timezone.utc


def run(dump: Path, tmp_path: Path) -> tuple[Inventory, EvidenceReader]:
    writer = StoreWriter.create(tmp_path / "store.db")
    return ingest(dump, writer, workdir=tmp_path / "work"), writer.reader()


def test_bsd_syslog_december_goes_to_the_year_before_the_newest_evidence(tmp_path: Path) -> None:
    dump = tmp_path / "d"
    dump.mkdir()
    (dump / "api.jsonl").write_text('{"ts": "2025-05-30T08:00:00Z", "msg": "a"}\n{"ts": "2025-06-01T09:30:00Z", "msg": "b"}\n')
    (dump / "auth.log").write_text(
        "Dec 10 06:55:46 bastion sshd[24200]: Invalid user admin from 203.0.113.9\n"
        "Dec 10 06:55:48 bastion sshd[24200]: Connection closed by 203.0.113.9 port 40022 [preauth]\n"
    )
    inv, store = run(dump, tmp_path)
    ev = store.get("log:auth.log:1")
    assert ev is not None and ev.ts == datetime(2024, 12, 10, 6, 55, 46, tzinfo=UTC) and ev.ts_assumed
    note = {s.path: s.note for s in inv.sources}["auth.log"]
    assert "not after, 2025-06-01 09:30 UTC, the newest dated evidence" in note


def test_kubelet_klog_crossing_new_year_moves_january_to_the_next_year(tmp_path: Path) -> None:
    dump = tmp_path / "d"
    dump.mkdir()
    (dump / "events.jsonl").write_text('{"ts": "2025-01-01T00:10:00Z", "level": "info", "msg": "pager ack"}\n')
    (dump / "kubelet.log").write_text(
        "I1231 23:59:58.100000    2041 kubelet.go:2404] \"SyncLoop ADD\" source=\"api\"\n"
        "E1231 23:59:59.900000    2041 pod_workers.go:1298] \"Error syncing pod\"\n"
        "I0101 00:00:01.250000    2041 kubelet.go:2404] \"SyncLoop UPDATE\" source=\"api\"\n"
        "E0101 00:00:02.000000    2041 kuberuntime_manager.go:1010] \"container restart\"\n"
    )
    _, store = run(dump, tmp_path)
    years = [store.get(f"log:kubelet.log:{n}").ts.year for n in range(1, 5)]  # type: ignore[union-attr]
    assert years == [2024, 2024, 2025, 2025]


def test_journal_syslog_crossing_new_year(tmp_path: Path) -> None:
    dump = tmp_path / "d"
    dump.mkdir()
    (dump / "deploy.jsonl").write_text('{"ts": "2025-01-02T12:00:00Z", "msg": "rollback"}\n')
    (dump / "journal.txt").write_text(
        "Dec 31 23:58:00 gpu-node-4 kubelet[2041]: Started container vllm\n"
        "Jan  1 00:02:00 gpu-node-4 kubelet[2041]: Liveness probe failed\n"
    )
    _, store = run(dump, tmp_path)
    assert store.get("log:journal.txt:1").ts == datetime(2024, 12, 31, 23, 58, tzinfo=UTC)  # type: ignore[union-attr]
    assert store.get("log:journal.txt:2").ts == datetime(2025, 1, 1, 0, 2, tzinfo=UTC)  # type: ignore[union-attr]


def _done(first: datetime | None) -> Future[UnitResult]:
    fut: Future[UnitResult] = Future()
    fut.set_result(UnitResult(index=0, rows=1, report=SourceReport(path="k.log", kind="log.klog", first_ts=first)))
    return fut


def test_read_ahead_is_kept_only_when_the_newer_anchor_cannot_change_a_year() -> None:
    guessed = datetime(2025, 6, 1, tzinfo=UTC)
    later = guessed + timedelta(hours=3)
    assert _read_ahead_holds(_done(datetime(2025, 5, 20, tzinfo=UTC)), guessed, guessed)
    # A slice of recent times stays in its year whatever the anchor did in the last hours.
    assert _read_ahead_holds(_done(datetime(2025, 5, 20, tzinfo=UTC)), guessed, later)
    # Times about a year before the anchor could now take the next year: redo.
    assert not _read_ahead_holds(_done(datetime(2024, 6, 2, 1, tzinfo=UTC)), guessed, later)
    assert not _read_ahead_holds(_done(datetime(2025, 5, 20, tzinfo=UTC)), later, guessed)  # anchor went back
    assert not _read_ahead_holds(_done(datetime(2025, 5, 20, tzinfo=UTC)), None, later)


# --- the benchmark's reading of loghub's structured CSV columns ---------------------------------


@pytest.mark.parametrize(("system", "row", "wall", "epoch"), [
    ("Android", {"Date": "11-02", "Time": "07:05:09.120"}, (11, 2, 7, 5, 9), None),
    ("Apache", {"Time": "Mon Jan 09 10:11:12 2006"}, (1, 9, 10, 11, 12), None),
    ("BGL", {"Timestamp": "1136800000", "Time": "2006-01-09-01.46.40.123456"}, (1, 9, 1, 46, 40), 1136800000),
    ("HDFS", {"Date": "090215", "Time": "041503"}, (2, 15, 4, 15, 3), None),
    ("HPC", {"Time": "1136800000"}, None, 1136800000),
    ("HealthApp", {"Time": "20180214-05:06:07:890"}, (2, 14, 5, 6, 7), None),
    ("OpenSSH", {"Date": "Feb", "Day": "3", "Time": "01:02:03"}, (2, 3, 1, 2, 3), None),
    ("Proxifier", {"Time": "02.14 05:06:07"}, (2, 14, 5, 6, 7), None),
    ("Spark", {"Date": "18/02/14", "Time": "05:06:07"}, (2, 14, 5, 6, 7), None),
    ("Zookeeper", {"Date": "2016-02-14", "Time": "05:06:07,890"}, (2, 14, 5, 6, 7), None),
])
def test_truth_columns(system: str, row: dict[str, str], wall: tuple[int, ...] | None, epoch: int | None) -> None:
    truth = loghub.LAYOUTS[system](row)
    assert truth.wall == wall and truth.epoch == epoch


def test_benchmark_counts_right_wrong_and_dropped(tmp_path: Path) -> None:
    sysdir = tmp_path / "Zookeeper"
    sysdir.mkdir()
    (sysdir / "Zookeeper_2k.log").write_text(
        "2016-02-14 05:06:07,890 - INFO  [main:QuorumPeer@100] - started\n"
        "2016-02-14 05:06:08,000 - WARN  [main:QuorumPeer@101] - slow sync\n"
        "2016-02-14 05:06:09,000 - INFO  [main:QuorumPeer@102] - done\n"
    )
    (sysdir / "Zookeeper_2k.log_structured.csv").write_text(
        "LineId,Date,Time,Level,Node,Component,Id,Content,EventId,EventTemplate\n"
        '1,2016-02-14,"05:06:07,890",INFO,main,QuorumPeer,100,started,E1,started\n'
        '2,2016-02-14,"05:06:59,000",WARN,main,QuorumPeer,101,slow sync,E2,slow sync\n'  # disagrees: wrong
        '3,2016-02-14,"05:06:09,000",INFO,main,QuorumPeer,102,done,E3,done\n'
        '4,2016-02-14,"05:06:10,000",INFO,main,QuorumPeer,103,gone,E4,gone\n'  # no such line: dropped
    )
    res = loghub.run_system(tmp_path, "Zookeeper", tmp_path / "work", show=5)
    assert res is not None
    assert (res.lines, res.right, res.wrong, res.undated, res.dropped) == (4, 2, 1, 0, 1)

"""CSV/TSV exports: dialect sniffing, the time column, long and wide tables, bad rows."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from tools.models import Evidence, EvidenceKind, Malformed
from tools.readers import table_csv
from tools.readers.base import ReadContext
from tools.readers.registry import pick_reader

UTC = timezone.utc


def read(tmp_path: Path, name: str, content: str) -> tuple[str, list[Evidence], list[Malformed], ReadContext]:
    p = tmp_path / name
    p.write_text(content, encoding="utf-8", newline="")
    reader = pick_reader(p, p.read_text(encoding="utf-8")[:65536])
    assert reader is not None, f"no reader for {name}"
    ctx = ReadContext(root=tmp_path)
    items = list(reader.read(p, name, ctx))
    return (reader.name, [i for i in items if isinstance(i, Evidence)],
            [i for i in items if isinstance(i, Malformed)], ctx)


def test_long_table_one_record_per_row_and_a_bad_time_stays_undated(tmp_path: Path) -> None:
    content = ("time,series,value\n"
               "2024-05-01T10:00:00Z,gpu-util,97.5\n"
               "2024-05-01T10:01:00Z,gpu-util,12\n"
               "n/a,gpu-util,3\n")
    name, evs, bad, ctx = read(tmp_path, "panel.csv", content)
    assert name == "table.csv" and not bad
    assert [e.id for e in evs] == ["log:panel.csv:2", "log:panel.csv:3", "log:panel.csv:4"]
    assert evs[0].ts == datetime(2024, 5, 1, 10, 0, tzinfo=UTC) and evs[2].ts is None
    assert evs[1].attrs["value"] == 12.0 and isinstance(evs[1].attrs["value"], float)
    assert evs[2].attrs["time"] == "n/a"  # kept as written
    assert "series=gpu-util" in evs[0].text
    assert ctx.coverage.lines == 4 and ctx.coverage.undated_lines == 1
    assert ctx.coverage.bytes_covered == len(content.encode())


def test_wide_dashboard_export_gives_one_record_per_row_and_series(tmp_path: Path) -> None:
    content = ('"Time","p99 {route=""/chat""}","p99 {route=""/embed""}"\n'
               '"2024-05-01 10:00:00","0.82","0.11"\n'
               '"2024-05-01 10:00:30","1.94",""\n')
    _, evs, bad, _ = read(tmp_path, "latency.csv", content)
    assert not bad
    assert [e.id for e in evs] == ["log:latency.csv:2:2", "log:latency.csv:2:3", "log:latency.csv:3:2"]
    assert evs[2].attrs["series"] == 'p99 {route="/chat"}' and evs[2].attrs["value"] == 1.94
    assert evs[2].ts == datetime(2024, 5, 1, 10, 0, 30, tzinfo=UTC) and evs[2].ts_assumed  # no zone given
    assert evs[2].locator == 'line 3, column p99 {route="/chat"}'


def test_run_history_takes_the_epoch_column_not_the_runtime(tmp_path: Path) -> None:
    content = ("_step,_runtime,_timestamp,loss,grad_norm\n"
               "100,61.5,1714557600.25,2.31,0.9\n"
               "101,62.1,1714557601.5,9.80,41.0\n")
    _, evs, _, _ = read(tmp_path, "history.csv", content)
    loss = [e for e in evs if e.attrs["series"] == "loss"]
    assert [e.ts for e in loss] == [datetime(2024, 5, 1, 10, 0, 0, 250000, tzinfo=UTC),
                                   datetime(2024, 5, 1, 10, 0, 1, 500000, tzinfo=UTC)]
    # Step and runtime go with every value instead of becoming series of their own.
    assert {e.attrs["series"] for e in evs} == {"loss", "grad_norm"}
    assert loss[1].attrs["_step"] == 101.0 and loss[1].text == "loss=9.8 _step=101 _runtime=62.1"


def test_table_without_a_time_column_still_becomes_undated_records(tmp_path: Path) -> None:
    content = "shard\tdocs\tstatus\n3\t1200\tstale\n4\t980\tfresh\n"
    name, evs, bad, _ = read(tmp_path, "shards.tsv", content)
    assert name == "table.csv" and not bad
    assert len(evs) == 2 and all(e.ts is None and e.kind is EvidenceKind.LOG for e in evs)
    assert evs[0].attrs["docs"] == 1200.0
    assert evs[0].attrs["status_text"] == "stale"  # not an HTTP status: kept under the contract's name
    assert "shard=3" in evs[0].text and "docs=1200" in evs[0].text


def test_level_message_and_service_columns_are_used(tmp_path: Path) -> None:
    content = ("Date,Host,Service,Status,Message\n"
               '2024-05-01T10:00:00Z,n1,reranker,error,"timeout, retrying"\n')
    _, evs, _, _ = read(tmp_path, "events.csv", content)
    ev = evs[0]
    assert ev.level == "error" and ev.service == "reranker" and ev.text.startswith("timeout, retrying")


def test_ragged_rows_are_kept_and_an_oversized_field_costs_only_its_row(tmp_path: Path) -> None:
    huge = "x" * 200_000  # past the csv module's field size limit
    content = (f"time,msg\n2024-05-01T10:00:00Z,ok\n2024-05-01T10:00:01Z,\"{huge}\"\n"
               "2024-05-01T10:00:02Z,after,extra\n2024-05-01T10:00:03Z\n")
    _, evs, bad, _ = read(tmp_path, "log.csv", content)
    assert len(bad) == 1 and "field larger" in bad[0].reason
    assert [e.ts.second for e in evs if e.ts] == [0, 2, 3]
    assert evs[1].attrs["ragged"] is True and evs[1].attrs["extra_cells"] == ["extra"]


@pytest.mark.parametrize("name,content", [
    ("app.log", "2024-05-01 10:00:00,123 INFO a\n2024-05-01 10:00:01,456 INFO b\n2024-05-01 10:00:02,789 INFO c\n"),
    ("notes.txt", "We saw latency rise, then fall.\nThe alert fired, twice.\nNobody, it seems, was paged.\n"),
    ("table.txt", "| a | b |\n|---|---|\n| 1 | 2 |\n| 3 | 4 |\n"),
    ("numbers.txt", "1,2,3\n4,5,6\n7,8,9\n"),
])
def test_text_that_is_not_a_table_is_not_taken(tmp_path: Path, name: str, content: str) -> None:
    p = tmp_path / name
    p.write_text(content)
    assert not table_csv.READER.sniff(p, content)


def test_iso_first_column_is_a_table_not_a_text_log(tmp_path: Path) -> None:
    rows = "".join(f"2024-05-01T10:00:0{i}Z,checkout,{i}\n" for i in range(5))
    p = tmp_path / "export"
    p.write_text("timestamp,service,errors\n" + rows)
    reader = pick_reader(p, p.read_text())
    assert reader is not None and reader.name == "table.csv"


# BSD syslog lines whose messages hold the delimiter (`failure; logname=...`): the first line is a
# dated line, not a header, and the rows are timestamped prose, not cells.
_SYSLOG_WITH_SEMICOLONS = "".join(
    f"Mar {d:2d} 0{d}:1{d}:0{d} gw7 sshd(pam_unix)[{400 + d}]: authentication failure; logname= uid=0 rhost=10.0.0.{d}\n"
    for d in range(1, 9))


@pytest.mark.parametrize("name", ["messages", "auth.log", "secure.1"])
def test_syslog_lines_holding_the_delimiter_are_not_a_table(tmp_path: Path, name: str) -> None:
    p = tmp_path / name
    p.write_text(_SYSLOG_WITH_SEMICOLONS)
    assert not table_csv.READER.sniff(p, _SYSLOG_WITH_SEMICOLONS)
    reader = pick_reader(p, _SYSLOG_WITH_SEMICOLONS)
    assert reader is not None and reader.name == "log.syslog3164"


def test_a_header_cell_that_starts_with_a_time_is_not_a_name(tmp_path: Path) -> None:
    content = "2024-05-01 10:00:00 boot;ok\nalpha;1\nbeta;2\ngamma;3\n"
    p = tmp_path / "x.csv"
    p.write_text(content)
    assert not table_csv.READER.sniff(p, content)


def test_log_rows_with_a_banner_line_are_not_a_table_without_a_table_suffix(tmp_path: Path) -> None:
    # The banner passes for a header; the rows are still time + prose, so a log.
    body = "".join(f"2024-05-01 10:00:0{i} worker started; queue depth {i}\n" for i in range(6))
    content = "service banner; build 7\n" + body
    assert not table_csv.READER.sniff(tmp_path / "svc.log", content)
    # Named a table, the same shape is the user's table and is read as one.
    assert table_csv.READER.sniff(tmp_path / "svc.csv", content)

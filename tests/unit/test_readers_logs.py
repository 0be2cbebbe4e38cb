from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tools.models import Evidence, Malformed
from tools.readers.base import ReadContext
from tools.readers.registry import pick_reader

UTC = timezone.utc


def read(tmp_path: Path, name: str, content: str | bytes, **ctx_kw: object) -> tuple[str, list[Evidence], list[Malformed]]:
    p = tmp_path / name
    if isinstance(content, str):
        p.write_text(content, encoding="utf-8")
    else:
        p.write_bytes(content)
    head = p.read_bytes()[:65536].decode("utf-8", errors="replace")
    reader = pick_reader(p, head)
    assert reader is not None, f"no reader for {name}"
    ctx = ReadContext(root=tmp_path, **ctx_kw)  # type: ignore[arg-type]
    items = list(reader.read(p, name, ctx))
    evs = [i for i in items if isinstance(i, Evidence)]
    bad = [i for i in items if isinstance(i, Malformed)]
    return reader.name, evs, bad


def test_jsonl_keys_levels_http_fields_and_epoch_ms(tmp_path: Path) -> None:
    name, evs, bad = read(
        tmp_path,
        "svc.txt",  # the extension says nothing: content decides
        '{"ts": 1714053725123, "severity": "ERROR", "message": "cache storm", "status": "503", "request_time": 2.5, "app": "ranker", "shard": 7}\n'
        '{"@timestamp": "2024-04-25T16:00:00+02:00", "lvl": "warn", "msg": "slow", "http": {"status_code": 200, "method": "GET", "path": "/x"}}\n'
        '{"time": "2024-04-25T14:00:00Z", "level": "info", "msg": "fine", "status": "ok"}\n',
    )
    assert name == "log.jsonl" and not bad
    a, b, c = evs
    assert a.id == "log:svc.txt:1" and a.ts == datetime(2024, 4, 25, 14, 2, 5, 123000, tzinfo=UTC)
    assert a.level == "error" and a.service == "ranker" and a.text == "cache storm"
    assert a.attrs["status"] == 503 and a.attrs["latency_ms"] == 2500.0 and a.attrs["shard"] == 7
    assert a.attrs["format"] == "jsonl"
    assert b.ts == datetime(2024, 4, 25, 14, tzinfo=UTC) and b.level == "warning"
    assert (b.attrs["status"], b.attrs["method"], b.attrs["path"]) == (200, "GET", "/x")
    # A non-HTTP status string must not land in the numeric `status` field the analysis reads.
    assert "status" not in c.attrs and c.attrs["status_text"] == "ok"


def test_jsonl_truncated_and_non_json_lines_are_counted_and_reading_continues(tmp_path: Path) -> None:
    _, evs, bad = read(
        tmp_path,
        "app.jsonl",
        '{"timestamp": "2024-04-25T14:00:00Z", "msg": "one"}\n'
        '{"timestamp": "2024-04-25T14:00:01Z", "msg": "trunc\n'
        "plain garbage\n"
        '{"timestamp": "2024-04-25T14:00:02Z", "msg": "three"}\n',
    )
    assert [e.text for e in evs] == ["one", "three"]
    assert [m.locator for m in bad] == ["line 2", "line 3"]
    assert [e.id for e in evs] == ["log:app.jsonl:1", "log:app.jsonl:4"]


def test_python_logging_traceback_joins_previous_record(tmp_path: Path) -> None:
    name, evs, bad = read(
        tmp_path,
        "worker.log",
        "2024-04-25 14:03:08,456 - ranker.worker - ERROR - batch failed\n"
        "Traceback (most recent call last):\n"
        '  File "/app/w.py", line 8, in run\n'
        "ValueError: dimension mismatch\n"
        "2024-04-25 14:03:09,001 - ranker.worker - WARNING - retrying\n"
        "INFO:ranker.cli:no timestamp here\n",
        default_tz=ZoneInfo("Europe/Berlin"),
    )
    assert name == "log.pylogging" and not bad
    first, second, third = evs
    assert "ValueError: dimension mismatch" in first.text and first.attrs["continuation_lines"] == 3
    assert first.ts == datetime(2024, 4, 25, 12, 3, 8, 456000, tzinfo=UTC) and first.ts_assumed
    assert first.attrs["logger"] == "ranker.worker" and first.level == "error"
    assert second.id == "log:worker.log:5" and second.level == "warning"
    assert third.ts is None and third.level == "info" and third.attrs["logger"] == "ranker.cli"


def test_iso_text_with_offsets_named_zones_and_garbage(tmp_path: Path) -> None:
    name, evs, bad = read(
        tmp_path,
        "gateway.log",
        "2024-04-25T16:04:00.500+02:00 [ERROR] [embed] timeout calling ranker\n"
        "2024-04-25 07:05:00 PDT WARN pacific\n"
        "not a log line\n",
    )
    assert name == "log.iso"
    assert evs[0].ts == datetime(2024, 4, 25, 14, 4, 0, 500000, tzinfo=UTC) and evs[0].level == "error"
    assert evs[0].attrs["component"] == "embed" and evs[0].text == "timeout calling ranker"
    assert evs[1].ts == datetime(2024, 4, 25, 14, 5, tzinfo=UTC) and not evs[1].ts_assumed
    assert evs[1].level == "warning" and evs[1].text == "pacific"
    assert len(bad) == 1 and bad[0].locator == "line 3"


def test_klog_uses_year_hint_and_marks_assumed(tmp_path: Path) -> None:
    name, evs, _ = read(
        tmp_path,
        "kubelet",
        'E0425 14:06:05.000001    2211 pod_workers.go:1298] "Error syncing pod"\n'
        "W0425 14:06:09.5    2211 reflector.go:535] short watch\n",
        year_hint=2023,
    )
    assert name == "log.klog"
    assert evs[0].ts == datetime(2023, 4, 25, 14, 6, 5, 1, tzinfo=UTC) and evs[0].ts_assumed
    assert evs[0].level == "error" and evs[0].attrs["caller"] == "pod_workers.go:1298"
    assert evs[1].level == "warning" and evs[1].ts.microsecond == 500000  # type: ignore[union-attr]


def test_syslog_3164_and_5424(tmp_path: Path) -> None:
    name, evs, _ = read(
        tmp_path,
        "messages",
        "<11>Apr 25 14:07:01 node-3 kernel: GPU 0 fell off the bus\n"
        "Apr  5 14:07:02 node-3 systemd[1]: Started ranker.service.\n",
        year_hint=2024,
    )
    assert name == "log.syslog3164"
    assert evs[0].service == "kernel" and evs[0].level == "error" and evs[0].ts_assumed
    assert evs[1].ts == datetime(2024, 4, 5, 14, 7, 2, tzinfo=UTC) and evs[1].attrs["pid"] == "1"
    name, evs, _ = read(
        tmp_path,
        "app5424",
        '<165>1 2024-04-25T14:08:00.003Z node-1 ranker 1234 ID47 [ex@32473 iut="3"] reload started\n'
        "<163>1 2024-04-25T14:08:01Z node-1 ranker - - - reload failed\n",
    )
    assert name == "log.syslog5424"
    assert evs[0].service == "ranker" and evs[0].attrs["structured_data"] == {"iut": "3"}
    assert evs[0].level == "info" and evs[1].level == "error" and not evs[1].ts_assumed
    assert evs[1].text == "reload failed"


def test_access_log_status_method_path_bytes_latency(tmp_path: Path) -> None:
    (tmp_path / "nginx").mkdir()
    name, evs, bad = read(
        tmp_path,
        "nginx/access.log",
        '10.1.2.3 - - [25/Apr/2024:14:09:00 +0000] "POST /v1/rank HTTP/1.1" 200 512 "-" "curl/8.4" 0.041\n'
        '10.1.2.4 - - [25/Apr/2024:07:09:01 -0700] "GET /healthz HTTP/1.1" 503 - "-" "probe" rt=1.250\n'
        '10.1.2.5 - - [25/Apr/2024:14:09:02 +0000] "GET /v1/items?id=7 HTTP/2.0" 404 19\n'
        "broken\n",
    )
    assert name == "log.access" and len(bad) == 1
    a, b, c = evs
    assert (a.attrs["status"], a.attrs["method"], a.attrs["path"], a.attrs["bytes"]) == (200, "POST", "/v1/rank", 512)
    assert a.attrs["latency_ms"] == pytest.approx(41.0) and a.level == "info"
    assert b.ts == datetime(2024, 4, 25, 14, 9, 1, tzinfo=UTC) and b.level == "error"
    assert b.attrs["latency_ms"] == pytest.approx(1250.0) and "bytes" not in b.attrs
    assert c.level == "warning" and "latency_ms" not in c.attrs
    assert a.service == "nginx"  # generic file name: the directory names the service


def test_invalid_utf8_is_reported_but_line_kept(tmp_path: Path) -> None:
    _, evs, bad = read(
        tmp_path, "bad.log", b"2024-04-25T14:00:00Z INFO caf\xe9 \xff\xfe ok\n2024-04-25T14:00:01Z INFO next\n"
    )
    assert len(evs) == 2 and "\ufffd" in evs[0].text
    assert len(bad) == 1 and "UTF-8" in bad[0].reason


def test_overlong_line_is_skipped_without_stopping(tmp_path: Path) -> None:
    big = "2024-04-25T14:00:01Z INFO " + "x" * 5000
    _, evs, bad = read(
        tmp_path, "big.log", f"2024-04-25T14:00:00Z INFO a\n{big}\n2024-04-25T14:00:02Z INFO c\n", max_line_bytes=200
    )
    assert [e.text for e in evs] == ["a", "c"] and evs[1].id == "log:big.log:3"
    assert len(bad) == 1 and bad[0].locator == "line 2" and "longer than 200" in bad[0].reason


def test_ids_escape_spaces(tmp_path: Path) -> None:
    _, evs, _ = read(tmp_path, "my app.log", "2024-04-25T14:00:00Z INFO a\n")
    assert evs[0].id == "log:my%20app.log:1" and evs[0].source == "my app.log"


def test_service_from_file_name_matches_whole_tokens() -> None:
    from tools.readers.common import service_from_name

    assert service_from_name("logs/ranker-2024-04-25.log", ["api", "ranker"]) == "ranker"
    assert service_from_name("logs/rapid.log", ["api"]) == "rapid"
    assert service_from_name("api/access.log", ["api"]) == "api"
    assert service_from_name("logs/access.log", []) is None


def test_logfmt_lines(tmp_path: Path) -> None:
    name, evs, bad = read(
        tmp_path,
        "prom.log",
        'ts=2024-04-25T14:03:07.120Z caller=main.go:12 level=error msg="rule evaluation failed" err="context deadline exceeded" status=503 duration_ms=812.5\n'
        "ts=2024-04-25T14:03:08Z level=info component=tsdb msg=compacted\n"
        "this is not logfmt\n",
    )
    assert name == "log.logfmt" and len(bad) == 1
    a, b = evs
    assert a.ts == datetime(2024, 4, 25, 14, 3, 7, 120000, tzinfo=UTC) and a.level == "error"
    assert a.text == "rule evaluation failed" and a.attrs["err"] == "context deadline exceeded"
    assert a.attrs["status"] == 503 and a.attrs["latency_ms"] == 812.5 and a.attrs["format"] == "logfmt"
    assert b.text == "compacted" and b.service == "tsdb"


def test_bsd_syslog_lines_of_any_tag_shape_keep_their_time(tmp_path: Path) -> None:
    # RFC 3164 leaves the TAG free: `name[pid] (detail):` and bare content lines must not be lost.
    content = (
        "Apr  3 09:10:11 mbp kernel[0]: AppleACPI: wake reason EC.LidOpen\n"
        "Apr  3 09:10:12 mbp sandboxd[88] ([4411]): Helper(4411) deny network-outbound 10.1.1.1:443\n"
        "Apr  3 09:10:13 mbp --- last message repeated 2 times ---\n"
        "Apr  3 09:10:14 mbp configd[41]: network changed\n"
    )
    name, evs, bad = read(tmp_path, "system.log", content, year_hint=2024)
    assert name == "log.syslog3164" and not bad
    assert [e.id for e in evs] == [f"log:system.log:{i}" for i in range(1, 5)]
    assert [e.ts for e in evs] == [datetime(2024, 4, 3, 9, 10, s, tzinfo=UTC) for s in range(11, 15)]
    odd = evs[1]
    assert odd.service == "sandboxd" and odd.attrs["pid"] == "88" and odd.attrs["host"] == "mbp"
    assert odd.text == "sandboxd[88] ([4411]): Helper(4411) deny network-outbound 10.1.1.1:443"
    assert evs[2].text == "--- last message repeated 2 times ---" and evs[2].attrs["pid"] is None

"""`postmortem export`: every record as one JSON line, redacted, with the documented fields."""

from __future__ import annotations

import io
import json
from datetime import datetime, timezone
from pathlib import Path

from typer.testing import CliRunner

from cli.main import app
from tools.export import export_record, iso_utc, line_of, write_jsonl
from tools.ingest import ingest
from tools.models import Evidence, EvidenceKind
from tools.store.reader import EvidenceReader
from tools.store.writer import StoreWriter

FIELDS = ["id", "kind", "ts", "ts_assumed", "source", "line", "service", "level", "text", "attrs"]
SECRET = "AKIAIOSFODNN7EXAMPLE"  # the documented example AWS key id: redacted at ingest
EMAIL = "dana@example.com"


def _dump(root: Path) -> Path:
    d = root / "dump"
    d.mkdir()
    (d / "api.jsonl").write_text("\n".join(json.dumps(r) for r in [
        {"ts": "2024-05-01T10:00:00Z", "level": "info", "msg": "request served", "status": 200},
        {"ts": "2024-05-01T12:00:01+02:00", "level": "error", "msg": f"login failed for {EMAIL}", "status": 500},
        {"ts": "2024-05-01T10:00:02Z", "level": "warn", "msg": f"key {SECRET} seen in a header"},
    ]) + "\n")
    (d / "worker.log").write_text(
        "2024-05-01 10:00:03,000 - worker - ERROR - batch failed\n"
        "Traceback (most recent call last):\n"
        "ValueError: bad batch\n"
        "2024-05-01 10:00:04,000 - worker - INFO - batch retried\n"
        "2024-05-01 10:00:05,000 - worker - INFO - done\n"
    )
    return d


def _store(tmp_path: Path) -> EvidenceReader:
    writer = StoreWriter.create(tmp_path / "e.db")
    ingest(_dump(tmp_path), writer, workdir=tmp_path / "w")
    return writer.reader()


def test_every_record_once_with_the_documented_fields(tmp_path: Path) -> None:
    store = _store(tmp_path)
    buf = io.BytesIO()
    n = write_jsonl(store, buf)
    rows = [json.loads(line) for line in buf.getvalue().decode("utf-8").splitlines()]
    assert n == len(rows) == store.count() == 6  # 3 JSON lines + 3 worker records (one with a traceback)
    assert all(list(r) == FIELDS for r in rows)
    assert len({r["id"] for r in rows}) == n
    by_id = {r["id"]: r for r in rows}
    err = by_id["log:api.jsonl:2"]
    assert err["ts"] == "2024-05-01T10:00:01Z"  # +02:00 converted to UTC
    assert err["line"] == 2 and err["level"] == "error" and err["kind"] == "log"
    assert err["attrs"]["status"] == 500 and err["source"] == "api.jsonl"
    trace = by_id["log:worker.log:1"]
    assert "ValueError: bad batch" in trace["text"] and trace["line"] == 1
    ts = [r["ts"] for r in rows]
    assert ts == sorted(ts)  # time order


def test_export_holds_redacted_text_only(tmp_path: Path) -> None:
    store = _store(tmp_path)
    buf = io.BytesIO()
    write_jsonl(store, buf)
    text = buf.getvalue().decode("utf-8")
    assert SECRET not in text and EMAIL not in text
    assert "[REDACTED:" in text


def test_progress_is_reported_and_ends_at_the_total(tmp_path: Path) -> None:
    store = _store(tmp_path)
    calls: list[tuple[int, int]] = []
    write_jsonl(store, io.BytesIO(), lambda done, total: calls.append((done, total)))
    assert calls[-1] == (6, 6)


def test_record_shape_for_undated_and_lineless_records() -> None:
    ev = Evidence(id="commit:abc", kind=EvidenceKind.COMMIT, source="git", locator="a" * 40, text="fix")
    rec = export_record(ev)
    assert rec["ts"] is None and rec["line"] is None and rec["ts_assumed"] is False
    assert line_of("line 42") == 42 and line_of("line 7 span 2") == 7 and line_of("payload 0 alert 1") is None
    when = datetime(2024, 5, 1, 10, 0, 0, 250000, tzinfo=timezone.utc)
    assert iso_utc(when) == "2024-05-01T10:00:00.250000Z"


def test_values_orjson_refuses_still_export() -> None:
    ev = Evidence(id="log:a:1", kind=EvidenceKind.LOG, source="a", text="big", attrs={"n": 2**70, "s": "\ud800"})
    buf = io.BytesIO()
    from tools.export import _dumps

    buf.write(_dumps(export_record(ev)))
    back = json.loads(buf.getvalue())
    assert back["attrs"]["n"] == 2**70 and back["attrs"]["s"] == "\ud800"


def test_cli_writes_a_file_and_stdout(tmp_path: Path) -> None:
    dump = _dump(tmp_path)
    runner = CliRunner()
    out = tmp_path / "records.jsonl"
    res = runner.invoke(app, ["export", str(dump), "--workdir", str(tmp_path / "wd"), "-o", str(out)])
    assert res.exit_code == 0, res.output
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 6 and SECRET not in out.read_text(encoding="utf-8")
    res = runner.invoke(app, ["export", str(dump), "--workdir", str(tmp_path / "wd")])
    assert res.exit_code == 0
    got = [json.loads(ln) for ln in res.stdout.splitlines() if ln.startswith("{")]
    assert [r["id"] for r in got] == [json.loads(ln)["id"] for ln in lines]


def test_cli_rejects_an_unknown_format(tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["export", str(_dump(tmp_path)), "--format", "xml",
                                   "--workdir", str(tmp_path / "wd")])
    assert res.exit_code == 2

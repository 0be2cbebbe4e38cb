"""The generic JSON reader and field discovery: any JSON Lines, arrays and documents become evidence."""

from __future__ import annotations

import dataclasses
import json
import tracemalloc
from datetime import datetime, timezone
from pathlib import Path

import pytest

import tools.readers.generic_json as gj
from tools.ingest import ingest
from tools.models import Evidence, EvidenceKind, Malformed
from tools.readers.base import ReadContext
from tools.readers.fields import MAX_VALUE_BYTES, discover, parse_time_value
from tools.readers.registry import pick_reader
from tools.store.writer import StoreWriter

UTC = timezone.utc


def read(tmp_path: Path, name: str, content: str | bytes) -> tuple[str, list[Evidence], list[Malformed]]:
    p = tmp_path / name
    p.write_bytes(content.encode() if isinstance(content, str) else content)
    head = p.read_bytes()[:65536].decode("utf-8", errors="replace")
    reader = pick_reader(p, head)
    assert reader is not None, f"no reader for {name}"
    items = list(reader.read(p, name, ReadContext(root=tmp_path)))
    return (reader.name, [i for i in items if isinstance(i, Evidence)],
            [i for i in items if isinstance(i, Malformed)])


# ---- field discovery -------------------------------------------------------------------------
@pytest.mark.parametrize("value", [1714557600, 1714557600_000, 1714557600_000_000, 1714557600_000_000_000,
                                   "1714557600", "1714557600000", 1714557600.0])
def test_epoch_magnitudes_all_mean_the_same_instant(value: object) -> None:
    parsed = parse_time_value(value)
    assert parsed is not None and parsed[0] == datetime(2024, 5, 1, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize("value", [0.000412, 12, "42", "2024-05-01", True, None, "soon", {"a": 1}])
def test_durations_counters_and_bare_dates_are_not_times(value: object) -> None:
    assert parse_time_value(value) is None


def test_discovery_judges_names_by_their_values() -> None:
    sample = [
        {"time": 0.002, "created_at": "2024-05-01T10:00:00Z", "summary": None, "title": "disk full",
         "severity": "WARN", "app": "indexer"},
        {"time": 0.003, "created_at": "2024-05-01T10:05:00Z", "summary": None, "title": "disk ok",
         "severity": "info", "app": "indexer"},
    ]
    plan = discover(sample)
    # `time` holds durations, `summary` is always null: the next names that fit are chosen.
    assert plan.describe() == {"time": "created_at", "message": "title", "level": "severity", "service": "app"}


def test_discovery_finds_a_time_one_level_down_and_time_like_names() -> None:
    assert discover([{"metadata": {"creationTimestamp": "2024-05-01T10:00:00Z"}, "kind": "Pod"}]).time == (
        "metadata", "creationTimestamp")
    assert discover([{"deployedAt": 1714557600, "rev": 3}]).time == ("deployedAt",)


# ---- JSON Lines ------------------------------------------------------------------------------
def test_json_lines_that_are_not_logs_become_records_by_line(tmp_path: Path) -> None:
    lines = [{"sample": f"s-{i}", "score": i / 10, "passed": i % 2 == 0, "occurred_at": 1714557600_000 + i * 1000}
             for i in range(5)]
    content = "\n".join(json.dumps(x) for x in lines) + "\n{broken\n"
    name, evs, bad = read(tmp_path, "results.jsonl", content)
    assert name == "json.lines"
    assert [e.id for e in evs] == [f"log:results.jsonl:{i}" for i in range(1, 6)]
    assert evs[3].ts == datetime(2024, 5, 1, 10, 0, 3, tzinfo=UTC)
    assert evs[0].kind is EvidenceKind.LOG and "sample=s-0" in evs[0].text and "score=0" in evs[0].text
    assert evs[0].attrs["fields"] == "time=occurred_at"
    assert len(bad) == 1 and bad[0].locator == "line 6"


def test_a_slice_of_json_lines_uses_the_plan_of_the_whole_file(tmp_path: Path) -> None:
    # The first lines carry `msg`; later ones also have `note`. A slice must not pick a new message.
    rows = [{"k": i, "msg": f"m{i}", "created_at": 1714557600 + i} for i in range(60)]
    rows += [{"k": i, "msg": f"m{i}", "note": "n", "created_at": 1714557600 + i} for i in range(60, 80)]
    p = tmp_path / "x.jsonl"
    data = "".join(json.dumps(r) + "\n" for r in rows).encode()
    p.write_bytes(data)
    cut = data.index(b'{"k": 70')
    whole = [e for e in gj.LINES_READER.read(p, "x.jsonl", ReadContext(root=tmp_path)) if isinstance(e, Evidence)]
    ctx = ReadContext(root=tmp_path, span=(cut, len(data), 71))
    part = [e for e in gj.LINES_READER.read(p, "x.jsonl", ctx) if isinstance(e, Evidence)]
    assert [(e.id, e.text, e.ts) for e in part] == [(e.id, e.text, e.ts) for e in whole[70:]]


# ---- arrays and wrapped arrays ---------------------------------------------------------------
def test_newest_first_array_keeps_file_order_and_each_records_own_time(tmp_path: Path) -> None:
    doc = [{"createdAt": f"2024-05-01T10:0{9 - i}:00Z", "type": "deploy", "description": f"step {i}"}
           for i in range(3)]
    name, evs, bad = read(tmp_path, "export.json", json.dumps(doc, indent=2))
    assert name == "json.document" and not bad
    assert [e.text.split(" |")[0] for e in evs] == ["step 0", "step 1", "step 2"]
    assert [e.ts.minute for e in evs if e.ts] == [9, 8, 7]
    assert [e.locator for e in evs] == ["$[0]", "$[1]", "$[2]"]


def test_object_holding_an_array_two_keys_down_plus_its_envelope(tmp_path: Path) -> None:
    doc = {"status": "ok", "generated_at": "2024-05-01T12:00:00Z",
           "data": {"total": 2, "items": [
               {"event": "index rebuilt", "level": "error", "metadata": {"creationTimestamp": "2024-05-01T11:00:00Z"}},
               {"event": "alias swapped", "level": "info", "metadata": {"creationTimestamp": "2024-05-01T11:30:00Z"}},
           ]}}
    _, evs, _ = read(tmp_path, "api.json", json.dumps(doc))
    notes = [e for e in evs if e.kind is EvidenceKind.NOTE]
    logs = [e for e in evs if e.kind is EvidenceKind.LOG]
    assert [e.id for e in logs] == ["log:api.json:1", "log:api.json:2"]
    assert logs[0].level == "error" and logs[0].text.startswith("index rebuilt")
    assert logs[1].ts == datetime(2024, 5, 1, 11, 30, tzinfo=UTC)
    assert logs[0].attrs["metadata"] == {"creationTimestamp": "2024-05-01T11:00:00Z"}
    # The envelope is kept as a note, dated by its own time field.
    assert len(notes) == 1 and "data.total=2" in notes[0].text and "$.data.items" in notes[0].text
    assert notes[0].ts == datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def test_a_document_without_records_becomes_a_bounded_undated_note(tmp_path: Path) -> None:
    doc = {"result": {"status": "green", "vectors": {"size": 768, "distance": "Dot"},
                      "big": {f"k{i}": "v" * 50 for i in range(2000)}}, "time": 0.0004}
    _, evs, bad = read(tmp_path, "collection.json", json.dumps(doc, indent=1))
    assert not bad and evs and all(e.kind is EvidenceKind.NOTE and e.ts is None for e in evs)
    assert evs[0].id == "note:collection.json:1" and "result.vectors.size=768" in evs[0].text
    assert len(evs) <= gj.MAX_SUMMARY_PARTS and all(len(e.text) < gj.SUMMARY_PART_CHARS + 200 for e in evs)
    assert "more fields not shown" in evs[-1].text


def test_big_values_are_cut_in_attrs_and_the_cut_is_named(tmp_path: Path) -> None:
    doc = {"items": [{"ts": "2024-05-01T10:00:00Z", "message": "reindex", "vector": list(range(5000))},
                     {"ts": "2024-05-01T10:00:01Z", "message": "x" * 20_000}]}
    _, evs, _ = read(tmp_path, "dump.json", json.dumps(doc))
    first, second = evs
    assert first.attrs["attrs_truncated"] == ["vector"] and len(first.attrs["vector"]) == MAX_VALUE_BYTES
    assert len(second.text) <= 9_000 and second.text.endswith("…")


def test_truncated_array_keeps_the_records_before_the_damage(tmp_path: Path) -> None:
    items = [json.dumps({"time": f"2024-05-01T10:00:0{i}Z", "msg": f"r{i}"}) for i in range(5)]
    content = '{"hits": [' + ",".join(items) + ', {"time": "2024-05-01T10:0'
    name, evs, bad = read(tmp_path, "cut.json", content)
    assert name == "json.document"
    assert [e.text for e in evs] == [f"r{i}" for i in range(5)]
    assert len(bad) == 1 and "truncated" in bad[0].reason


def test_text_that_starts_with_a_bracket_is_not_json(tmp_path: Path) -> None:
    p = tmp_path / "app.out"
    p.write_text("[INFO] starting\n[WARN] slow\n")
    assert not gj.DOC_READER.sniff(p, p.read_text())
    assert not gj.LINES_READER.sniff(p, p.read_text())


def test_an_empty_array_and_an_array_of_numbers_still_become_evidence(tmp_path: Path) -> None:
    for name, content in (("empty.json", "[]"), ("nums.json", "[1, 2, 3]")):
        _, evs, bad = read(tmp_path, name, content)
        assert len(evs) == 1 and evs[0].kind is EvidenceKind.NOTE and not bad


# ---- streaming -------------------------------------------------------------------------------
def _write_big_array(path: Path, n: int) -> int:
    pad = "p" * 2900
    with open(path, "w") as f:
        f.write('{"took": 3, "hits": [')
        for i in range(n):
            f.write(("," if i else "") + json.dumps(
                {"@timestamp": 1714557600_000 + i, "message": f"event {i}", "pad": pad}))
        f.write("]}")
    return path.stat().st_size


def test_a_large_array_is_streamed_with_memory_far_below_its_size(tmp_path: Path) -> None:
    p = tmp_path / "big.json"
    size = _write_big_array(p, 10_500)  # ~31 MB
    assert size > gj.SMALL_DOC_BYTES  # the streaming path, not a whole-document parse
    tracemalloc.start()
    try:
        count, last = 0, None
        for ev in gj.DOC_READER.read(p, "big.json", ReadContext(root=tmp_path)):
            assert isinstance(ev, Evidence)
            if ev.kind is EvidenceKind.LOG:
                count, last = count + 1, ev
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 10_500 and last is not None and last.text.startswith("event 10499")
    assert last.locator == "$.hits[10499]" and last.id == "log:big.json:10500"
    assert peak < size / 10, f"peak {peak} bytes for a {size}-byte file"


def test_streamed_and_whole_parse_give_the_same_records(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = tmp_path / "mid.json"
    _write_big_array(p, 120)
    whole = [(e.id, e.text, e.ts, e.locator) for e in gj.DOC_READER.read(p, "m", ReadContext(root=tmp_path))]
    monkeypatch.setattr(gj, "SMALL_DOC_BYTES", 1)
    streamed = [(e.id, e.text, e.ts, e.locator) for e in gj.DOC_READER.read(p, "m", ReadContext(root=tmp_path))]
    assert streamed == whole and len(whole) == 121  # 120 records and the envelope note


# ---- through ingest --------------------------------------------------------------------------
def test_ingest_reads_unknown_json_instead_of_skipping_it(tmp_path: Path) -> None:
    dump = tmp_path / "dump"
    dump.mkdir()
    (dump / "points.json").write_text(json.dumps({"result": {"points": [
        {"id": 1, "payload": {"doc": "a", "updated_at": "2024-05-01T10:00:00Z"}},
        {"id": 2, "payload": {"doc": "b", "updated_at": "2024-05-01T10:01:00Z"}}]}, "status": "ok"}))
    (dump / "config.json").write_text(json.dumps({"replicas": 2, "quantization": None}))
    inv = ingest(dump, StoreWriter.create(tmp_path / "s.db"), workdir=tmp_path / "work")
    kinds = {s.path: s.kind for s in inv.sources}
    assert kinds == {"points.json": "json.document", "config.json": "json.document"}
    assert not [s for s in inv.skipped if s.path.endswith(".json")]
    assert inv.total_records == 4  # two points, the points file's envelope, the config summary


def test_ctx_is_not_mutated_beyond_coverage(tmp_path: Path) -> None:
    p = tmp_path / "a.jsonl"
    p.write_text('{"k": 1}\n{"k": 2}\n')
    ctx = ReadContext(root=tmp_path)
    before = dataclasses.replace(ctx)
    list(gj.LINES_READER.read(p, "a.jsonl", ctx))
    assert ctx.span == before.span and ctx.coverage.lines == 2 and ctx.coverage.undated_lines == 2

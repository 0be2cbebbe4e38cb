"""Coverage in the inventory: lines, continuation and undated lines, bytes read into evidence.

Every expected figure is counted here from the files the test writes (line by line, byte by
byte), so a reader or merge that loses or double-counts a line shows up as a wrong number.
"""

from __future__ import annotations

import json
import random
from datetime import datetime, timezone
from pathlib import Path

import pytest

import tools.ingest as ingest_mod
from tools.ingest import COVERAGE_FLOOR, coverage_gap, coverage_totals, ingest
from tools.models import Evidence, EvidenceKind, Inventory, Malformed, SourceReport
from tools.readers.base import Coverage, ReadContext
from tools.readers.common import MAX_CONTINUATION_LINES, iter_json_lines, make, read_line_records
from tools.store.writer import StoreWriter

# Python logging lines (the default format), a traceback, an undated `basicConfig` record with
# one indented continuation, a blank line and one line that is no record at all.
APP_LOG = [
    "2024-05-01 10:00:00,001 - api - INFO - started",
    "2024-05-01 10:00:01,002 - api - ERROR - request failed",
    "Traceback (most recent call last):",
    '  File "app.py", line 3, in handler',
    "ValueError: bad input",
    "ERROR:api.worker:worker lost its lease",
    "  while renewing",
    "",
    "this line is not a log record",
    "2024-05-01 10:00:02,003 - api - INFO - recovered",
    "2024-05-01 10:00:03,004 - api - INFO - serving",
    "2024-05-01 10:00:04,005 - api - INFO - serving",
]
APP_RECORDS = 6
APP_CONTINUATIONS = 4  # three traceback lines + one indented line
APP_UNDATED = 2  # the basicConfig record and its continuation
APP_LOST = "this line is not a log record"

EVENTS = [
    json.dumps({"ts": "2024-05-01T10:00:00Z", "level": "info", "msg": "queue drained"}),
    json.dumps({"ts": "2024-05-01T10:00:01Z", "level": "error", "msg": "consumer lag"}),
    '{"ts": "2024-05-01T10:00:02Z", "level": ',  # cut short: invalid JSON
    json.dumps({"ts": "2024-05-01T10:00:03Z", "level": "info", "msg": "lag cleared"}),
]
MAX_LINE = 400  # ingest's max_line_bytes in these tests: every line of long.jsonl exceeds it


def _nbytes(line: str) -> int:
    return len(line.encode("utf-8")) + 1  # with its newline


def _dump(root: Path) -> Path:
    d = root / "dump"
    (d / "logs").mkdir(parents=True)
    (d / "logs" / "app.log").write_text("\n".join(APP_LOG) + "\n")
    (d / "logs" / "events.jsonl").write_text("\n".join(EVENTS) + "\n")
    # JSON lines too long to read (a dump of embeddings, say): text that cannot become evidence.
    long_line = json.dumps({"ts": "2024-05-01T10:00:00Z", "msg": "x" * (MAX_LINE + 100)})
    (d / "logs" / "long.jsonl").write_text((long_line + "\n") * 3)
    # A binary file: listed, but outside the text the coverage is measured on.
    (d / "core.bin").write_bytes(b"\x89PNG\r\n\x1a\n" + random.Random(7).randbytes(4096))
    return d


def _ingest(dump: Path, out: Path, workers: int = 1) -> Inventory:
    writer = StoreWriter.create(out / "e.db")
    try:
        return ingest(dump, writer, workdir=out / "w", max_line_bytes=MAX_LINE, workers=workers,
                      parallel_min_bytes=0)
    finally:
        writer.close()


def _by_path(inv: Inventory) -> dict[str, SourceReport]:
    return {s.path: s for s in [*inv.sources, *inv.skipped]}


def test_line_helper_counts_every_line_once(tmp_path: Path) -> None:
    d = _dump(tmp_path)
    inv = _ingest(d, tmp_path / "out")
    app = _by_path(inv)["logs/app.log"]
    size = (d / "logs" / "app.log").stat().st_size
    assert app.records == APP_RECORDS
    assert app.lines == len(APP_LOG)
    assert app.continuation_lines == APP_CONTINUATIONS
    assert app.undated_lines == APP_UNDATED
    assert app.malformed == 1
    assert app.bytes == size
    assert app.bytes_covered == size - _nbytes(APP_LOST)


def test_json_lines_bad_and_overlong_lines_are_not_covered(tmp_path: Path) -> None:
    d = _dump(tmp_path)
    inv = _ingest(d, tmp_path / "out")
    by = _by_path(inv)
    events = by["logs/events.jsonl"]
    size = (d / "logs" / "events.jsonl").stat().st_size
    assert (events.records, events.lines, events.malformed) == (3, 4, 1)
    assert events.bytes_covered == size - _nbytes(EVENTS[2])
    long = by["logs/long.jsonl"]
    assert long.records == 0 and long.lines == 3 and long.malformed == 3
    assert long.bytes == (d / "logs" / "long.jsonl").stat().st_size and long.bytes_covered == 0


def test_totals_leave_binary_files_out_and_report_the_gap(tmp_path: Path) -> None:
    d = _dump(tmp_path)
    inv = _ingest(d, tmp_path / "out")
    by = _by_path(inv)
    binary = by["core.bin"]
    assert binary.binary and binary.bytes == (d / "core.bin").stat().st_size  # listed, with its size
    text = sum((d / "logs" / n).stat().st_size for n in ("app.log", "events.jsonl", "long.jsonl"))
    covered = by["logs/app.log"].bytes_covered + by["logs/events.jsonl"].bytes_covered
    assert inv.text_bytes == text
    assert inv.covered_bytes == covered
    assert inv.coverage == pytest.approx(covered / text, abs=1e-4)
    assert inv.total_lines == len(APP_LOG) + len(EVENTS) + 3
    assert inv.total_continuation_lines == APP_CONTINUATIONS
    assert inv.total_undated_lines == APP_UNDATED
    # long.jsonl outweighs the rest: under the floor, so the first data gap says so and names it.
    assert inv.coverage < COVERAGE_FLOOR
    assert inv.data_gaps[0].startswith(f"Only {int(inv.coverage * 100)}% of the dump's text")
    assert "logs/long.jsonl" in inv.data_gaps[0] and "core.bin" not in inv.data_gaps[0]


def test_readable_dump_has_no_coverage_gap(tmp_path: Path) -> None:
    d = _dump(tmp_path)
    (d / "logs" / "long.jsonl").unlink()
    (d / "logs" / "events.jsonl").write_text("\n".join(e for e in EVENTS if e.endswith("}")) + "\n")
    (d / "logs" / "app.log").write_text("\n".join(ln for ln in APP_LOG if ln != APP_LOST) + "\n")
    inv = _ingest(d, tmp_path / "out")
    assert inv.covered_bytes == inv.text_bytes  # every line of both files is inside a record
    assert inv.coverage is not None and inv.coverage >= COVERAGE_FLOOR
    assert not any("of the dump's text" in g for g in inv.data_gaps)


def test_parallel_slices_sum_to_the_single_process_figures(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    d = _dump(tmp_path)
    # A bigger log, cut into many slices (each worker counts its own slice).
    lines = []
    for i in range(3000):
        lines.append(f"2024-05-01 11:{i // 60 % 60:02d}:{i % 60:02d},000 - api - INFO - request {i}")
        if i % 100 == 0:
            lines += ["Traceback (most recent call last):", "ValueError: boom"]
    (d / "logs" / "big.log").write_text("\n".join(lines) + "\n")
    one = _ingest(d, tmp_path / "one", workers=1)
    monkeypatch.setattr(ingest_mod, "CHUNK_BYTES", 16 * 1024)
    two = _ingest(d, tmp_path / "two", workers=2)
    big_one, big_two = _by_path(one)["logs/big.log"], _by_path(two)["logs/big.log"]
    assert big_one.lines == len(lines) and big_one.continuation_lines == 60
    assert big_one.bytes_covered == (d / "logs" / "big.log").stat().st_size
    fields = ("lines", "continuation_lines", "undated_lines", "bytes", "bytes_covered", "records")
    assert [getattr(big_two, f) for f in fields] == [getattr(big_one, f) for f in fields]
    assert (two.text_bytes, two.covered_bytes, two.coverage) == (one.text_bytes, one.covered_bytes, one.coverage)


def _dated_lines(line: str, lineno: int) -> Evidence | None:
    """A parser for the helper: lines starting with a date are records, the rest continue them."""
    if not line.startswith("2024-"):
        return None
    return make(EvidenceKind.LOG, f"log:t:{lineno}", "trace.log", f"line {lineno}",
                ts=datetime(2024, 5, 1, tzinfo=timezone.utc), text=line)


def test_a_record_past_its_bounds_reports_what_it_dropped(tmp_path: Path) -> None:
    p = tmp_path / "trace.log"
    extra = MAX_CONTINUATION_LINES + 5
    p.write_text("2024-05-01 10:00:00,000 - api - ERROR - boom\n" + "".join(f"  frame {i}\n" for i in range(extra)))
    ctx = ReadContext(root=tmp_path)
    items = list(read_line_records(p, "trace.log", ctx, _dated_lines))
    bad = [i for i in items if isinstance(i, Malformed)]
    assert len(bad) == 1 and "5 continuation lines" in bad[0].reason  # never dropped silently
    assert ctx.coverage.lines == extra + 1 and ctx.coverage.continuation_lines == MAX_CONTINUATION_LINES
    dropped = sum(_nbytes(f"  frame {i}") for i in range(MAX_CONTINUATION_LINES, extra))
    assert ctx.coverage.bytes_covered == p.stat().st_size - dropped


def test_coverage_is_counted_even_when_the_consumer_stops_early(tmp_path: Path) -> None:
    p = tmp_path / "e.jsonl"
    p.write_text("\n".join(EVENTS) + "\n")
    ctx = ReadContext(root=tmp_path)
    it = iter_json_lines(p, "e.jsonl", ctx)
    next(it)
    it.close()  # a reader that stopped after the first line (an exception, say)
    assert ctx.coverage.lines == 1
    assert ctx.coverage.bytes_covered == _nbytes(EVENTS[0])


def test_skipped_text_counts_as_lost_and_binary_as_outside() -> None:
    inv = Inventory(dump="d", sources=[SourceReport(path="a.log", kind="log", records=5, bytes=600, bytes_covered=600)],
                    skipped=[SourceReport(path="b.txt", kind="skipped", note="skipped: unrecognised format", bytes=400),
                             SourceReport(path="c.bin", kind="skipped", bytes=10_000, binary=True)])
    coverage_totals(inv)
    assert (inv.text_bytes, inv.covered_bytes, inv.coverage) == (1000, 600, 0.6)
    gap = coverage_gap(inv)
    assert gap is not None and gap.startswith("Only 60% ") and "b.txt (400 bytes unread, skipped: unrecognised format)" in gap
    assert "c.bin" not in gap


def test_no_text_means_no_coverage_figure() -> None:
    inv = Inventory(dump="d", skipped=[SourceReport(path="c.bin", kind="skipped", bytes=10, binary=True)])
    coverage_totals(inv)
    assert inv.coverage is None and coverage_gap(inv) is None


def test_document_sources_count_whole_when_parsed() -> None:
    from tools.ingest_units import Stats

    parsed = Stats("pd.json", "pagerduty", 900)
    parsed.report.records = 4
    parsed.covered(Coverage())  # a document reader counts no lines
    assert parsed.done().bytes_covered == 900
    failed = Stats("bad.json", "pagerduty", 900)
    assert failed.done().bytes_covered == 0  # nothing parsed, nothing covered

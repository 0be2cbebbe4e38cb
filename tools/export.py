"""Export an evidence store as JSON Lines: one record per line, after redaction.

The store only ever holds redacted records (tools/ingest_units.RecordFilter runs before a row is
written), so whatever this module reads is safe to hand on. Records stream from SQLite one row at
a time and are written as they come: memory stays flat whatever the size of the dump. The CLI
(`postmortem export`), tests and benchmarks all read records through `export_record`, so they see
the same fields.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import Any, BinaryIO

import orjson

from tools.models import Evidence
from tools.store.reader import EvidenceReader

FORMATS = ("jsonl",)
# Locators that name a line: "line 42", and slices/ranges such as "lines 42-57".
_LINE = re.compile(r"^lines? (\d+)\b")
# How often the progress callback hears about it (records).
PROGRESS_EVERY = 10_000

Progress = Callable[[int, int], None]


def iso_utc(ts: datetime | None) -> str | None:
    """ISO 8601 in UTC with a `Z` (seconds, plus microseconds when the source had them)."""
    if ts is None:
        return None
    return ts.astimezone(timezone.utc).replace(tzinfo=None).isoformat() + "Z"


def line_of(locator: str) -> int | None:
    """The first line number a locator names, when it names one (a commit sha does not)."""
    m = _LINE.match(locator)
    return int(m.group(1)) if m else None


def export_record(ev: Evidence) -> dict[str, Any]:
    """The exported shape of one record (field order is the documented one)."""
    return {
        "id": ev.id,
        "kind": ev.kind.value,
        "ts": iso_utc(ev.ts),
        "ts_assumed": ev.ts_assumed,
        "source": ev.source,
        "line": line_of(ev.locator),
        "service": ev.service,
        "level": ev.level,
        "text": ev.text,
        "attrs": ev.attrs,
    }


def iter_export(store: EvidenceReader) -> Iterator[dict[str, Any]]:
    """Every record of the store in time order (undated ones last, in file order)."""
    for ev in store.iter():
        yield export_record(ev)


def _dumps(rec: dict[str, Any]) -> bytes:
    try:
        return orjson.dumps(rec)
    except TypeError:
        # orjson refuses integers past 64 bits and lone surrogates; the stdlib writes both
        # (surrogates as \u escapes, so the line is still valid UTF-8).
        return json.dumps(rec, default=str).encode("ascii")


def write_jsonl(store: EvidenceReader, out: BinaryIO, progress: Progress | None = None) -> int:
    """Write every record to the binary stream `out`, one JSON object per line (UTF-8); returns
    the number written. `progress(done, total)` is called every PROGRESS_EVERY records and at the end."""
    total = store.count()
    n = 0
    write = out.write
    for rec in iter_export(store):
        write(_dumps(rec) + b"\n")
        n += 1
        if progress is not None and n % PROGRESS_EVERY == 0:
            progress(n, total)
    if progress is not None:
        progress(n, total)
    return n

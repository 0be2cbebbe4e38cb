"""Any JSON no specialised reader claimed: JSON Lines, arrays of objects, objects holding arrays of
objects a few keys down (`{"events": [...]}`, `{"data": {"items": [...]}}`), and plain documents.

Each object of such an array (or line) becomes one LOG record, in file order (a newest-first export
stays newest-first; each record's time is its own). Which field is the time, the message, the level
and the service is decided once per array from a sample (tools/readers/fields.py) and named in each
record's attrs `fields`. What surrounds the arrays (the "envelope": status, generated_at, ...) and
documents that hold no array of objects (a config dump, a collection description) become a few
NOTE records summarising them, bounded in size, so no JSON file is skipped.

Memory: documents up to SMALL_DOC_BYTES are parsed whole (orjson); bigger ones are streamed with
ijson (C backend), one object at a time, so a 250 MB array needs a few MB, not gigabytes.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import ijson
import orjson

from tools.models import Evidence, EvidenceKind, Malformed
from tools.readers.base import Coverage, ReadContext
from tools.readers.common import id_part, iter_json_lines, looks_like_jsonl, make, service_from_name
from tools.readers.fields import (
    FieldPlan,
    bounded_attrs,
    discover,
    dumps,
    parse_time_value,
    shape,
)

SMALL_DOC_BYTES = 8 * 1024 * 1024  # parsed whole below this size; streamed above it
SAMPLE_SIZE = 50  # records inspected to decide the field plan
MAX_ARRAY_DEPTH = 3  # keys between the document root and an array of records
SCAN_BYTES = 1024 * 1024  # a streamed document's arrays must start within its first MB
MAX_ENVELOPE_FIELDS = 200
SUMMARY_PART_CHARS = 4_000
MAX_SUMMARY_PARTS = 8
MAX_SUMMARY_VALUE = 300
PROGRESS_EVERY = 8 * 1024 * 1024

Keys = tuple[str, ...]


# ---- sniffing --------------------------------------------------------------------------------
def json_document_head(head: str) -> bool:
    """The head is a JSON object or array, whole or cut off by the sniff window: a syntax error
    before the end (`[INFO] ...`, `{hostname} ...`) is text, not JSON."""
    s = head.lstrip("\ufeff \t\r\n")
    if not s or s[0] not in "{[":
        return False
    try:
        json.loads(s)
        return True
    except RecursionError:
        return False
    except json.JSONDecodeError as exc:
        if exc.msg.startswith(("Extra data", "Unterminated string")):
            return True  # several values (read as JSON Lines), or a string cut by the window
        return exc.pos >= len(s.rstrip()) - 1


# ---- records ---------------------------------------------------------------------------------
@dataclasses.dataclass
class _Out:
    """Where one file's records go: ids, service and the zone rules, shared by every array."""

    rel: str
    ctx: ReadContext
    service: str | None
    count: int = 0
    stopped_at: int = 0  # bytes read when a streamed document turned out broken (0: it did not)

    def record(self, value: Any, plan: FieldPlan, locator: str, index: int | None = None) -> Evidence:
        """One LOG record of an object (or of a stray non-object value)."""
        self.count += 1
        n = str(index if index is not None else self.count)
        eid = f"log:{id_part(self.rel)}:{n}"
        if isinstance(value, dict):
            sh = shape(value, plan, "json", self.service, self.ctx.default_tz, self.ctx.year_hint)
            ts = sh.ts
            return make(EvidenceKind.LOG, eid, self.rel, locator, ts=ts[0] if ts else None,
                        assumed=ts[1] if ts else False, service=sh.service, level=sh.level,
                        text=sh.text, attrs=sh.attrs)
        return make(EvidenceKind.LOG, eid, self.rel, locator, service=self.service,
                    text=dumps(value)[:SUMMARY_PART_CHARS], attrs={"format": "json", "value_type": type(value).__name__})

    def summary(self, fields: list[tuple[str, Any]], title: str, extra: dict[str, Any]) -> Iterator[Evidence]:
        """A few NOTE records listing a document's fields as `path=value` lines, bounded."""
        plan = discover([dict(fields)], self.ctx.default_tz, self.ctx.year_hint)
        ts = parse_time_value(dict(fields).get(plan.time[0]), self.ctx.default_tz) if plan.time else None
        parts = _chunks([f"{p}={_short(v)}" for p, v in fields])
        for i, (lines, more) in enumerate(parts, 1):
            text = f"{title} (part {i}/{len(parts)})\n" if len(parts) > 1 else f"{title}\n"
            text += "\n".join(lines) + (f"\n… {more} more fields not shown" if more else "")
            attrs: dict[str, Any] = {"format": "json", "fields_total": len(fields), **(extra if i == 1 else {})}
            yield make(EvidenceKind.NOTE, f"note:{id_part(self.rel)}:{i}", self.rel, f"document part {i}",
                       ts=ts[0] if ts else None, assumed=ts[1] if ts else False, service=self.service,
                       text=text, attrs=attrs)


def _short(v: Any) -> str:
    s = v if isinstance(v, str) else dumps(v)
    return s if len(s) <= MAX_SUMMARY_VALUE else s[: MAX_SUMMARY_VALUE - 1] + "…"


def _chunks(lines: list[str]) -> list[tuple[list[str], int]]:
    """Lines grouped into parts of about SUMMARY_PART_CHARS, at most MAX_SUMMARY_PARTS; the last
    part carries how many lines did not fit."""
    parts: list[tuple[list[str], int]] = []
    cur: list[str] = []
    size = 0
    for i, line in enumerate(lines):
        if cur and size + len(line) > SUMMARY_PART_CHARS:
            parts.append((cur, 0))
            cur, size = [], 0
            if len(parts) == MAX_SUMMARY_PARTS:
                last, _ = parts[-1]
                parts[-1] = (last, len(lines) - i)
                return parts
        cur.append(line)
        size += len(line) + 1
    if cur or not parts:
        parts.append((cur or ["(empty document)"], 0))
    return parts


def _path_text(keys: Keys) -> str:
    return "$" + "".join(f".{k}" for k in keys)


# ---- in-memory documents ---------------------------------------------------------------------
def _mostly_objects(items: list[Any]) -> bool:
    head = items[:SAMPLE_SIZE]
    return bool(head) and sum(isinstance(x, dict) for x in head) * 2 >= len(head)


def find_arrays(doc: Any) -> list[tuple[Keys, list[Any]]]:
    """Arrays of objects at most MAX_ARRAY_DEPTH keys below the root, in document order."""
    if isinstance(doc, list):
        return [((), doc)] if _mostly_objects(doc) else []
    found: list[tuple[Keys, list[Any]]] = []

    def walk(obj: dict[str, Any], keys: Keys) -> None:
        for k, v in obj.items():
            if isinstance(v, list) and _mostly_objects(v):
                found.append(((*keys, k), v))
            elif isinstance(v, dict) and len(keys) + 1 < MAX_ARRAY_DEPTH:
                walk(v, (*keys, k))

    if isinstance(doc, dict):
        walk(doc, ())
    return found


def flatten(doc: Any, skip: set[Keys], limit: int = 10_000) -> list[tuple[str, Any]]:
    """(dotted path, value) of a document's leaves; arrays of scalars stay whole, arrays in `skip`
    (read as records) are left out. Bounded by `limit` leaves."""
    out: list[tuple[str, Any]] = []

    def walk(v: Any, keys: Keys) -> None:
        if len(out) >= limit:
            return
        if keys in skip and isinstance(v, list):
            return  # records of their own
        if isinstance(v, dict) and v:
            for k, x in v.items():
                walk(x, (*keys, k))
        elif isinstance(v, list) and any(isinstance(x, (dict, list)) for x in v[:SAMPLE_SIZE]):
            for i, x in enumerate(v[:SAMPLE_SIZE]):
                walk(x, (*keys, str(i)))
        else:
            out.append((".".join(keys) or "$", v))

    walk(doc, ())
    return out


def _read_doc(doc: Any, out: _Out, name: str) -> Iterator[Evidence | Malformed]:
    arrays = find_arrays(doc)
    ctx = out.ctx
    if not arrays:
        keys = list(doc)[:50] if isinstance(doc, dict) else []
        yield from out.summary(flatten(doc, set()), f"JSON document {name}", {"document_keys": keys,
                                                                              "document": _bounded(doc)})
        return
    if isinstance(doc, dict):
        envelope = flatten(doc, {k for k, _ in arrays})
        if envelope:  # the same note a streamed document gets: fields around the records
            where = ", ".join(_path_text(k) for k, _ in arrays)
            yield from out.summary(envelope, f"JSON document {name}: records at {where}; other fields", {})
    for keys, items in arrays:
        objs = [x for x in items[:SAMPLE_SIZE] if isinstance(x, dict)]
        plan = discover(objs, ctx.default_tz, ctx.year_hint)
        where = _path_text(keys)
        for i, item in enumerate(items):
            yield out.record(item, plan, f"{where}[{i}]")


def _bounded(doc: Any) -> Any:
    return bounded_attrs(doc) if isinstance(doc, dict) else dumps(doc)[:SUMMARY_PART_CHARS]


# ---- streamed documents ----------------------------------------------------------------------
class _Counting:
    """A binary file that counts what was read from it (progress, and the scan's byte limit)."""

    def __init__(self, f: BinaryIO, on_bytes: Callable[[int], None] | None) -> None:
        self.f, self.n, self.on_bytes, self.next = f, 0, on_bytes, PROGRESS_EVERY

    def read(self, size: int = -1) -> bytes:
        b = self.f.read(size)
        self.n += len(b)
        if self.on_bytes is not None and self.n >= self.next:
            self.on_bytes(self.n)
            self.next = self.n + PROGRESS_EVERY
        return b


_SCALARS = frozenset(("string", "number", "boolean", "null"))


@dataclasses.dataclass
class _Scan:
    """What the first bytes of a streamed document hold: the prefixes (ijson's dotted paths) of
    its arrays of objects, and the envelope's scalar fields."""

    arrays: list[str] = dataclasses.field(default_factory=list)
    fields: list[tuple[str, Any]] = dataclasses.field(default_factory=list)
    error: str | None = None
    complete: bool = False
    read: int = 0  # bytes read by the scan


def _inside(prefix: str, arrays: list[str]) -> bool:
    return any(prefix == a or prefix.startswith(a + ".") for a in arrays)


def scan_document(path: Path, limit: int) -> _Scan:
    """Walk the parse events of the first `limit` bytes (bounded memory) to find arrays of objects."""
    scan = _Scan()
    pending: str | None = None  # an array just opened, not yet known to hold objects
    with open(path, "rb") as f:
        cf = _Counting(f, None)
        try:
            for prefix, event, value in ijson.parse(cf, use_float=True):
                if pending is not None:
                    item = f"{pending}.item" if pending else "item"
                    if event == "start_map" and prefix == item:
                        scan.arrays.append(item)
                    pending = None
                if cf.n >= limit:
                    break
                if _inside(prefix, scan.arrays):
                    continue
                if event == "start_array" and _depth(prefix) <= MAX_ARRAY_DEPTH:
                    pending = prefix
                elif event in _SCALARS and len(scan.fields) < MAX_ENVELOPE_FIELDS:
                    scan.fields.append((prefix.replace(".item", "[]") or "$", value))
            else:
                scan.complete = True
        except (ijson.JSONError, ValueError) as exc:
            scan.error = str(exc)[:200]
        scan.read = cf.n
    return scan


def _depth(prefix: str) -> int:
    if not prefix:
        return 0
    parts = prefix.split(".")
    return MAX_ARRAY_DEPTH + 1 if "item" in parts else len(parts)


def _stream_array(path: Path, prefix: str, out: _Out) -> Iterator[Evidence | Malformed]:
    """Records of one array, one object in memory at a time (plus the plan's sample)."""
    where = "$" + ("" if prefix == "item" else "." + prefix[: -len(".item")])
    sample: list[Any] = []
    plan: FieldPlan | None = None
    broken: Malformed | None = None
    i = -1
    with open(path, "rb") as f:
        cf = _Counting(f, out.ctx.on_bytes)
        try:
            for i, item in enumerate(ijson.items(cf, prefix, use_float=True)):
                if plan is not None:
                    yield out.record(item, plan, f"{where}[{i}]")
                    continue
                sample.append(item)
                if len(sample) >= SAMPLE_SIZE:
                    plan = _plan_of(sample, out.ctx)
                    yield from (out.record(x, plan, f"{where}[{j}]") for j, x in enumerate(sample))
                    sample = []
        except (ijson.JSONError, ValueError) as exc:
            out.stopped_at = max(out.stopped_at, cf.n)  # about where the damage is (read buffers)
            broken = Malformed(source=out.rel, locator=f"{where}[{i + 1}]",
                               reason=f"invalid or truncated JSON after {i + 1} records: {exc}"[:300])
    if plan is None:
        plan = _plan_of(sample, out.ctx)
        yield from (out.record(x, plan, f"{where}[{j}]") for j, x in enumerate(sample))
    if broken is not None:
        yield broken


def _plan_of(sample: list[Any], ctx: ReadContext) -> FieldPlan:
    return discover([x for x in sample if isinstance(x, dict)], ctx.default_tz, ctx.year_hint)


def _read_streamed(path: Path, out: _Out, name: str, scan_limit: int) -> Iterator[Evidence | Malformed]:
    yield from _streamed_records(path, out, name, scan_limit)
    # Coverage: all of it, or what was read before the damage (the scan's, or an array's).
    size = path.stat().st_size
    out.ctx.coverage.bytes_covered += min(size, out.stopped_at) if out.stopped_at else size


def _streamed_records(path: Path, out: _Out, name: str, scan_limit: int) -> Iterator[Evidence | Malformed]:
    scan = scan_document(path, scan_limit)
    if scan.error:
        out.stopped_at = scan.read
    if scan.arrays:
        where = ", ".join(_path_text(tuple(a.split(".")[:-1])) for a in scan.arrays)
        if scan.fields:
            yield from out.summary(scan.fields, f"JSON document {name}: records at {where}; other fields", {})
        reported = False
        for prefix in scan.arrays:
            for item in _stream_array(path, prefix, out):
                reported = reported or isinstance(item, Malformed)
                yield item
        if scan.error and not reported:
            yield Malformed(source=out.rel, reason=f"invalid or truncated JSON: {scan.error}")
        return
    if not scan.complete:
        out.stopped_at = scan.read  # a document summarised from its head only
    if scan.fields or scan.complete:
        note = "" if scan.complete else f" (first {scan_limit // 1024} KB)"
        yield from out.summary(scan.fields, f"JSON document {name}{note}", {"streamed": True})
    if scan.error:
        yield Malformed(source=out.rel, reason=f"invalid or truncated JSON: {scan.error}")


# ---- readers ---------------------------------------------------------------------------------
def _out(path: Path, rel: str, ctx: ReadContext) -> _Out:
    return _Out(rel, ctx, service_from_name(rel, ctx.services))


def _file_sample(path: Path, rel: str, ctx: ReadContext) -> list[Any]:
    """The first objects of a JSON Lines file, read from its start even when `ctx` is a slice, so
    every slice of a big file uses the same field plan."""
    whole = dataclasses.replace(ctx, span=None, on_bytes=None, coverage=Coverage())  # not counted twice
    sample: list[Any] = []
    for item in iter_json_lines(path, rel, whole):
        if not isinstance(item, Malformed) and isinstance(item[1], dict):
            sample.append(item[1])
            if len(sample) >= SAMPLE_SIZE:
                break
    return sample


class GenericJsonLinesReader:
    """JSON Lines whose objects are not log lines (logs_jsonl takes those): eval samples, API
    exports, audit events. One record per line, ids by line number like every line reader."""

    name = "json.lines"
    needs_year = False
    splittable = True  # one record per line: big files are read in slices

    def sniff(self, path: Path, head: str) -> bool:
        return looks_like_jsonl(head)

    def read(self, path: Path, rel: str, ctx: ReadContext) -> Iterator[Evidence | Malformed]:
        out = _out(path, rel, ctx)
        plan = _plan_of(_file_sample(path, rel, ctx), ctx)
        cov = ctx.coverage  # iter_json_lines counts lines and bytes; undated records are ours
        for item in iter_json_lines(path, rel, ctx):
            if isinstance(item, Malformed):
                yield item
                continue
            lineno, value = item
            ev = out.record(value, plan, f"line {lineno}", index=lineno)
            if ev.ts is None:
                cov.undated_lines += 1
            yield ev


class GenericJsonDocReader:
    """One JSON document: an array of objects, an object holding such arrays, or anything else."""

    name = "json.document"
    needs_year = False

    def sniff(self, path: Path, head: str) -> bool:
        return json_document_head(head)

    def read(self, path: Path, rel: str, ctx: ReadContext) -> Iterator[Evidence | Malformed]:
        out = _out(path, rel, ctx)
        try:
            size = path.stat().st_size
        except OSError as exc:
            yield Malformed(source=rel, reason=f"unreadable: {exc.strerror}")
            return
        name = path.name
        if size > SMALL_DOC_BYTES:
            yield from _read_streamed(path, out, name, SCAN_BYTES)
            return
        raw = path.read_bytes()
        doc, ok = _loads(raw)
        if ok:
            ctx.coverage.bytes_covered += size
            yield from _read_doc(doc, out, name)
        elif _several_values(raw):
            yield from GenericJsonLinesReader().read(path, rel, ctx)
        else:
            # Broken or cut off: keep every record before the damage, then say where it stopped.
            yield from _read_streamed(path, out, name, size + 1)


def _loads(raw: bytes) -> tuple[Any, bool]:
    try:
        return orjson.loads(raw), True
    except orjson.JSONDecodeError:
        pass
    try:  # what orjson refuses but Python reads: integers past 64 bits, NaN, a BOM
        return json.loads(raw.decode("utf-8", errors="replace").lstrip("\ufeff")), True
    except (ValueError, RecursionError):
        return None, False


def _several_values(raw: bytes) -> bool:
    """One JSON value per line (JSON Lines whose first line is too long for the sniff window)."""
    lines = [ln for ln in raw[: 4 * 1024 * 1024].splitlines()[:3] if ln.strip()]
    if len(lines) < 2:
        return False
    try:
        for ln in lines[:2]:
            orjson.loads(ln)
    except orjson.JSONDecodeError:
        return False
    return True


LINES_READER = GenericJsonLinesReader()
DOC_READER = GenericJsonDocReader()

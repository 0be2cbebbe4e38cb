"""CSV / TSV exports: dashboard panels (Grafana, Datadog), experiment histories (W&B), query results.

The dialect (delimiter, quoting) is sniffed with the csv module and checked against the rows: a
header of names, then rows with as many cells as the header. The time column is found by name and
by values (tools/readers/fields.py); rows whose time does not parse stay as undated records. Long
tables (`time,series,value`) give one record per row; wide ones (`Time,api-1,api-2`: a time column
and only numeric series columns) give one record per row and series, so each record holds one
value. A table without a time column still becomes (undated) records. Numbers are kept as floats.
"""

from __future__ import annotations

import csv
import dataclasses
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tools.models import Evidence, EvidenceKind, Malformed
from tools.readers.base import ReadContext
from tools.readers.common import id_part, make, service_from_name
from tools.readers.fields import FieldPlan, discover, norm_name, parse_time_value, shape
from tools.timeformats import leading_stamp

DELIMITERS = ",\t;|"
SNIFF_LINES = 30
SAMPLE_ROWS = 50
MAX_WIDE_SERIES = 64
MAX_HEADER_CELL = 120
# Columns that count rows rather than measure anything (W&B `_step`, `epoch`, pandas' index): kept
# with every record of a wide row instead of becoming a series of their own.
CONTEXT_COLUMNS = frozenset(("step", "globalstep", "epoch", "iteration", "iter", "index", "runtime", "row"))
# Extensions other readers own or that are prose: never taken as tables by content alone.
_NOT_TABLES = (".md", ".markdown", ".rst", ".html", ".htm", ".yaml", ".yml", ".json", ".jsonl", ".ndjson")
_TABLE_EXT = (".csv", ".tsv", ".tab", ".psv")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")


# ---- sniffing --------------------------------------------------------------------------------
def _sample_lines(head: str) -> list[str]:
    lines = head.lstrip("\ufeff").splitlines()
    if len(head) >= 60_000 and lines:
        lines = lines[:-1]  # the window may cut the last line
    return [ln for ln in lines[:SNIFF_LINES] if ln.strip()]


def _header_ok(cells: list[str]) -> bool:
    """Names, not values: a header cell is short and is neither a number nor a time (the first
    cell may be empty, as in a pandas export of the index)."""
    if len(cells) < 2 or len(set(cells)) < len(cells):
        return False
    for i, c in enumerate(c.strip() for c in cells):
        if not c:
            if i == 0:
                continue
            return False
        if len(c) > MAX_HEADER_CELL or _NUMBER.match(c) or parse_time_value(c) is not None:
            return False
        if leading_stamp(c) is not None:
            return False  # "Jun 14 15:16:01 host prog: msg": a dated line, not a column name
    return True


def _log_lines(body: list[list[str]]) -> bool:
    """Rows whose first cell is a timestamp followed by prose are log lines that happen to hold
    the delimiter (`...: authentication failure; user=root`), not rows of a table: a table's time
    cell holds the time alone. True when most rows look like that."""
    prose = 0
    for row in body:
        cell = row[0].strip() if row else ""
        m = leading_stamp(cell)
        if m is not None and " " in cell[m.end():].strip():
            prose += 1
    return prose * 2 > len(body)


def detect_dialect(head: str, strict: bool) -> type[csv.Dialect] | csv.Dialect | None:
    """The dialect of a table whose header and rows agree, or None when the head is no table.
    `strict` (no table extension) asks for two rows instead of one, and for rows that are not
    timestamped log lines (a line-log layout outranks a table guess in a file not named a table)."""
    lines = _sample_lines(head)
    if len(lines) < (3 if strict else 2):
        return None
    sample = "\n".join(lines)
    candidates: list[Any] = []
    try:
        candidates.append(csv.Sniffer().sniff(sample, delimiters=DELIMITERS))
    except csv.Error:
        pass
    for d in DELIMITERS:  # the sniffer guesses; a delimiter that fits every row is also tried
        candidates.append(_simple_dialect(d))
    for dialect in candidates:
        if _fits(lines, dialect, strict):
            return dialect
    return None


def _simple_dialect(delimiter: str) -> csv.Dialect:
    class _D(csv.excel):
        pass

    _D.delimiter = delimiter
    return _D()


def _fits(lines: list[str], dialect: Any, strict: bool = False) -> bool:
    try:
        rows = list(csv.reader(lines, dialect))
    except csv.Error:
        return False
    if not rows or not _header_ok(rows[0]):
        return False
    width = len(rows[0])
    body = rows[1:]
    same = sum(1 for r in body if len(r) == width)
    if not body or same * 5 < len(body) * 4:  # a ragged row or two is an export, not prose
        return False
    return not (strict and _log_lines(body))


# ---- reading ---------------------------------------------------------------------------------
def typed(cell: str) -> Any:
    """A number as float (the contract for numeric cells), anything else as the text."""
    s = cell.strip()
    if _NUMBER.match(s):
        try:
            return float(s)
        except ValueError:
            return s
    return s


@dataclasses.dataclass
class _Layout:
    """The table's shape, decided once from a sample of rows."""

    header: list[str]
    plan: FieldPlan
    series: list[int]  # wide tables: indexes of the value columns, one record per row and column
    context: list[int]  # wide tables: columns repeated in each series record (step, epoch)


def _time_by_values(header: list[str], rows: list[list[str]]) -> int | None:
    """A column whose values are mostly date-times even though its name says nothing."""
    for i in range(len(header)):
        vals = [r[i] for r in rows if i < len(r) and r[i].strip()]
        if vals and not all(_NUMBER.match(v.strip()) for v in vals):
            hits = sum(1 for v in vals if parse_time_value(v) is not None)
            if hits * 5 >= len(vals) * 4:
                return i
    return None


def _layout(header: list[str], rows: list[list[str]], ctx: ReadContext) -> _Layout:
    objs = [_row_obj(header, r) for r in rows]
    plan = discover(objs, ctx.default_tz, ctx.year_hint)
    if plan.time is None:
        col = _time_by_values(header, rows)
        if col is not None:
            plan = dataclasses.replace(plan, time=(header[col],))
    if plan.time is None:
        return _Layout(header, plan, [], [])
    t = header.index(plan.time[0])
    numeric, context, labels = [], [], []
    for i, name in enumerate(header):
        if i == t:
            continue
        vals = [r[i].strip() for r in rows if i < len(r) and r[i].strip()]
        if norm_name(name) in CONTEXT_COLUMNS:
            context.append(i)
        elif vals and all(_NUMBER.match(v) for v in vals):
            numeric.append(i)
        elif vals:
            labels.append(i)
    wide = not labels and 2 <= len(numeric) <= MAX_WIDE_SERIES
    return _Layout(header, plan, numeric if wide else [], context if wide else [])


def _row_obj(header: list[str], row: list[str]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for name, cell in zip(header, row):
        if cell.strip():
            obj[name] = typed(cell)
    if len(row) > len(header):
        obj["extra_cells"] = [c for c in row[len(header):]]
    return obj


@dataclasses.dataclass
class _Rows:
    """Emits the records of one table."""

    rel: str
    ctx: ReadContext
    layout: _Layout
    service: str | None

    def records(self, row: list[str], line: int) -> Iterator[Evidence]:
        obj = _row_obj(self.layout.header, row)
        if len(row) != len(self.layout.header):
            obj["ragged"] = True  # kept: a short or long row is still a row of the export
        if self.layout.series:
            yield from self._wide(obj, row, line)
            return
        sh = shape(obj, self.layout.plan, "csv", self.service, self.ctx.default_tz, self.ctx.year_hint)
        ts = sh.ts
        yield make(EvidenceKind.LOG, f"log:{id_part(self.rel)}:{line}", self.rel, f"line {line}",
                   ts=ts[0] if ts else None, assumed=ts[1] if ts else False, service=sh.service,
                   level=sh.level, text=sh.text, attrs=sh.attrs)

    def _wide(self, obj: dict[str, Any], row: list[str], line: int) -> Iterator[Evidence]:
        header, plan = self.layout.header, self.layout.plan
        tcol = plan.time[0] if plan.time else None
        ts = parse_time_value(obj.get(tcol), self.ctx.default_tz, self.ctx.year_hint) if tcol else None
        ctx_cells = {header[i]: obj[header[i]] for i in self.layout.context if header[i] in obj}
        for i in self.layout.series:
            name = header[i]
            if name not in obj:
                continue  # an empty cell: no sample for this series at this time
            value = obj[name]
            attrs: dict[str, Any] = {"series": name, "value": value, **ctx_cells, "format": "csv",
                                     "fields": f"time={tcol}"}
            if tcol is not None and ts is None and tcol in obj:
                attrs[tcol] = obj[tcol]  # the unparsed time, kept as written
            extra = " ".join(f"{k}={_num(v)}" for k, v in ctx_cells.items())
            yield make(EvidenceKind.LOG, f"log:{id_part(self.rel)}:{line}:{i + 1}", self.rel,
                       f"line {line}, column {name}", ts=ts[0] if ts else None, assumed=ts[1] if ts else False,
                       service=self.service, text=f"{name}={_num(value)}" + (f" {extra}" if extra else ""),
                       attrs=attrs)


def _num(v: Any) -> str:
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    return str(v)


class CsvTableReader:
    name = "table.csv"
    needs_year = False

    def sniff(self, path: Path, head: str) -> bool:
        low = path.name.lower()
        if low.endswith(_NOT_TABLES):
            return False
        return detect_dialect(head, strict=not low.endswith(_TABLE_EXT)) is not None

    def read(self, path: Path, rel: str, ctx: ReadContext) -> Iterator[Evidence | Malformed]:
        with open(path, encoding="utf-8", errors="replace", newline="") as f:
            head = f.read(64 * 1024)
            dialect = detect_dialect(head, strict=False) or _simple_dialect(",")
            f.seek(0)
            yield from self._rows(f, rel, ctx, dialect)

    def _rows(self, f: Any, rel: str, ctx: ReadContext, dialect: Any) -> Iterator[Evidence | Malformed]:
        lines = _CountingLines(f)
        reader = csv.reader(lines, dialect)
        rows = _safe_rows(reader, rel, lines)
        header: list[str] | None = None
        sample: list[tuple[list[str], int]] = []
        emit: _Rows | None = None
        cov = ctx.coverage
        for item in rows:
            if isinstance(item, Malformed):
                yield item
                continue
            row, line = item
            if header is None:
                header = [c.lstrip("\ufeff").strip() or ("index" if i == 0 else f"column{i + 1}")
                          for i, c in enumerate(row)]
                continue
            if emit is None:
                sample.append((row, line))
                if len(sample) < SAMPLE_ROWS:
                    continue
                emit = self._start(header, sample, rel, ctx)
                yield from self._flush(emit, sample, cov)
                sample = []
                continue
            yield from self._flush(emit, [(row, line)], cov)
        if header is not None and emit is None:
            yield from self._flush(self._start(header, sample, rel, ctx), sample, cov)
        cov.lines += reader.line_num
        cov.bytes_covered += max(0, lines.n - lines.lost)

    @staticmethod
    def _start(header: list[str], sample: list[tuple[list[str], int]], rel: str, ctx: ReadContext) -> _Rows:
        layout = _layout(header, [r for r, _ in sample], ctx)
        return _Rows(rel, ctx, layout, service_from_name(rel, ctx.services))

    @staticmethod
    def _flush(emit: _Rows, rows: list[tuple[list[str], int]], cov: Any) -> Iterator[Evidence]:
        for row, line in rows:
            for ev in emit.records(row, line):
                if ev.ts is None:
                    cov.undated_lines += 1
                yield ev


class _CountingLines:
    """The lines of a text file, counting their UTF-8 bytes (coverage), for csv.reader."""

    def __init__(self, f: Any) -> None:
        self.it = iter(f)
        self.n = 0  # bytes handed to the csv module
        self.lost = 0  # bytes of rows it rejected

    def __iter__(self) -> _CountingLines:
        return self

    def __next__(self) -> str:
        line = next(self.it)
        self.n += len(line) if line.isascii() else len(line.encode("utf-8", "replace"))
        return line


def _safe_rows(reader: Any, rel: str, lines: _CountingLines) -> Iterator[tuple[list[str], int] | Malformed]:
    """(cells, first line) of each non-blank row; a row the csv module rejects (a field past its
    size limit, a NUL byte) becomes a Malformed and reading goes on with the next line."""
    start = 1
    while True:
        before = lines.n
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            lines.lost += lines.n - before
            yield Malformed(source=rel, locator=f"line {start}", reason=f"bad CSV row: {exc}"[:200])
            if reader.line_num < start:
                return  # no progress: stop rather than loop
            start = reader.line_num + 1
            continue
        line, start = start, reader.line_num + 1
        if any(c.strip() for c in row):
            yield row, line


READER = CsvTableReader()

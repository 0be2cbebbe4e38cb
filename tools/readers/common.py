"""Helpers every reader shares: bounded line iteration, fast Evidence construction, normalisers."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from tools.models import Evidence, EvidenceKind, Malformed
from tools.readers.base import ReadContext

# A continuation line is appended to the previous record only up to these bounds, so one runaway
# stack trace cannot hold an unbounded buffer.
MAX_CONTINUATION_LINES = 200
MAX_RECORD_CHARS = 16_000
# JSON documents (PagerDuty, Prometheus, ...) are parsed whole; refuse absurd sizes instead of
# exhausting memory.
MAX_JSON_DOC_BYTES = 256 * 1024 * 1024

_LEVELS = {
    "trace": "debug", "debug": "debug", "dbg": "debug", "d": "debug", "verbose": "debug",
    "info": "info", "information": "info", "informational": "info", "i": "info", "notice": "info",
    "normal": "info", "ok": "info",
    "warn": "warning", "warning": "warning", "w": "warning",
    "error": "error", "err": "error", "e": "error", "fail": "error", "failed": "error",
    "critical": "critical", "crit": "critical", "fatal": "critical", "f": "critical",
    "alert": "critical", "emerg": "critical", "emergency": "critical", "panic": "critical",
    "severe": "critical", "page": "critical",
}
# Python logging numeric levels, also used by some JSON loggers (pino uses 10..60).
_NUMERIC_LEVELS = ((50, "critical"), (40, "error"), (30, "warning"), (20, "info"), (0, "debug"))
_PINO_LEVELS = {10: "debug", 20: "debug", 30: "info", 40: "warning", 50: "error", 60: "critical"}


def mostly_matching(head: str, accept: Callable[[str], bool], n: int = 20) -> bool:
    """Content sniffing for line formats: at least half of the first `n` non-blank lines match."""
    lines = [ln for ln in head.splitlines()[:n] if ln.strip()]
    if not lines:
        return False
    hits = sum(1 for ln in lines if accept(ln))
    return hits >= 1 and hits * 2 >= len(lines)


def lines_match(head: str, pattern: re.Pattern[str]) -> bool:
    """mostly_matching for a format recognised by one pattern at the start of a line."""
    match = pattern.match
    return mostly_matching(head, lambda ln: match(ln) is not None)


def norm_level(value: Any) -> str | None:
    """Map any level spelling (WARN, err, E, 40, ...) to debug|info|warning|error|critical."""
    if type(value) is str:
        # A log repeats a handful of spellings: memoise them (short ones only, bounded).
        hit = _LEVEL_MEMO.get(value, _NO_LEVEL)
        if hit is not _NO_LEVEL:
            return hit
        level = _LEVELS.get(value.strip().lower())
        if len(value) <= 32 and len(_LEVEL_MEMO) < 1024:
            _LEVEL_MEMO[value] = level
        return level
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        iv = int(value)
        if iv in _PINO_LEVELS and iv in (10, 60):
            return _PINO_LEVELS[iv]
        for floor, name in _NUMERIC_LEVELS:
            if iv >= floor:
                return name
        return None
    return _LEVELS.get(str(value).strip().lower())


_LEVEL_MEMO: dict[str, str | None] = {}
_NO_LEVEL: Any = object()


def id_part(rel: str) -> str:
    """A path as it may appear inside an evidence id (ids never contain whitespace)."""
    return rel.replace("%", "%25").replace(" ", "%20").replace("\t", "%09")


_GENERIC_STEMS = {
    "access", "error", "errors", "app", "application", "server", "output", "out", "stdout",
    "stderr", "log", "logs", "events", "messages", "syslog", "combined", "current", "debug", "main",
}
_STEM_NOISE = re.compile(r"[-_.]?(\d{4}-?\d{2}-?\d{2}.*|\d+)$")


def service_from_name(rel: str, services: list[str]) -> str | None:
    """Attribute a file to a service: a manifest service named in its path, else its name."""
    low = rel.lower()
    for s in sorted(services, key=len, reverse=True):
        # Whole-token match: service "api" must not claim "rapid.log".
        if s and re.search(r"(?<![a-z0-9])" + re.escape(s.lower()) + r"(?![a-z0-9])", low):
            return s
    parts = rel.split("/")
    stem = parts[-1].split(".")[0]
    stem = _STEM_NOISE.sub("", stem) or stem
    if stem.lower() in _GENERIC_STEMS or not stem:
        parent = parts[-2] if len(parts) >= 2 else ""
        return parent if parent and parent.lower() not in _GENERIC_STEMS and parent != "var" else None
    return stem


def log_origin(rel: str, ctx: ReadContext) -> tuple[str | None, str]:
    """What every record of a log file shares: the service the file is attributed to, and the id
    prefix ("log:<path>:") its records' line numbers are appended to."""
    return service_from_name(rel, ctx.services), f"log:{id_part(rel)}:"


# `parse_ts(...) or UNDATED`: make()'s (ts, assumed) for a value that holds no time.
UNDATED: tuple[None, bool] = (None, False)


def make(
    kind: EvidenceKind,
    eid: str,
    source: str,
    locator: str,
    *,
    ts: datetime | None = None,
    assumed: bool = False,
    service: str | None = None,
    level: str | None = None,
    text: str = "",
    attrs: dict[str, Any] | None = None,
) -> Evidence:
    """Build Evidence without per-record validation (hot path). Callers pass UTC-aware `ts`
    produced by tools.timeparse, which is the invariant the validator would otherwise enforce."""
    ev = _new(Evidence)
    _set_dict(ev, {
        "id": eid, "kind": kind, "ts": ts, "ts_assumed": assumed, "source": source, "locator": locator,
        "service": service, "level": level, "text": text, "attrs": attrs if attrs is not None else {},
        "flags": [],
    })
    _set_fields_set(ev, _FIELDS_SET.copy())
    _set_extra(ev, None)
    _set_private(ev, None)
    return ev


# What BaseModel.model_construct does, minus its per-call field introspection (~5x faster). The
# slot descriptors' own setters skip object.__setattr__'s attribute lookup.
_new = Evidence.__new__
_FIELDS = frozenset(Evidence.model_fields)
_FIELDS_SET = set(_FIELDS)
_SLOTS = BaseModel.__dict__
_set_dict = _SLOTS["__dict__"].__set__
_set_fields_set = _SLOTS["__pydantic_fields_set__"].__set__
_set_extra = _SLOTS["__pydantic_extra__"].__set__
_set_private = _SLOTS["__pydantic_private__"].__set__


PROGRESS_EVERY = 8 * 1024 * 1024


@dataclass
class LineTally:
    """Byte counts `iter_lines` leaves behind when it ends (coverage needs them; the lines it
    yields are already decoded and stripped, so their byte sizes are gone)."""

    bytes_read: int = 0
    overlong_bytes: int = 0  # bytes of lines skipped for being longer than the limit


def iter_lines(
    path: Path, max_line_bytes: int, on_bytes: Callable[[int], None] | None = None,
    span: tuple[int, int, int] | None = None, tally: LineTally | None = None,
) -> Iterator[tuple[int, str | None, str | None]]:
    """Yield (line number, text, problem) reading in binary without ever holding an over-long
    line: such a line yields text None. Invalid UTF-8 is replaced and reported as a problem.

    `span` = (start byte, end byte, number of the line at start) reads one slice of a big file
    (see `line_spans`); slices start at line starts, so line numbers stay those of the file.
    `tally`, when given, receives the bytes read once the iteration ends (or is abandoned)."""
    limit = max(1, max_line_bytes)
    start, end, first = span if span is not None else (0, -1, 1)
    pos = start
    try:
        with open(path, "rb", buffering=1024 * 1024) as f:
            if start:
                f.seek(start)
            lineno = first - 1
            readline = f.readline
            next_report = PROGRESS_EVERY
            while end < 0 or pos < end:
                raw = readline(limit + 1)
                if not raw:
                    return
                pos += len(raw)
                lineno += 1
                if on_bytes is not None and lineno % 4096 == 0 and pos - start >= next_report:
                    on_bytes(pos - start)
                    next_report = pos - start + PROGRESS_EVERY
                if len(raw) > limit and not raw.endswith(b"\n"):
                    long_start = pos - len(raw)
                    # Drain the rest of the line in bounded chunks.
                    while not raw.endswith(b"\n"):
                        raw = readline(1024 * 1024)
                        if not raw:
                            break
                        pos += len(raw)
                    if tally is not None:
                        tally.overlong_bytes += pos - long_start
                    yield lineno, None, f"line longer than {max_line_bytes} bytes (skipped)"
                    continue
                try:
                    text = raw.decode("utf-8")
                    problem = None
                except UnicodeDecodeError:
                    text = raw.decode("utf-8", errors="replace")
                    problem = "invalid UTF-8 (replaced, line kept)"
                if lineno == 1 and text.startswith("\ufeff"):
                    text = text[1:]  # a UTF-8 byte-order mark is not content
                yield lineno, text.rstrip("\r\n"), problem
    finally:
        if tally is not None:
            tally.bytes_read += pos - start


def line_spans(path: Path, chunk_bytes: int) -> list[tuple[int, int, int]]:
    """Cut a line-oriented file into slices of about `chunk_bytes` for parallel reading.

    A cut lands at the start of a line that is neither blank nor a continuation line (indented,
    stack trace), so a multi-line record is never split between slices. Each slice carries the
    number of its first line, counted in one pass over the file."""
    size = path.stat().st_size
    if size <= chunk_bytes:
        return [(0, size, 1)]
    cuts = [0]
    with open(path, "rb") as f:
        target = chunk_bytes
        while target < size:
            f.seek(target - 1)
            _finish_line(f)  # the byte before target: a cut exactly at a line start is kept
            cut = f.tell()
            for _ in range(10_000):  # a run of continuation lines longer than this is cut anyway
                peek = f.readline(4096)
                if not peek or (peek.strip() and not looks_like_continuation(peek.decode("utf-8", "replace"))):
                    break
                if not peek.endswith(b"\n"):
                    _finish_line(f)
                cut = f.tell()
            if cut >= size:
                break
            cuts.append(cut)
            target = cut + chunk_bytes
        cuts.append(size)
        # Line number at each cut: newlines before it, plus one.
        numbers = [1]
        f.seek(0)
        count, pos = 0, 0
        for nxt in cuts[1:-1]:
            while pos < nxt:
                block = f.read(min(1 << 20, nxt - pos))
                count += block.count(b"\n")
                pos += len(block)
            numbers.append(count + 1)
    return [(cuts[i], cuts[i + 1], numbers[i]) for i in range(len(cuts) - 1)]


def _finish_line(f: Any) -> None:
    while True:
        raw = f.readline(1 << 20)
        if not raw or raw.endswith(b"\n"):
            return


_CONTINUATION = re.compile(
    r"\s|Traceback \(most recent call last\)|During handling of the above|The above exception"
    r"|Caused by:|[A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Warning|Fault)\b|\.\.\. \d+ more"
)


def looks_like_continuation(line: str) -> bool:
    """Lines that continue the previous record: indented, or parts of a stack trace."""
    return _CONTINUATION.match(line) is not None


LineParser = Callable[[str, int], Evidence | None]
# (line number, parse_ts result or None, service or None for the file's, level, text, attrs)
LineRecord = Callable[[int, tuple[datetime | None, bool] | None, str | None, str | None, str, dict[str, Any]], Evidence]


def line_record(rel: str, ctx: ReadContext) -> LineRecord:
    """The builder of one log file's line records: id `log:<path>:<line>`, locator `line <n>`, the
    file's service unless the line names one, and no time (not assumed) where parse_ts found none.
    Arguments are positional: it runs once per record of every line-format log."""
    file_service, id_prefix = log_origin(rel, ctx)
    kind = EvidenceKind.LOG
    undated = UNDATED

    def record(lineno: int, when: tuple[datetime | None, bool] | None, service: str | None,
               level: str | None, text: str, attrs: dict[str, Any]) -> Evidence:
        ts, assumed = when or undated
        n = str(lineno)
        return make(kind, id_prefix + n, rel, "line " + n, ts=ts, assumed=assumed,
                    service=service or file_service, level=level, text=text, attrs=attrs)

    return record


def read_line_records(
    path: Path,
    rel: str,
    ctx: ReadContext,
    parse: LineParser,
    *,
    multiline: bool = True,
    what: str = "record",
) -> Iterator[Evidence | Malformed]:
    """Run `parse` over each line; stack-trace lines join the record before them.

    Fills `ctx.coverage` (also when reading stops early): every line read is counted; bytes of
    lines that became no record (not parsed, over-long, beyond a record's bounds) are not covered.
    Blank lines count as covered: they hold nothing that could be lost."""
    pending: Evidence | None = None
    extra: list[str] = []
    extra_chars = 0
    dropped = 0  # continuation lines of `pending` beyond its bounds
    continuation = looks_like_continuation
    tally = LineTally()
    first = ctx.span[2] if ctx.span is not None else 1
    lineno = first - 1
    joined = undated = lost = 0  # lost: bytes of lines that became no record

    def flush(ev: Evidence, extra: list[str], dropped: int) -> Iterator[Evidence | Malformed]:
        nonlocal joined, undated
        if extra:
            ev.text = ev.text + "\n" + "\n".join(extra)
            ev.attrs["continuation_lines"] = len(extra)
            joined += len(extra)
        if ev.ts is None:
            undated += 1 + len(extra)
        if dropped:
            yield Malformed(source=rel, locator=ev.locator,
                            reason=f"{dropped} continuation lines beyond the record's bounds "
                                   f"({MAX_CONTINUATION_LINES} lines, {MAX_RECORD_CHARS} chars) not kept")
        yield ev

    # Hot path, copied on purpose in iter_json_lines: this loop runs once per line of every log
    # file, and a shared generator in between would add a frame switch per line.
    lines = iter_lines(path, ctx.max_line_bytes, ctx.on_bytes, ctx.span, tally)
    try:
        for lineno, text, problem in lines:
            if problem is not None:
                yield Malformed(source=rel, locator=f"line {lineno}", reason=problem)
            if text is None or not text or text.isspace():
                continue
            ev = parse(text, lineno)
            if ev is not None:
                if pending is not None:
                    if extra:
                        yield from flush(pending, extra, dropped)
                        extra, extra_chars, dropped = [], 0, 0
                    else:  # the common case, kept free of a generator per record
                        if pending.ts is None:
                            undated += 1
                        yield pending
                pending = ev
            elif multiline and pending is not None and continuation(text):
                if len(extra) < MAX_CONTINUATION_LINES and extra_chars < MAX_RECORD_CHARS:
                    extra.append(text)
                    extra_chars += len(text)
                else:
                    dropped += 1
                    lost += _line_bytes(text)
            else:
                lost += _line_bytes(text)
                yield Malformed(source=rel, locator=f"line {lineno}", reason=f"not a {what}: {text[:80]!r}")
        if pending is not None:
            yield from flush(pending, extra, dropped)
    finally:
        lines.close()
        cov = ctx.coverage
        cov.lines += max(0, lineno - first + 1)
        cov.continuation_lines += joined
        cov.undated_lines += undated
        cov.bytes_covered += max(0, tally.bytes_read - tally.overlong_bytes - lost)


class LineFormatReader:
    """A log format with one record per line (plus continuations), recognised by `pattern` at the
    start of a line. A subclass declares what sets it apart in its class line
    (`class R(LineFormatReader, name="log.x", what="x line", pattern=X)`) and builds the per-line
    parser of one file, starting from `line_record(rel, ctx)`."""

    name: str
    needs_year = False
    splittable = True  # one record per line (plus continuations): big files are read in slices
    pattern: re.Pattern[str]
    what = "record"  # what a line is called in the notes on lines that are no record
    multiline = True  # stack-trace lines join the record before them

    def __init_subclass__(
        cls, *, name: str, what: str, pattern: re.Pattern[str] | None = None,
        needs_year: bool = False, multiline: bool = True, **kwargs: Any,
    ) -> None:
        super().__init_subclass__(**kwargs)
        cls.name, cls.what, cls.needs_year, cls.multiline = name, what, needs_year, multiline
        if pattern is not None:  # without one, the subclass sniffs in its own way
            cls.pattern = pattern

    def sniff(self, path: Path, head: str) -> bool:
        return lines_match(head, self.pattern)

    def read(self, path: Path, rel: str, ctx: ReadContext) -> Iterator[Evidence | Malformed]:
        parse = self.line_parser(rel, ctx)
        return read_line_records(path, rel, ctx, parse, multiline=self.multiline, what=self.what)

    def line_parser(self, rel: str, ctx: ReadContext) -> LineParser:
        raise NotImplementedError


def _line_bytes(text: str) -> int:
    """About the bytes a decoded, stripped line took in its file (its newline included)."""
    return len(text.encode("utf-8", "replace")) + 1


def load_json_doc(path: Path, rel: str) -> tuple[Any, Malformed | None]:
    """Parse a whole JSON document; a bad one becomes a Malformed with a clear reason."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        return None, Malformed(source=rel, reason=f"unreadable: {exc.strerror}")
    if size > MAX_JSON_DOC_BYTES:
        return None, Malformed(source=rel, reason=f"JSON document too large ({size} bytes)")
    raw = path.read_bytes()
    text = raw.decode("utf-8", errors="replace")
    if too_deep(text):
        return None, Malformed(source=rel, reason=DEPTH_REASON)
    try:
        return json.loads(text), None
    except RecursionError:
        return None, Malformed(source=rel, reason=DEPTH_REASON)
    except json.JSONDecodeError as exc:
        truncated = exc.pos >= len(text.rstrip()) - 1
        why = "truncated JSON" if truncated else "invalid JSON"
        return None, Malformed(
            source=rel, locator=f"line {exc.lineno}", reason=f"{why}: {exc.msg} at char {exc.pos}"
        )


def json_head(head: str) -> str | None:
    """The head without a leading BOM and blank space, when it opens a JSON object or array
    (document or JSON Lines); None when it cannot be JSON of either kind."""
    s = head.lstrip("\ufeff \t\r\n")
    return s if s.startswith(("{", "[")) else None


def first_json_value(head: str) -> Any:
    """The first JSON value in a file head: the whole document if it fits, else the first line."""
    s = head.lstrip("\ufeff \t\r\n")
    if not s:
        return None
    try:
        return loads_bounded(s)
    except json.JSONDecodeError:
        pass
    line = s.split("\n", 1)[0]
    try:
        return loads_bounded(line)
    except json.JSONDecodeError:
        return None


def json_lines_objects(head: str, n: int = 5) -> list[dict[str, Any]]:
    """Up to n leading JSON-object lines of a head (for sniffing JSON Lines files)."""
    out: list[dict[str, Any]] = []
    for line in head.lstrip("\ufeff").splitlines():
        line = line.strip()
        if not line:
            continue
        if not line.startswith("{"):
            break
        try:
            obj = loads_bounded(line)
        except json.JSONDecodeError:
            break
        if isinstance(obj, dict):
            out.append(obj)
        if len(out) >= n:
            break
    return out


def iter_json_lines(
    path: Path, rel: str, ctx: ReadContext, not_object: str | None = None
) -> Iterator[tuple[int, Any] | Malformed]:
    """(line number, parsed value) per JSON line; bad lines become Malformed. With `not_object`,
    a line whose value is not a JSON object becomes Malformed too, with that reason."""
    loads = json.loads
    scan = _JSON_SCAN
    tally = LineTally()
    first = ctx.span[2] if ctx.span is not None else 1
    lineno = first - 1
    lost = 0  # bytes of lines that are not JSON (a value the reader then rejects still counts)
    # Hot path, copied on purpose from read_line_records: this loop runs once per line of every
    # JSON Lines file, and a shared generator in between would add a frame switch per line.
    lines = iter_lines(path, ctx.max_line_bytes, ctx.on_bytes, ctx.span, tally)
    try:
        for lineno, text, problem in lines:
            if problem is not None:
                yield Malformed(source=rel, locator=f"line {lineno}", reason=problem)
            if text is None or not text or text.isspace():
                continue
            # json.loads minus its Python layers: the scanner alone, accepted only when it consumed
            # the whole line; anything else (errors included) goes through json.loads, same result.
            if too_deep(text):
                lost += _line_bytes(text)
                yield Malformed(source=rel, locator=f"line {lineno}", reason=DEPTH_REASON)
                continue
            try:
                value, end = scan(text, 0)
            except Exception:  # noqa: BLE001 - json.loads below raises or returns exactly as before
                end = -1
            if end != len(text):
                try:
                    value = loads(text)
                except (ValueError, RecursionError) as exc:
                    lost += _line_bytes(text)
                    yield Malformed(source=rel, locator=f"line {lineno}", reason=f"invalid JSON: {exc}"[:200])
                    continue
            if not_object is not None and not isinstance(value, dict):
                yield Malformed(source=rel, locator=f"line {lineno}", reason=not_object)
                continue
            yield lineno, value
    finally:
        lines.close()
        cov = ctx.coverage
        cov.lines += max(0, lineno - first + 1)
        cov.bytes_covered += max(0, tally.bytes_read - tally.overlong_bytes - lost)


# Deepest JSON nesting accepted. Real logs and exports nest a few dozen levels at most; deeper
# values would overflow Python's recursion in json.loads, or in code that walks them later.
MAX_JSON_DEPTH = 200
DEPTH_REASON = f"JSON nested more than {MAX_JSON_DEPTH} levels deep"
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_JSON_BRACKET = re.compile(r"[\[\]{}]")


def too_deep(text: str) -> bool:
    """Is JSON `text` nested more than MAX_JSON_DEPTH levels? Two C-speed counts decide for
    nearly every line; only text with that many brackets is walked, bracket by bracket."""
    if text.count("{") + text.count("[") <= MAX_JSON_DEPTH:
        return False
    depth = 0
    for m in _JSON_BRACKET.finditer(_JSON_STRING.sub("", text)):  # brackets in strings do not nest
        ch = m.group()
        if ch in "[{":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                return True
        elif ch in "]}":
            depth -= 1
    return False


def loads_bounded(text: str) -> Any:
    """json.loads for untrusted text: nesting deeper than MAX_JSON_DEPTH raises a JSONDecodeError
    (a ValueError) like any other bad JSON, so the callers' usual handlers cover it. json.loads
    itself would raise RecursionError, which those handlers miss and which costs the whole file."""
    if too_deep(text):
        raise json.JSONDecodeError(DEPTH_REASON, text, 0)
    return json.loads(text)


# The scanner json.loads uses (a default JSONDecoder's: same hooks, strict mode).
_JSON_SCAN: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


def read_head(path: Path, size: int = 8192) -> str:
    """The first `size` bytes of a file as text, for a reader that picks its format inside `read`;
    "" when the file cannot be opened (the read that follows reports that)."""
    try:
        with open(path, "rb") as f:
            return f.read(size).decode("utf-8", errors="replace")
    except OSError:
        return ""


def looks_like_jsonl(head: str) -> bool:
    """Two or more JSON objects on their own lines: a JSON Lines file, not one JSON document."""
    if len(json_lines_objects(head, 2)) >= 2:
        return True
    # A whole object line followed by an object line nested too deep to parse (often longer than
    # the sniff window too) is still JSON Lines: read so, the deep line costs itself only.
    parts = head.lstrip("\ufeff \t\r\n").split("\n", 2)
    return (len(parts) >= 2 and parts[1].lstrip().startswith("{") and too_deep(parts[1])
            and len(json_lines_objects(parts[0], 1)) == 1)


def first_line_unterminated(head: str) -> bool:
    """The head holds no complete first line (a JSON line longer than the sniff window)."""
    return "\n" not in head.lstrip("\ufeff \t\r\n")


def as_dict(value: Any) -> dict[str, Any]:
    """`value` when it is a JSON object, else an empty one (exports are often ragged)."""
    return value if isinstance(value, dict) else {}


def clip(s: str, n: int) -> str:
    return s if len(s) <= n else s[: n - 1] + "…"


def as_float(v: Any) -> float | None:
    """A number from a JSON value (int, float or numeric string); booleans are not numbers here."""
    if isinstance(v, bool):
        return None
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def doc_items(doc: Any, list_keys: tuple[str, ...]) -> list[Any] | None:
    """The entries of an exported collection: a bare list, or the list under a known key."""
    if isinstance(doc, list):
        return doc
    if isinstance(doc, dict):
        for key in list_keys:
            if isinstance(doc.get(key), list):
                return doc[key]
    return None


@dataclass(frozen=True)
class JsonSample:
    """What a file head holds as JSON, for a sniff: the leading objects of JSON Lines, or else the
    first document (None when it does not fit in the head)."""

    text: str  # the head from its first JSON character
    lines: list[dict[str, Any]] | None  # JSON Lines: up to n leading objects; None for a document
    doc: Any


def json_sample(head: str, n: int) -> JsonSample | None:
    """The JSON a head opens with, read as JSON Lines or as one document; None when it is not JSON."""
    s = json_head(head)
    if s is None:
        return None
    if one_entry_per_line(s):
        return JsonSample(s, json_lines_objects(s, n), None)
    return JsonSample(s, None, first_json_value(s))


class JsonExportReader:
    """An export written as JSON Lines or as one document. A subclass declares its name and how
    many leading lines a sniff reads in its class line, and judges the sample of a JSON head."""

    name: str
    needs_year = False
    sample_lines: int

    def __init_subclass__(cls, *, name: str, sample_lines: int, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.name, cls.sample_lines = name, sample_lines

    def sniff(self, path: Path, head: str) -> bool:
        sample = json_sample(head, self.sample_lines)
        return sample is not None and self.judge(sample)

    def judge(self, sample: JsonSample) -> bool:
        raise NotImplementedError


class JsonLinesFormatReader:
    """A format of one JSON object a line. A subclass declares its name and its two sniff tests in
    its class line: is a leading object one of its records, and does a head holding no whole first
    line (one record longer than the sniff window) look like one."""

    name: str
    needs_year = False
    splittable = True  # one record per line (plus continuations): big files are read in slices
    is_record: Callable[[dict[str, Any]], bool]
    long_first_line: Callable[[str], bool]

    def __init_subclass__(
        cls, *, name: str, is_record: Callable[[dict[str, Any]], bool],
        long_first_line: Callable[[str], bool], **kwargs: Any,
    ) -> None:
        super().__init_subclass__(**kwargs)
        cls.name = name
        cls.is_record, cls.long_first_line = staticmethod(is_record), staticmethod(long_first_line)  # type: ignore[assignment]

    def sniff(self, path: Path, head: str) -> bool:
        objs = json_lines_objects(head)
        if objs:
            return sum(1 for o in objs if self.is_record(o)) * 2 >= len(objs)
        return first_line_unterminated(head) and self.long_first_line(head)


def one_entry_per_line(head: str) -> bool:
    """JSON Lines rather than one document: the first line alone is a whole JSON object and more
    lines follow (a later broken line must not turn the file into one invalid document)."""
    s = head.lstrip("\ufeff \t\r\n")
    if "\n" not in s.rstrip():
        return False
    try:
        return isinstance(loads_bounded(s.split("\n", 1)[0]), dict)
    except ValueError:
        return False

"""The generic line reader: any text file no specialised reader claims.

It finds where each line keeps its timestamp (tools/timeformats.py: which layout, after how many
whitespace-separated fields, behind which collector prefix: tools/readers/prefixes.py) from a
sample of the file, then reads every line: a line with that timestamp starts a record, any other
line continues the record before it (stack traces, NCCL INFO lines, env dumps, `+ cmd` traces).

- Lines before the first timestamp attach to the file's first record (attrs `preamble_lines`,
  `preamble_from`; their text follows the record's own lines). When they are more than one record
  may hold (MAX_CONTINUATION_LINES / MAX_RECORD_CHARS), the excess becomes undated block records.
- A file with no timestamp at all still becomes evidence: undated records, one per paragraph
  (blank-line separated) or bounded block of lines.
- A record that grows past the bounds is closed, and the overflow starts an undated record
  (attrs `continues`: the id of the record it continues): nothing is dropped.
- Yearless layouts get their years from tools.yearless.YearRoller anchored at ctx.year_anchor
  (else the end of ctx.year_hint's year, which the ingest sets today; else now).

Discovery is deterministic for a file (head sample + a sample from the middle, read from the file
itself whatever slice is being read), so parallel ingest re-creates the same plan in each worker.
Slices: a slice reads on past its end until the next record start, and a slice that does not
start the file skips the lines before its first record start (the slice before read them), so
every line lands in the same record as in a whole-file read. Yearless files are not split (the
year rolls over with what came before), nor are files without any timestamp.

Coverage (ctx.coverage): `lines` counts every physical line read; `continuation_lines` those
attached to a dated record (preamble included); `undated_lines` those in records without a time
(no-timestamp files, overflow and preamble blocks, time-of-day-only records); `bytes_covered`
the bytes of all lines that ended up in some record.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, NamedTuple

from tools.models import Evidence, EvidenceKind, Malformed
from tools.readers import common
from tools.readers.base import HEAD_BYTES, ReadContext
from tools.readers.prefixes import PrefixPlan, Stripped, detect, strip, strip_ansi
from tools.timeformats import LAYOUTS, Decoder, Layout, decode, sort_key
from tools.timeparse import parse_ts
from tools.yearless import YearRoller

UTC = timezone.utc
SAMPLE_LINES = 1000  # at most this many lines of the head (64 KiB) are looked at, a fifth as many mid-file
SCAN_CHARS = 100  # a timestamp must start within this many characters of the (prefix-stripped) line
MAX_LAYOUTS = 3  # a primary layout plus up to two more for files that mix formats
BACKSTEP_S = 300.0  # a drop larger than this between sampled times counts against a candidate
_PLAN_CACHE_MAX = 512


# --- discovery ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Choice:
    """One (layout, position) a file's timestamps were found at."""

    layout: Layout
    fields_before: int  # whitespace-separated fields before the timestamp
    matcher: re.Pattern[str]


@dataclass(frozen=True)
class Plan:
    prefixes: PrefixPlan
    choices: tuple[Choice, ...]

    @property
    def yearless(self) -> bool:
        return any(c.layout.has_date and not c.layout.has_year for c in self.choices) and not self.prefixes.kts

    @property
    def splittable(self) -> bool:
        return bool(self.choices) and not self.yearless


def matcher_for(layout: Layout, fields_before: int) -> re.Pattern[str]:
    """The layout's regex after `fields_before` fields and at most two punctuation characters;
    group T is the timestamp itself."""
    skip = r"(?:\S+\s+){%d}" % fields_before if fields_before else ""
    return re.compile(skip + r"[^\w\s\[]{0,2}?(?P<T>" + layout.regex.pattern + ")")


@dataclass
class _Cand:
    hits: set[int] = field(default_factory=set)
    keys: list[tuple[int, int, float]] = field(default_factory=list)  # (chunk, line index, key)

    def score(self, exclude: set[int]) -> float:
        hits = self.hits - exclude
        back = 0
        prev: tuple[int, float] | None = None
        for chunk, i, key in self.keys:
            if i in exclude:
                continue
            if prev is not None and prev[0] == chunk and key < prev[1] - BACKSTEP_S and prev[1] - key < 150 * 86400:
                back += 1  # (a drop of months is a year turning over in a yearless layout)
            prev = (chunk, key)
        return len(hits) - 2 * back


def _sample(path: Path) -> list[tuple[int, str]]:
    """(chunk, line) pairs: the head, and for big files a stretch from the middle."""
    out: list[tuple[int, str]] = []
    with open(path, "rb") as f:
        head = f.read(HEAD_BYTES)
        out += [(0, ln) for ln in _lines(head, first_partial=False)[:SAMPLE_LINES]]
        size = f.seek(0, 2)
        if size > 4 * HEAD_BYTES:
            f.seek(size // 2)
            mid = f.read(HEAD_BYTES // 2)
            out += [(1, ln) for ln in _lines(mid, first_partial=True)[:SAMPLE_LINES // 5]]
    return out


def _lines(raw: bytes, first_partial: bool) -> list[str]:
    parts = raw.split(b"\n")
    if first_partial:
        parts = parts[1:]
    if len(parts) > 1:
        parts = parts[:-1]  # the last one may be cut
    out = []
    for p in parts:
        s = strip_ansi(p.decode("utf-8", "replace").rstrip("\r")).lstrip("\ufeff")
        if s.strip():
            out.append(s)
    return out


# Any layout at all, one match per field start: most fields (and most lines of a long preamble:
# env dumps, shell traces) hold no timestamp and skip the per-layout matches.
_ANY_LAYOUT = re.compile("|".join("(?:" + re.sub(r"\(\?P<\w+>", "(?:", lay.regex.pattern) + ")" for lay in LAYOUTS))


_FIELD = re.compile(r"\S+")
MAX_TIMED_SAMPLE = 300  # lines with some timestamp shape that are looked at closely


def _starts(window: str) -> list[tuple[int, int]]:
    """(position, field index) where a timestamp may start: a field's start, or after up to two
    punctuation characters (`(2024-...`, `"2024-...`); brackets belong to the layouts."""
    out = []
    for fi, m in enumerate(_FIELD.finditer(window, 0, SCAN_CHARS + 1)):
        p = m.start()
        out.append((p, fi))
        for k in (1, 2):
            c = window[p + k - 1]
            if m.end() - p <= k or c.isalnum() or c in "[<":
                break
            out.append((p + k, fi))
    return out


def _candidates(rests: list[tuple[int, str]]) -> tuple[dict[tuple[int, int], _Cand], int]:
    """Every (layout, field) seen, and how many sample lines were gone through to see them (at
    most MAX_TIMED_SAMPLE lines with a timestamp shape are looked at closely)."""
    cands: dict[tuple[int, int], _Cand] = {}
    looked = 0
    for i, (chunk, rest) in enumerate(rests):
        if looked >= MAX_TIMED_SAMPLE:
            return cands, i
        window = rest[: SCAN_CHARS + 64]
        any_at = _ANY_LAYOUT.match
        starts = [(p, fi) for p, fi in _starts(window) if any_at(window, p) is not None]
        if not starts:
            continue
        looked += 1
        for li, layout in enumerate(LAYOUTS):
            match = layout.regex.match
            seen: set[int] = set()
            for p, fi in starts:
                m = match(window, p)
                if m is None or fi in seen:
                    continue
                st = decode(layout, m)
                if st is None or not _valid(st):
                    continue
                seen.add(fi)
                c = cands.setdefault((li, fi), _Cand())
                c.hits.add(i)
                c.keys.append((chunk, i, sort_key(st)))
    return cands, len(rests)


def _valid(st: Any) -> bool:
    if st.epoch is not None or st.month is None:
        return True
    try:
        datetime(st.year or 2000, st.month, st.day, st.hour, st.minute, st.second)
    except ValueError:
        return False
    return True


def _rank(cands: dict[tuple[int, int], _Cand], exclude: set[int]) -> list[tuple[tuple[Any, ...], tuple[int, int]]]:
    scored = {k: c.score(exclude) for k, c in cands.items()}
    best = max(scored.values(), default=0)
    ranked = []
    for (li, fi), score in scored.items():
        if score < 1:
            continue
        lay = LAYOUTS[li]
        # A dated layout beats a time-of-day one unless it explains far fewer lines.
        dated_enough = lay.has_date and score * 4 >= best
        key = (dated_enough, score, lay.has_year, lay.has_zone, -fi, -li)
        ranked.append((key, (li, fi)))
    ranked.sort(reverse=True)
    return ranked


QUICK_TIMED = 20  # timed lines a first, cheap choice is made from


def _choose(rests: list[tuple[int, str]]) -> tuple[tuple[Choice, ...], int]:
    """The layouts that explain the sample, best first, and how many lines they explain.

    Most files keep one layout throughout: a choice made from the first QUICK_TIMED timed lines is
    kept when its own matchers (one regex per line, as reading does) leave fewer timed lines of the
    whole sample unexplained than a further layout would need; otherwise every candidate is scored
    on the whole sample. Discovery of a small or uniform file then costs a fraction."""
    head = _head_timed(rests, QUICK_TIMED)
    if head is not None and head < len(rests):
        quick = _choose_from(rests[:head])
        if quick[0] and (hits := _verify(quick[0], rests)) is not None:
            return quick[0], hits
    return _choose_from(rests)


def _head_timed(rests: list[tuple[int, str]], n: int) -> int | None:
    """How many sample lines hold the first `n` lines with a timestamp shape (None: fewer)."""
    seen = 0
    for i, (_, rest) in enumerate(rests):
        if _timed(rest):
            seen += 1
            if seen >= n:
                return i + 1
    return None


def _timed(rest: str) -> bool:
    window = rest[: SCAN_CHARS + 64]
    any_at = _ANY_LAYOUT.match
    return any(any_at(window, p) is not None for p, _ in _starts(window))


def _verify(chosen: tuple[Choice, ...], rests: list[tuple[int, str]]) -> int | None:
    """Lines of the sample the chosen matchers explain, or None when the full scoring must decide:
    too many timed lines are left that a further layout could explain, or a further layout chosen
    from the head explains fewer lines of the whole sample than a further layout must."""
    need = max(3, len(rests) // 10)
    matchers = [c.matcher.match for c in chosen]
    per = [0] * len(matchers)
    unexplained = 0
    for _, rest in rests:
        for k, mt in enumerate(matchers):
            if mt(rest) is not None:
                per[k] += 1
                break
        else:
            if _timed(rest):
                unexplained += 1
                if unexplained >= need:
                    return None
    if any(n < need for n in per[1:]):
        return None
    return sum(per)


def _choose_from(rests: list[tuple[int, str]]) -> tuple[tuple[Choice, ...], int]:
    cands, examined = _candidates(rests)
    chosen: list[Choice] = []
    covered: set[int] = set()
    need = 1
    while len(chosen) < MAX_LAYOUTS:
        ranked = _rank(cands, covered)
        ranked = [r for r in ranked if LAYOUTS[r[1][0]].has_date or not chosen]
        if not ranked or ranked[0][0][1] < need:
            break
        li, fi = ranked[0][1]
        chosen.append(Choice(LAYOUTS[li], fi, matcher_for(LAYOUTS[li], fi)))
        covered |= cands.pop((li, fi)).hits
        # A further layout must explain a real share of the lines gone through (not of the whole
        # sample, which may run past the lines looked at).
        need = max(3, examined // 10)
    return tuple(chosen), len(covered)


def discover(path: Path) -> Plan:
    """The plan for one file, from its own bytes (same answer in every process)."""
    sample = _sample(path)
    pplan = detect([ln for _, ln in sample])
    if pplan.kts:
        rests = [(c, st.rest) for c, ln in sample if (st := strip(ln, pplan)).kts is not None]
        inner, hits = _choose(rests)
        # kubectl's time wins, but records start where the program's own timestamp is; with
        # no inner timestamp the kubectl time is just the line's leading ISO time.
        if inner and hits * 10 >= 3 * len(rests):
            return Plan(pplan, inner)
        pplan = pplan.without_kts()
    rests = [(c, strip(ln, pplan).rest) for c, ln in sample]
    return Plan(pplan, _choose(rests)[0])


# --- reading -----------------------------------------------------------------------------------
_PRI_LEVELS = ("critical", "critical", "critical", "error", "warning", "info", "info", "debug")
_LOG = EvidenceKind.LOG
_PROGRESS_EVERY = 8 * 1024 * 1024


def _physical_lines(
    path: Path, ctx: ReadContext, start: int, first: int,
) -> Iterator[tuple[int, int, int, str | None, str | None]]:
    """(line number, byte offset, byte length, text or None, problem) from `start` to the end of
    the file; the caller stops where its slice ends. An over-long line yields text None."""
    limit = max(1, ctx.max_line_bytes)
    on_bytes = ctx.on_bytes
    with open(path, "rb", buffering=1024 * 1024) as f:
        f.seek(start)
        pos, lineno = start, first - 1
        readline = f.readline
        next_report = _PROGRESS_EVERY
        while True:
            raw = readline(limit + 1)
            if not raw:
                return
            at = pos
            pos += len(raw)
            lineno += 1
            if on_bytes is not None and pos - start >= next_report:
                on_bytes(pos - start)
                next_report = pos - start + _PROGRESS_EVERY
            if len(raw) > limit and not raw.endswith(b"\n"):
                while not raw.endswith(b"\n"):  # drain the rest in bounded chunks
                    raw = readline(1024 * 1024)
                    if not raw:
                        break
                    pos += len(raw)
                yield lineno, at, pos - at, None, f"line longer than {ctx.max_line_bytes} bytes (skipped)"
                continue
            try:
                text, problem = raw.decode("utf-8"), None
            except UnicodeDecodeError:
                text, problem = raw.decode("utf-8", errors="replace"), "invalid UTF-8 (replaced, line kept)"
            if lineno == 1 and text.startswith("\ufeff"):
                text = text[1:]
            yield lineno, at, pos - at, text.rstrip("\r\n"), problem


def _anchor(ctx: ReadContext) -> datetime | None:
    if ctx.year_anchor is not None:
        return ctx.year_anchor
    if ctx.year_hint is not None:
        # Today's ingest passes a year, not an anchor: the end of that year places every
        # yearless time inside it (the roller never goes past today either way).
        return datetime(ctx.year_hint, 12, 31, 23, 59, 59, tzinfo=UTC)
    return None


_BLANK = Stripped("")


class _Slot:
    """One chosen layout, ready to match a line and decode its time."""

    __slots__ = ("match", "decode", "layout", "family", "level_group", "pri_group")

    def __init__(self, choice: Choice, decoder: Decoder) -> None:
        self.match = choice.matcher.match
        self.decode = decoder
        self.layout = choice.layout
        self.family = choice.layout.family
        self.level_group = choice.matcher.groupindex.get("L")
        self.pri_group = choice.matcher.groupindex.get("P")


class _Run:
    """Reads one file (or slice) with a plan: turns lines into records, fills ctx.coverage."""

    def __init__(self, path: Path, rel: str, ctx: ReadContext, plan: Plan) -> None:
        self.path, self.rel, self.ctx, self.plan = path, rel, ctx, plan
        self.cov = ctx.coverage
        self.file_service, self.id_prefix = common.log_origin(rel, ctx)
        roller = YearRoller(_anchor(ctx)) if plan.yearless else None
        self.slots = [_Slot(c, Decoder(c.layout, ctx.default_tz, roller, c.matcher)) for c in plan.choices]
        self.pending: Evidence | None = None
        self.dated = False
        self.extra: list[str] = []
        self.extra_chars = 0
        self.pre: list[str] = []  # lines before the first record start
        self.pre_first = 0
        self.pre_chars = 0
        self.pre_text = ""
        self.header = HeaderScanner()

    # -- the line loop -------------------------------------------------------------------------
    def records(self) -> Iterator[Evidence | Malformed]:
        span = self.ctx.span
        start, end, first = span if span is not None else (0, -1, 1)
        skipping = start > 0  # the slice before this one read up to our first record start
        pplan = self.plan.prefixes
        # Without collector prefixes in the plan, only a line starting with "[" can carry one.
        always_strip = pplan.compose or pplan.srun or pplan.stern or pplan.kts
        cov = self.cov
        match = self._match
        for lineno, at, nbytes, text, problem in _physical_lines(self.path, self.ctx, start, first):
            if text is None:
                if not skipping:
                    cov.lines += 1
                    yield Malformed(source=self.rel, locator=f"line {lineno}", reason=problem or "unreadable line")
                continue
            if "\x1b" in text:
                text = strip_ansi(text)
            if not text or text.isspace():
                st, hit = _BLANK, None
            else:
                st = strip(text, pplan) if always_strip or text[0] == "[" else Stripped(text)
                hit = match(st.rest)
            if hit is None:
                if skipping:
                    continue
                cov.lines += 1
                cov.bytes_covered += nbytes
                if problem:
                    yield Malformed(source=self.rel, locator=f"line {lineno}", reason=problem)
                yield from self._continue(text, lineno)
                continue
            if 0 <= end <= at:
                break  # the next slice starts with this record
            skipping = False
            cov.lines += 1
            cov.bytes_covered += nbytes
            if problem:
                yield Malformed(source=self.rel, locator=f"line {lineno}", reason=problem)
            ev, dated = self._record(st, hit[0], hit[1], lineno)
            closed = self._start(ev, dated)
            if closed is not None:
                yield closed
        yield from self._finish()

    def _match(self, rest: str) -> tuple[_Slot, re.Match[str]] | None:
        for slot in self.slots:
            m = slot.match(rest)
            if m is not None:
                return slot, m
        return None

    # -- one record ----------------------------------------------------------------------------
    def _record(self, st: Stripped, slot: _Slot, m: re.Match[str], lineno: int) -> tuple[Evidence, bool]:
        rest = st.rest
        attrs: dict[str, Any] = {"format": "text", "layout": slot.layout.name}
        try:
            ts, assumed = slot.decode(m)
        except ValueError:
            ts, assumed = None, False
            attrs["bad_time"] = m.group("T")
        if ts is None and not slot.layout.has_date and "bad_time" not in attrs:
            attrs["time_of_day"] = m.group("T")
        if st.kts is not None:
            parsed = parse_ts(st.kts, self.ctx.default_tz)
            if parsed is not None:
                attrs["inner_time"] = m.group("T")
                ts, assumed = parsed
        h = self.header(rest[m.end():], slot.family)
        level = h.level
        if slot.level_group is not None and m.group(slot.level_group):
            level = common.norm_level(m.group(slot.level_group))
        elif slot.pri_group is not None and m.group(slot.pri_group):
            level = _PRI_LEVELS[int(m.group(slot.pri_group)) & 7]
        if h.logger is not None:
            attrs["logger"] = h.logger
        if h.pid is not None:
            attrs["pid"] = h.pid
        if h.thread is not None:
            attrs["thread"] = h.thread
        if h.host is not None:
            attrs["host"] = h.host
        if h.program is not None:
            attrs["program"] = h.program
        if st.attrs:
            attrs.update(st.attrs)
        t0 = m.start("T")
        lead = rest[:t0].strip() if t0 else ""
        if lead:
            attrs["lead"] = lead
        text = f"{lead} {h.msg}" if lead else h.msg
        service = st.service or (h.program if slot.family == "syslog" else None) or self.file_service
        n = str(lineno)
        ev = common.make(_LOG, self.id_prefix + n, self.rel, "line " + n, ts=ts, assumed=assumed if ts else False,
                  service=service, level=level, text=text, attrs=attrs)
        return ev, ts is not None

    def _undated(self, text: str, lineno: int, attrs: dict[str, Any], service: str | None) -> Evidence:
        n = str(lineno)
        level = parse_header(text, "").level
        return common.make(_LOG, self.id_prefix + n, self.rel, "line " + n, service=service, level=level,
                    text=text, attrs=attrs)

    # -- assembling records ----------------------------------------------------------------------
    def _start(self, ev: Evidence, dated: bool) -> Evidence | None:
        """Make `ev` the open record; returns the record it closes, if any (a plain return, not a
        generator: this runs once per record)."""
        closed = None
        if self.pending is not None:
            closed = self._close()
        elif self.pre:
            # The file's first record: it takes the lines before it, and says so.
            n = len(self.pre)
            ev.attrs["preamble_lines"] = n
            ev.attrs["preamble_from"] = self.pre_first
            self.pre_text = "\n".join(self.pre)
            self.extra_chars = self.pre_chars
            if dated:
                self.cov.continuation_lines += n
            else:
                self.cov.undated_lines += n
            self.pre, self.pre_chars = [], 0
        if not dated:
            self.cov.undated_lines += 1
        self.pending, self.dated = ev, dated
        return closed

    def _continue(self, text: str, lineno: int) -> Iterator[Evidence]:
        if self.pending is None:
            if len(self.pre) >= common.MAX_CONTINUATION_LINES or self.pre_chars >= common.MAX_RECORD_CHARS:
                yield self._preamble_block()
            if not self.pre:
                self.pre_first = lineno
            self.pre.append(text)
            self.pre_chars += len(text)
            return
        used = len(self.extra) + (self.pending.attrs.get("preamble_lines", 0) if self.pre_text else 0)
        if used >= common.MAX_CONTINUATION_LINES or self.extra_chars >= common.MAX_RECORD_CHARS:
            prev = self.pending
            yield self._close()
            attrs = {"format": "text", "continues": prev.id}
            self.pending, self.dated = self._undated(text, lineno, attrs, prev.service), False
            self.cov.undated_lines += 1
            return
        self.extra.append(text)
        self.extra_chars += len(text)
        if self.dated:
            self.cov.continuation_lines += 1
        else:
            self.cov.undated_lines += 1

    def _close(self) -> Evidence:
        ev = self.pending
        assert ev is not None
        self.pending = None
        if not self.extra and not self.pre_text:
            return ev  # most records: one line, nothing to join
        parts = [ev.text] if ev.text else []
        if self.extra:
            parts += self.extra
            ev.attrs["continuation_lines"] = len(self.extra)
        if self.pre_text:
            parts.append(self.pre_text)
        ev.__dict__["text"] = "\n".join(parts).rstrip()  # (pydantic's __setattr__ costs more)
        self.pending, self.extra, self.extra_chars, self.pre_text = None, [], 0, ""
        return ev

    def _preamble_block(self) -> Evidence:
        """Lines before any record start that one record cannot hold: an undated record."""
        n = len(self.pre)
        text = "\n".join(self.pre).strip("\n")
        ev = self._undated(text, self.pre_first, {"format": "text", "lines": n}, self.file_service)
        self.cov.undated_lines += n
        self.pre, self.pre_chars = [], 0
        return ev

    def _finish(self) -> Iterator[Evidence]:
        if self.pending is not None:
            yield self._close()
        if self.pre and any(s.strip() for s in self.pre):
            yield self._preamble_block()
        elif self.pre:
            self.cov.undated_lines += len(self.pre)  # trailing blank lines: nothing to keep

    # -- files without any timestamp -----------------------------------------------------------
    def paragraphs(self) -> Iterator[Evidence | Malformed]:
        """Undated records, one per paragraph or bounded block (the file has no timestamp)."""
        span = self.ctx.span
        if span is not None and span[0] > 0:
            return  # not splittable: the first slice reads the whole file
        cov = self.cov
        for lineno, _, nbytes, text, problem in _physical_lines(self.path, self.ctx, 0, 1):
            cov.lines += 1
            if problem is not None:
                yield Malformed(source=self.rel, locator=f"line {lineno}", reason=problem)
            if text is None:
                continue
            cov.bytes_covered += nbytes
            text = strip_ansi(text)
            if not text.strip():
                if self.pre:
                    self.pre.append("")  # kept so the block's line count stays true
                    continue
                cov.undated_lines += 1
                continue
            if self.pre and self.pre[-1] == "" :
                yield self._preamble_block()
            yield from self._continue(text, lineno)
        if self.pre:
            yield self._preamble_block()


class GenericTextReader:
    """Any text file: the last reader in the registry, so specialised readers keep first claim."""

    name = "log.text"
    needs_year = False  # per file: needs_year_for
    splittable = True  # per file: splittable_for (yearless and timestamp-free files are read whole)

    def __init__(self) -> None:
        self._plans: dict[tuple[str, int, int], Plan] = {}

    def sniff(self, path: Path, head: str) -> bool:
        return True  # the ingest has already set binary and compressed files aside

    def plan_for(self, path: Path) -> Plan:
        st = path.stat()
        key = (str(path), st.st_size, st.st_mtime_ns)
        plan = self._plans.get(key)
        if plan is None:
            plan = discover(path)
            if len(self._plans) >= _PLAN_CACHE_MAX:
                self._plans.clear()
            self._plans[key] = plan
        return plan

    def needs_year_for(self, path: Path, head: str) -> bool:
        """True when this file's timestamps lack a year: it must be read after the dated sources."""
        try:
            return self.plan_for(path).yearless
        except OSError:
            return False

    def splittable_for(self, path: Path) -> bool:
        try:
            return self.plan_for(path).splittable
        except OSError:
            return False

    def read(self, path: Path, rel: str, ctx: ReadContext) -> Iterator[Evidence | Malformed]:
        try:
            plan = self.plan_for(path)
        except OSError as exc:
            yield Malformed(source=rel, reason=f"unreadable: {exc.strerror}")
            return
        run = _Run(path, rel, ctx, plan)
        yield from (run.records() if plan.choices else run.paragraphs())


# --- the header between timestamp and message ----------------------------------------------------
# Layouts differ in order and punctuation (`INFO [main] com.x.Y - msg`, `{file.py:12} INFO - msg`,
# `148 INFO dfs.DataNode: msg`, `[notice] msg`, `[core:error] [pid 12:tid 34] msg`,
# `1702 2395 D Tag: msg`, `host prog[pid]: msg`), so a small scanner walks the leading tokens and
# stops at the first one that is not header material; the rest is the message.

LEVEL_WORDS = frozenset({
    "TRACE", "DEBUG", "INFO", "NOTICE", "WARN", "WARNING", "ERROR", "ERR", "CRITICAL", "CRIT",
    "FATAL", "SEVERE", "PANIC", "EMERG", "ALERT", "VERBOSE",
})
MAX_HEADER_ITEMS = 6

_TOKEN = re.compile(r"""\s*(?:
    (?P<lvl>[A-Z]{3,8}):?(?=\s|$)
  | \[(?P<blvl>[A-Za-z_]{3,8})\]:?(?=\s|$)
  | <(?P<alvl>[A-Za-z]{3,8})>
  | \{(?P<src>[^{}\s]{1,160})\}
  | (?P<num>\d{1,10}(?:\#\d{1,10})?):?(?=\s)
  | \[?(?P<fl>[\w.\-/]+\.\w+:\d+)\]
  | (?P<sep>[-|>:]{1,3})(?=\s)
  | (?P<prog>[\w.\-/]+(?:\([\w.\-/]+\))?\[\d{1,10}\]):(?=\s|$)
  | (?P<br>\[)
)""", re.X)  # no named group nests in another, so Match.lastgroup names the alternative
_LOGGER_AFTER_LEVEL = re.compile(r"\s*(?P<lg>[A-Za-z_][\w$]*(?:[.$][\w$]+)+)(?::|\s+-)(?=\s|$)")
_LOGCAT = re.compile(r"\s*(\d+)\s+(\d+)\s+([VDIWEFA])\s+([^:]{0,80}?)\s*:\s?")
_SYSLOG_HOST_PROG = re.compile(r"\s*(\S+)\s+([\w.\-/]+(?:\([\w.\-/]+\))?)(?:\[(\d{1,10})\])?:(?=\s|$)")
_UPPER_LEVEL = re.compile(r"(?<![\w.])(DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|CRITICAL|FATAL|SEVERE|PANIC)(?![\w.])")
_LOGCAT_LEVELS = {"V": "debug", "D": "debug", "I": "info", "W": "warning", "E": "error", "F": "critical", "A": "critical"}


@dataclass
class Header:
    level: str | None = None
    logger: str | None = None
    pid: str | None = None
    thread: str | None = None
    host: str | None = None
    program: str | None = None
    msg: str = ""


def parse_header(rest: str, family: str) -> Header:
    """Split `rest` (the text after the timestamp) into header fields and the message."""
    h = Header()
    if family == "logcat":
        m = _LOGCAT.match(rest)
        if m:
            h.pid, h.thread, h.logger = m.group(1), m.group(2), m.group(4)
            h.level = _LOGCAT_LEVELS[m.group(3)]
            h.msg = rest[m.end():]
            return h
    if family == "syslog":
        m = _SYSLOG_HOST_PROG.match(rest)
        if m:
            h.host, h.program, h.pid = m.group(1), m.group(2), m.group(3)
            h.msg = rest[m.end():].lstrip()
            _fallback_level(h)
            return h
    if rest.startswith("|"):
        return _pipe_fields(rest, h)
    return _finish(h, rest, _scan(rest, h).pos, family)


def _fallback_level(h: Header) -> None:
    """An upper-case level word among the first words of the message (BGL `RAS KERNEL INFO`)."""
    if h.level is None:
        m = _UPPER_LEVEL.search(h.msg, 0, 120)
        if m:
            h.level = common.norm_level(m.group(1))


def _pipe_fields(rest: str, h: Header) -> Header:
    # `ts|component|pid|message` (HealthApp and other pipe-separated layouts)
    parts = rest[1:].split("|", 2)
    if len(parts) == 3 and parts[1].strip().isdigit():
        h.logger, h.pid, h.msg = parts[0].strip() or None, parts[1].strip(), parts[2]
    else:
        h.msg = rest[1:]
    _fallback_level(h)
    return h


def _scan(rest: str, h: Header, pos: int = 0, items: int = 0, logger_due: bool = False) -> _ScanEnd:
    """Consume header tokens of `rest` from `pos` (after `items` of them, with a logger still to
    try after a level when `logger_due`); returns where the message starts and how the scan ended."""
    n = len(rest)
    if logger_due:
        lg = _LOGGER_AFTER_LEVEL.match(rest, pos)
        if lg:
            h.logger = lg.group("lg")
            pos = lg.end()
        logger_due = False
    while items < MAX_HEADER_ITEMS:
        if pos >= n:
            break
        m = _TOKEN.match(rest, pos)
        if m is None:
            break
        kind = m.lastgroup
        if kind == "br":
            end = _bracket(rest, m.end() - 1, h)
            if end < 0:
                break
            pos = end
            items += 1
            logger_due = False
            continue
        if not _take(m, kind, h):
            break
        items += 1
        pos = m.end()
        logger_due = False
        if kind in ("lvl", "blvl", "alvl") and h.logger is None:
            lg = _LOGGER_AFTER_LEVEL.match(rest, pos)
            if lg:
                h.logger = lg.group("lg")
                pos = lg.end()
            else:
                logger_due = True
        if kind == "prog":
            return _ScanEnd(pos, items, True, False)  # `prog[pid]:` ends a syslog-style header
    return _ScanEnd(pos, items, items >= MAX_HEADER_ITEMS, logger_due)


class _ScanEnd(NamedTuple):
    pos: int  # where the message starts
    items: int  # header items consumed
    final: bool  # nothing after `pos` could change the header (a `prog[pid]:`, or the item limit)
    logger_due: bool  # the last item was a level with no logger after it: a logger may follow


_Fields = tuple[str | None, str | None, str | None, str | None, str | None, str | None]


class HeaderScanner:
    """parse_header for the lines of one file, with the scan of a repeated header remembered.

    The lines of a log repeat a few header texts (`INFO [main] `, `{task.py:42} WARNING - `). Every
    header token is a run of non-blank characters looked at up to one character past its end
    (brackets up to their `]`), so the scan of a line up to where it stopped, `pos`, depends only
    on `rest[:pos + 1]` when that character is blank. That prefix keys the state there (fields,
    items, whether a logger may follow); another line with the same prefix resumes the scan from
    `pos` with a copy of that state, which is exactly what scanning it from the start would do
    (the equivalence is pinned by tests/unit/test_generic_text.py against `parse_header`)."""

    MAX_KEYS = 4096
    MAX_LENGTHS = 8

    def __init__(self) -> None:
        self.states: dict[str, tuple[_Fields, _ScanEnd]] = {}
        self.lengths: list[int] = []  # key lengths seen, most recent first

    def __call__(self, rest: str, family: str) -> Header:
        if family in ("logcat", "syslog") or rest.startswith("|"):
            return parse_header(rest, family)
        states = self.states
        for length in self.lengths:
            state = states.get(rest[:length])
            if state is not None:
                fields, end = state
                h = Header(*fields)
                if end.final:
                    return _finish(h, rest, end.pos, family)
                more = _scan(rest, h, end.pos, end.items, end.logger_due)
                if more.pos != end.pos:
                    self._remember(rest, h, more)  # a longer header behind a shorter one
                return _finish(h, rest, more.pos, family)
        h = Header()
        end = _scan(rest, h)
        self._remember(rest, h, end)
        return _finish(h, rest, end.pos, family)

    def _remember(self, rest: str, h: Header, end: _ScanEnd) -> None:
        pos = end.pos
        if pos >= len(rest) or not rest[pos].isspace():
            return  # the next character could extend a token: the prefix alone does not decide
        key = rest[:pos + 1]
        if len(self.states) >= self.MAX_KEYS:
            self.states.clear()
        self.states[key] = ((h.level, h.logger, h.pid, h.thread, h.host, h.program), end)
        lengths = self.lengths
        if lengths and lengths[0] == len(key):
            return
        if len(key) in lengths:
            lengths.remove(len(key))
        lengths.insert(0, len(key))
        del lengths[self.MAX_LENGTHS:]


def _finish(h: Header, rest: str, pos: int, family: str) -> Header:
    """The message after the header, and the fields that depend on it."""
    h.msg = rest[pos:].lstrip()
    if family == "glog" and h.pid is not None and h.thread is None:
        h.pid, h.thread = None, h.pid  # glog's number is the thread id
    _fallback_level(h)
    return h


def _take(m: re.Match[str], kind: str | None, h: Header) -> bool:
    """Record one header token; False when it is not header material after all."""
    if kind in ("lvl", "blvl", "alvl"):
        word = m.group(kind)
        if word.upper() not in LEVEL_WORDS or h.level is not None:
            if kind == "blvl" and h.thread is None:
                h.thread = word  # [main]
                return True
            return False
        if kind == "lvl" and not word.isupper():
            return False
        h.level = common.norm_level(word)
        return True
    if kind == "src" or kind == "fl":
        if h.logger is not None:
            return False
        h.logger = m.group(kind)
        return True
    if kind == "num":
        num, hash_, tid = m.group("num").partition("#")
        if (h.level is not None or h.thread is not None) and not hash_:
            return False  # a number after the level is message text (nginx's pid#tid is not)
        if h.pid is None:
            h.pid = num
            if hash_:
                h.thread = tid  # nginx: pid#tid
        else:
            h.thread = num
        return True
    if kind == "prog":
        prog, _, pid = m.group("prog")[:-1].rpartition("[")
        h.program, h.pid = prog, pid
        return True
    return kind == "sep"


def _bracket(rest: str, start: int, h: Header) -> int:
    """A bracketed field (may nest, as in Zookeeper thread names); -1 when it is message text."""
    limit = min(len(rest), start + 200)
    close = rest.find("]", start + 1, limit)
    if close >= 0 and rest.find("[", start + 1, close) < 0:
        i, depth = close, 0  # the common case: no nesting
    else:
        i, depth = _nested_close(rest, start, limit)
    if depth != 0:
        return -1
    content = rest[start + 1:i]
    if not _classify_bracket(content, h):
        return -1
    end = i + 1
    if rest.startswith(":", end):
        end += 1
    return end


def _nested_close(rest: str, start: int, limit: int) -> tuple[int, int]:
    """(index of the matching "]", depth left): depth 0 when the bracket closes before `limit`."""
    depth = 0
    i = start
    while i < limit:
        c = rest[i]
        if c == "[":
            depth += 1
        elif c == "]":
            depth -= 1
            if depth == 0:
                break
        i += 1
    return i, depth


def _classify_bracket(content: str, h: Header) -> bool:
    if content.startswith("pid "):
        pid, _, tid = content[4:].partition(":tid ")
        if pid.strip().isdigit():
            h.pid = pid.strip()
            if tid.strip().isdigit():
                h.thread = tid.strip()
            return True
        return False
    if " " in content or not content:
        return False  # `[client 10.0.0.1]`: context that belongs to the message
    mod, _, lvl = content.rpartition(":")
    if mod and lvl.upper() in LEVEL_WORDS and h.level is None:
        h.level, h.logger = common.norm_level(lvl), h.logger or mod  # Apache 2.4 [module:level]
        return True
    if h.thread is None:
        h.thread = content
        return True
    return False


READER = GenericTextReader()

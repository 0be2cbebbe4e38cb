"""Units of ingest work and the code that runs one, in this process or in a worker process.

A unit is one source, or one slice of a big line-oriented file (`line_spans`). Every record of a
unit goes through the same `RecordFilter` (redaction, instruction flags, counters) wherever it
runs. A worker writes its unit to a shard file and returns a `UnitResult`; the parent merges
shards in unit order, so the store is the same whatever the number of workers.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from tools.models import Evidence, Malformed, SourceReport
from tools.readers.base import Coverage, FileReader, ReadContext
from tools.redact import Redactor, secret_keys
from tools.screen import screen
from tools.store.writer import ShardWriter, SpanStats
from tools.untrusted import has_cue, instruction_flags

MAX_MALFORMED_EXAMPLES = 3
MAX_UNTRUSTED_IDS = 5000
# Evidence ids kept per redacted kind: enough for a rotation action to say where a credential was
# pasted, bounded so a log that repeats one token a million times costs nothing.
MAX_REDACTION_SITES = 20


def add_sites(into: dict[str, list[str]], sites: dict[str, list[str]]) -> None:
    """Append `sites` (kind -> evidence ids) to `into`, keeping each kind's first ids, in order."""
    for kind, ids in sites.items():
        kept = into.setdefault(kind, [])
        kept.extend(i for i in ids[: max(0, MAX_REDACTION_SITES - len(kept))] if i not in kept)
FAULT_ENV = "POSTMORTEM_FAULT_IN_WORKER"
# Read failures a reader can hit on hostile input; reported on the source, never re-raised.
READ_ERRORS = (OSError, ValueError, TypeError, KeyError, AttributeError, IndexError, RecursionError)


class Stats:
    """Per-source counters filled while records stream past (or merged from unit results)."""

    def __init__(self, rel: str, kind: str, size: int = 0) -> None:
        self.report = SourceReport(path=rel, kind=kind, bytes=size)
        self.first: datetime | None = None
        self.last: datetime | None = None

    def malformed(self, m: Malformed) -> None:
        self.report.malformed += 1
        if len(self.report.malformed_examples) < MAX_MALFORMED_EXAMPLES:
            self.report.malformed_examples.append(m)

    def dated(self, span: SpanStats) -> None:
        """Take in the time span of rows just written (counted in SQL, not record by record)."""
        self.report.assumed_ts += span.assumed
        for ts in (span.first, span.last):
            if ts is not None:
                self.first = ts if self.first is None or ts < self.first else self.first
                self.last = ts if self.last is None or ts > self.last else self.last

    def covered(self, cov: Coverage) -> None:
        """Add what a reader counted while reading this source (or one slice of it)."""
        r = self.report
        r.lines += cov.lines
        r.continuation_lines += cov.continuation_lines
        r.undated_lines += cov.undated_lines
        r.bytes_covered += cov.bytes_covered

    def absorb(self, part: SourceReport, records: int) -> None:
        """Add one unit's report (a slice of this source) to the source's totals."""
        r = self.report
        r.records += records
        r.lines += part.lines
        r.continuation_lines += part.continuation_lines
        r.undated_lines += part.undated_lines
        r.bytes_covered += part.bytes_covered
        r.malformed += part.malformed
        room = MAX_MALFORMED_EXAMPLES - len(r.malformed_examples)
        r.malformed_examples.extend(part.malformed_examples[:max(0, room)])
        r.assumed_ts += part.assumed_ts
        if part.note and part.note not in r.note:
            r.note = f"{r.note}; {part.note}" if r.note else part.note
        for ts in (part.first_ts, part.last_ts):
            if ts is not None:
                self.first = ts if self.first is None or ts < self.first else self.first
                self.last = ts if self.last is None or ts > self.last else self.last

    def done(self) -> SourceReport:
        r = self.report
        r.first_ts, r.last_ts = self.first, self.last
        if r.lines == 0 and r.bytes_covered == 0 and r.records > 0:
            # A reader that parses whole documents (PagerDuty, Prometheus, Slack, notes...) counts
            # no lines: a document that yielded records was parsed, so the whole file is covered.
            r.bytes_covered = r.bytes
        if r.bytes:
            r.bytes_covered = min(r.bytes_covered, r.bytes)
        return r


class RecordFilter:
    """Redacts and flags records on their way to storage, and counts what it saw."""

    def __init__(self, redactor: Redactor) -> None:
        self.redactor = redactor
        self.untrusted: list[str] = []
        self.untrusted_total = 0
        self.years: Counter[int] = Counter()
        # Where each kind of value was redacted (kind -> evidence ids), never the value itself.
        self.redacted_at: dict[str, list[str]] = {}

    def stream(self, items: Iterator[Evidence | Malformed], stats: Stats, rel: str) -> Iterator[Evidence]:
        redact_text = self.redactor.redact_text
        redact_obj = self.redactor.redact_obj
        try:
            for item in items:
                if isinstance(item, Malformed):
                    stats.malformed(item)
                    continue
                ev = item
                # Write through __dict__: pydantic's __setattr__ costs more than the work here.
                d = ev.__dict__
                text, attrs = d["text"], d["attrs"]
                # One screen over the text and every flat attribute value: most records need
                # neither redaction nor flags, and one automaton pass over the lower-cased text
                # decides both (tools/screen.py) instead of a full pass per field.
                strs = _flat_strings(attrs, text) if attrs else []
                blob = text if not strs else text + "\n" + "\n".join(strs)
                low = blob.lower()
                secret, cue = screen(blob, low)
                if secret or strs is None or (attrs and secret_keys(attrs)):
                    before = dict(self.redactor.counts)
                    text = d["text"] = redact_text(text)
                    if attrs:
                        d["attrs"] = redact_obj(attrs)
                    cue = has_cue(text.lower())
                    self._note_sites(before, ev.id)
                if cue:
                    flags = instruction_flags(text)
                    if flags:
                        d["flags"] = list(flags)
                        self.untrusted_total += 1
                        if len(self.untrusted) < MAX_UNTRUSTED_IDS:
                            self.untrusted.append(ev.id)
                yield ev
        except READ_ERRORS as exc:
            # A reader hit something it did not expect: keep what it read, report where it stopped.
            stats.malformed(Malformed(source=rel, reason=f"reading stopped: {exc.__class__.__name__}: {exc}"[:300]))
            stats.report.note = "reading stopped early (see malformed examples)"

    def _note_sites(self, before: dict[str, int], evidence_id: str) -> None:
        """Record `evidence_id` under every kind whose count grew while redacting it."""
        grown = {k: [evidence_id] for k, n in self.redactor.counts.items() if n > before.get(k, 0)}
        if grown:
            add_sites(self.redacted_at, grown)


def redact_samples(reports: Iterable[SourceReport], redactor: Redactor) -> None:
    """Redact what a report quotes from the evidence: malformed examples (a raw line that failed
    to parse) and notes. They reach stdout, the store's meta table and the checkpoints, so they
    go through the run's Redactor (same placeholders as the records) before the Inventory is
    saved. Done once, in the parent, after every unit is merged: the samples of single-process
    and parallel runs are then numbered alike."""
    for rep in reports:
        rep.note = redactor.redact_text(rep.note)
        for m in rep.malformed_examples:
            m.reason = redactor.redact_text(m.reason)
            m.locator = redactor.redact_text(m.locator)


def _flat_strings(attrs: dict[str, Any], text: str) -> list[str] | None:
    """The string values of a flat dict that `text` does not already contain. A line reader's
    fields are mostly slices of the line, and every screen check looks for a word or an unanchored
    pattern, so a hit inside a slice is a hit inside the text: screening slices again only costs
    time. None when a value nests (those take the full path)."""
    strs: list[str] = []
    for v in attrs.values():
        t = type(v)
        if t is str:
            if v not in text:
                strs.append(v)
        elif t is dict or t is list or t is tuple:
            return None
    return strs


@dataclasses.dataclass(frozen=True)
class UnitTask:
    """Everything a worker process needs to read one unit (picklable: names and paths only)."""

    index: int
    reader: str  # a FileReader's name
    path: str
    rel: str
    ctx: ReadContext  # with span set and no callbacks
    shard: str
    tag: str
    collect_years: bool
    # Module that defines the reader: a worker imports that one module rather than the registry
    # and every reader in it (a third of a worker's start-up went to readers it never used).
    reader_module: str = ""


class UnitResult(BaseModel):
    """What a worker reports back; the records themselves are in the shard file."""

    index: int
    report: SourceReport
    rows: int
    years: dict[int, int] = Field(default_factory=dict)
    untrusted: list[str] = Field(default_factory=list)
    untrusted_total: int = 0
    seen: dict[str, list[bytes]] = Field(default_factory=dict)  # redacted-value digests, in order
    counts: dict[str, int] = Field(default_factory=dict)
    redacted_at: dict[str, list[str]] = Field(default_factory=dict)  # kind -> evidence ids
    cpu_s: float = 0.0  # the worker's CPU time for this unit (benchmarks report it)


_READERS: dict[str, FileReader] = {}  # this process's readers by name, found as units need them


def _reader(name: str, module: str) -> FileReader:
    """The reader called `name`: the one instance of that name in `module` when there is exactly
    one, else the registry's (which imports every reader)."""
    reader = _READERS.get(name)
    if reader is not None:
        return reader
    if module.startswith("tools.readers."):
        found = [v for v in vars(importlib.import_module(module)).values()
                 if not isinstance(v, type) and getattr(v, "name", None) == name and callable(getattr(v, "read", None))]
        if len(found) == 1:
            reader = _READERS[name] = found[0]
            return reader
    from tools.readers.registry import FILE_READERS  # noqa: PLC0415 - only when the module did not say

    _READERS.update((r.name, r) for r in FILE_READERS)
    return _READERS[name]


def run_unit(task: UnitTask) -> UnitResult:
    """Worker entry point: read one unit into its shard."""
    if os.environ.get(FAULT_ENV):
        os._exit(71)  # tests: a worker that dies mid-run (the parent must carry on alone)
    reader = _reader(task.reader, task.reader_module)  # its import is start-up, not the unit's time
    started = time.process_time()
    flt = RecordFilter(Redactor(tag=task.tag))
    stats = Stats(task.rel, task.reader)
    shard = ShardWriter(task.shard)
    try:
        items = reader.read(Path(task.path), task.rel, task.ctx)
        rows = shard.add_many(flt.stream(items, stats, task.rel))
        stats.covered(task.ctx.coverage)
        span = shard.span_stats(0)
        stats.dated(span)
        if task.collect_years:
            flt.years.update(span.years)
    finally:
        shard.close()
    return UnitResult(
        index=task.index, report=stats.done(), rows=rows, years=dict(flt.years),
        untrusted=flt.untrusted, untrusted_total=flt.untrusted_total,
        seen=flt.redactor.seen(), counts=dict(flt.redactor.counts), redacted_at=flt.redacted_at,
        cpu_s=time.process_time() - started,
    )

"""The reader interface: one module per source kind, each detected by content as well as by name."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone, tzinfo
from pathlib import Path
from typing import Protocol

from tools.models import Evidence, Malformed

HEAD_BYTES = 64 * 1024


@dataclass
class Coverage:
    """How much of one file became evidence; readers add to it as they go (see the inventory).

    Line readers count every physical line once: it either starts a record, continues one
    (stack trace, env dump, untimed line), or is a line that carries no timestamp at all."""

    lines: int = 0  # physical lines read
    continuation_lines: int = 0  # lines attached to the record before them
    undated_lines: int = 0  # lines that belong to no dated record (e.g. before the first timestamp)
    bytes_covered: int = 0  # bytes of the file that ended up inside some record


@dataclass
class ReadContext:
    """What a reader needs to know about the dump as a whole."""

    root: Path
    # Zone applied to naive timestamps: manifest `timezone`, else UTC. Such records are `ts_assumed`.
    default_tz: tzinfo = timezone.utc
    # Year for formats that omit it (klog/glog, RFC 3164 syslog): inferred from the rest of the dump.
    year_hint: int | None = None
    # Newest dated evidence of the dump (UTC): a yearless time takes the year that puts it nearest
    # to, and not after, this instant (tools/yearless.py). None: today.
    year_anchor: datetime | None = None
    # Services named in the manifest, used to attribute records whose file names carry them.
    services: list[str] = field(default_factory=list)
    max_line_bytes: int = 1_000_000
    # Manifest incident window (UTC), used to date notes that give only a time of day ("14:05 UTC").
    window_start: datetime | None = None
    window_end: datetime | None = None
    # Called now and then with the bytes read so far in the current file (progress of big files).
    on_bytes: Callable[[int], None] | None = None
    # (start byte, end byte, first line number): read only this slice of the file. Set only for
    # readers with `splittable = True`, whose records never span lines beyond continuations.
    span: tuple[int, int, int] | None = None
    # Filled in by the reader while it reads this file (or this slice of it).
    coverage: Coverage = field(default_factory=Coverage)


class FileReader(Protocol):
    """Reads one file. `sniff` sees the file name and the first HEAD_BYTES decoded leniently."""

    name: str
    needs_year: bool

    def sniff(self, path: Path, head: str) -> bool: ...

    def read(self, path: Path, rel: str, ctx: ReadContext) -> Iterator[Evidence | Malformed]: ...


class DirReader(Protocol):
    """Reads a whole directory (a Slack export, a git repository)."""

    name: str

    def sniff_dir(self, path: Path) -> bool: ...

    def read_dir(self, path: Path, rel: str, ctx: ReadContext) -> Iterator[Evidence | Malformed]: ...

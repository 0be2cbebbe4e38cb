"""Ingest an incident dump (directory, single file or archive) into an evidence store (tools.store.writer.StoreWriter).

Order matters: the manifest first (its timezone applies to naive timestamps), then every dated
source, then the yearless formats (klog, RFC 3164 syslog), whose year is inferred from what was
read before. Every record is redacted and checked for instruction-like text before it is stored.
Everything streams: readers are generators feeding `store.add_many`, so memory stays flat.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import secrets
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from tools.archive import DEFAULT_MAX_BYTES, Budget, archive_type, remove_tree, safe_extract
from tools.decompress import compression_of, count_invalid_utf8, decompress_file, sniff_text, transcode
from tools.models import COVERAGE_FLOOR, Evidence, EvidenceKind, Inventory, Malformed, SourceReport
from tools.readers.base import HEAD_BYTES, Coverage, FileReader, ReadContext
from tools.plausible import gap_note, plausible_span
from tools.readers.common import id_part
from tools.readers.manifest import MANIFEST_NAMES, Manifest, load_manifest
from tools.readers.manifest import READER as MANIFEST_READER
from tools.readers.registry import pick_dir_reader, pick_reader
from tools.readers.slack import READER as SLACK_READER
from tools.readers.slack import WORKSPACE_FILES as SLACK_LISTS
from tools.readers.slack import day_dirs as slack_day_dirs
from tools.ingest_units import MAX_UNTRUSTED_IDS, RecordFilter, add_sites, Stats, UnitResult, UnitTask, redact_samples, run_unit
from tools.readers.common import line_spans
from tools.redact import Redactor, retag
from tools.timeparse import parse_zone
from tools.store.reader import EvidenceReader
from tools.store.writer import ShardWriter, StoreWriter
from tools.yearless import GRACE as YEARLESS_GRACE
from tools.workdir_lock import WorkdirLock, die_with_parent

try:  # written in parallel by another engineer; ingestion must still work without it
    from tools.readers.git import GitReader
except ImportError:  # pragma: no cover - only while tools/readers/git.py is absent
    GitReader = None  # type: ignore[assignment,misc]

Progress = Callable[[int, int, str], None]

MAX_ARCHIVE_DEPTH = 2
MAX_LISTED_REJECTIONS = 50
_ARCHIVE_MAGIC = (b"PK\x03\x04", b"PK\x05\x06", b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00")
_BUNDLE_MAGIC = (b"# v2 git bundle", b"# v3 git bundle")
# Big line-oriented files are read in slices of this size, so both cores share one big log.
CHUNK_BYTES = 16 * 1024 * 1024
# Below this much line-oriented data, worker start-up (~0.5 s) costs more than it saves.
PARALLEL_MIN_BYTES = 8 * 1024 * 1024
MAX_GAP_FILES = 5

GAP_TEXT: dict[str, str] = {
    "metrics": "No metrics: no Prometheus query results in the dump, so impact and recovery are not measured from time series.",
    "commits": "No commit history: no git repository or bundle, so changes before the incident cannot be checked.",
    "chat": "No chat: no Slack export, so the response coordination cannot be reconstructed from messages.",
    "paging": "No paging or alerting records: no PagerDuty or Alertmanager data, so detection and escalation times are unknown.",
    "logs": "No logs: no application, access or system logs in the dump.",
    "traces": "No LLM traces: no model request/response records, so model behaviour cannot be inspected directly.",
}


@dataclasses.dataclass
class _Job:
    path: Path
    rel: str
    kind: str  # reader name
    size: int
    reader: FileReader | None = None
    dir_reader: Any = None  # DirReader, or GitReader (for bundles: kind == "git.bundle")
    needs_year: bool = False


@dataclasses.dataclass
class _Scan:
    jobs: list[_Job] = dataclasses.field(default_factory=list)
    skipped: list[SourceReport] = dataclasses.field(default_factory=list)
    manifest: tuple[Path, str] | None = None
    # What happened to a source at the door (decompressed, transcoded, bytes replaced), by rel path.
    notes: dict[str, str] = dataclasses.field(default_factory=dict)


def _size_skipped(rep: SourceReport, p: Path) -> None:
    """Size of a skipped file, and whether it is binary by the same text test `classify` uses."""
    try:
        if p.is_symlink() or not p.is_file():
            return
        rep.bytes = p.stat().st_size
        head = _head(p)
    except OSError:
        return
    rep.binary = (rep.kind in ("archive", "compressed") or compression_of(head) is not None
                  or sniff_text(head).encoding is None)


def _head(path: Path) -> bytes:
    with open(path, "rb") as f:
        return f.read(HEAD_BYTES)


def _inside(path: Path, root: Path) -> bool:
    try:
        return path.resolve().is_relative_to(root)
    except (OSError, RuntimeError):
        return False


def shown(name: str) -> str:
    """A file name as it can be stored and printed: bytes that are not UTF-8 (which Python
    keeps as lone surrogates, and SQLite and terminals refuse) become `\\xff`. Two names that
    differ only in such bytes stay different, so their record ids do too."""
    try:
        name.encode("utf-8")
        return name
    except UnicodeEncodeError:
        return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _json_bytes(folder: Path, pattern: str) -> int:
    """Bytes of the JSON files a folder reader will read (0 for what cannot be listed)."""
    total = 0
    try:
        for f in folder.glob(pattern):
            try:
                if f.is_file() and not f.is_symlink():
                    total += f.stat().st_size
            except OSError:
                continue
    except OSError:
        pass
    return total


def _is_bare_repo(path: Path) -> bool:
    return (path / "HEAD").is_file() and (path / "objects").is_dir() and (path / "refs").is_dir()


class IngestError(RuntimeError):
    """Ingestion could not finish; the message says what to do."""


def resolve_workers(workers: int | None) -> int:
    """None (POSTMORTEM_INGEST_WORKERS unset, see agent.config): one per core, at most 8."""
    if workers is None:
        workers = min(os.cpu_count() or 1, 8)
    return max(1, workers)


def _splittable(job: _Job) -> bool:
    if job.reader is None:
        return False
    per_file = getattr(job.reader, "splittable_for", None)  # e.g. generic text: not yearless files
    if per_file is not None:
        return bool(per_file(job.path))
    return bool(getattr(job.reader, "splittable", False))


def _spans(job: _Job) -> list[tuple[int, int, int] | None]:
    if not _splittable(job):
        return [None]
    try:
        return list(line_spans(job.path, CHUNK_BYTES)) or [None]
    except OSError:
        return [None]  # the reader meets the same error and reports it on the source


class _Pool:
    """Worker processes that read slices of line files into shard files, merged in order by the parent.

    `spawn` rather than fork: the parent holds SQLite handles and a progress thread, which a
    forked child must not inherit."""

    def __init__(self, workers: int, shard_dir: Path) -> None:
        self.tag = secrets.token_hex(6)
        self.dir = shard_dir
        remove_tree(shard_dir)
        shard_dir.mkdir(parents=True, exist_ok=True)
        # die_with_parent: workers exit when the parent is killed (kill -9 left them orphaned);
        # it also gc.freezes the imported objects, so full collections over millions of
        # short-lived records stay cheap.
        self._ex = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                                       initializer=die_with_parent)
        self._next = 0
        self.workers = workers
        self.broken = False  # a worker died (killed, out of memory, unguarded __main__): read inline

    def shard_path(self, index: int) -> Path:
        return self.dir / f"{index:06d}.sqlite"

    def submit(self, job: _Job, span: tuple[int, int, int], ctx: ReadContext, collect_years: bool) -> Future[UnitResult]:
        index, self._next = self._next, self._next + 1
        assert job.reader is not None
        task = UnitTask(index=index, reader=job.reader.name, path=str(job.path), rel=job.rel,
                        ctx=dataclasses.replace(ctx, span=span, on_bytes=None, coverage=Coverage()),
                        shard=str(self.shard_path(index)),
                        tag=self.tag, collect_years=collect_years, reader_module=type(job.reader).__module__)
        return self._ex.submit(run_unit, task)

    def discard(self, futures: dict[int, Future[UnitResult]]) -> None:
        """Drop units read ahead on a guess that proved wrong: cancel those not started, delete
        the shards of those that ran."""
        for fut in futures.values():
            if fut.cancel():
                continue
            try:
                res = fut.result()
            except Exception:  # noqa: BLE001 - a failed unit left nothing worth keeping
                continue
            self.shard_path(res.index).unlink(missing_ok=True)

    def close(self) -> None:
        self._ex.shutdown(wait=True, cancel_futures=True)
        remove_tree(self.dir)


class _Ingestor:
    def __init__(
        self, store: StoreWriter, workdir: Path, progress: Progress | None,
        max_line_bytes: int, max_archive_bytes: int,
    ) -> None:
        self.store = store
        self.workdir = workdir
        self.progress = progress
        self.max_line_bytes = max_line_bytes
        self.max_archive_bytes = max_archive_bytes
        self.filter = RecordFilter(Redactor())
        self.workers = 1
        self.worker_cpu_s = 0.0
        self.cpu_started = time.process_time()
        self.sources: list[SourceReport] = []
        self.done_bytes = 0
        self.total_bytes = 0
        self.git = GitReader() if GitReader is not None else None
        # One size budget for every archive and compressed file of the dump, nested ones included.
        self.budget = Budget(max_archive_bytes)
        # Newest time among the dated sources read so far: the year anchor of the yearless ones.
        self.newest: datetime | None = None

    # ---- scanning --------------------------------------------------------------------------
    def scan(self, root: Path, prefix: str, scan: _Scan, depth: int) -> None:
        """Classify every file under root (a directory) into jobs and skips."""
        root_res = root.resolve()
        work_res = self.workdir.resolve()
        root_in_work = root_res.is_relative_to(work_res)  # an archive extracted into the workdir
        if self.git is not None and (root / ".git").exists() and not prefix:
            scan.jobs.append(_Job(root, ".git", "git", 0, dir_reader=self.git))
        def unreadable(exc: OSError) -> None:
            # os.walk drops a folder it cannot list without a word; the inventory must say so.
            where = Path(exc.filename or root)
            rel = where.relative_to(root).as_posix() if where.is_relative_to(root) else str(where)
            scan.skipped.append(SourceReport(path=prefix + shown(rel), kind="skipped",
                                             note=f"skipped: unreadable folder ({exc.strerror})"))

        for dirpath, dirnames, filenames in os.walk(root, onerror=unreadable, followlinks=False):
            here = Path(dirpath)
            rel_dir = shown(here.relative_to(root).as_posix())
            rel_dir = "" if rel_dir == "." else rel_dir
            if not rel_dir and pick_dir_reader(here) is SLACK_READER:
                # The root itself is a Slack export: it claims its channel folders and workspace
                # lists; anything else beside them (logs/, notes) is still read as usual.
                channel_dirs = self.slack_root(here, prefix, scan)
                dirnames[:] = [d for d in dirnames if d not in channel_dirs]
                filenames = [f for f in filenames if f not in SLACK_LISTS]
            keep: list[str] = []
            for d in sorted(dirnames):
                rel = prefix + (f"{rel_dir}/{shown(d)}" if rel_dir else shown(d))
                if self.walk_into(here / d, rel, root_res, None if root_in_work else work_res, scan):
                    keep.append(d)
            dirnames[:] = keep
            for name in sorted(filenames):
                p = here / name
                rel = prefix + (f"{rel_dir}/{shown(name)}" if rel_dir else shown(name))
                self.classify_sized(p, rel, root_res, scan, depth)

    @staticmethod
    def slack_root(here: Path, prefix: str, scan: _Scan) -> set[str]:
        """Queue the Slack export at the scan's root; the channel folders it claims."""
        channel_dirs = {d.name for d in slack_day_dirs(here)}
        size = sum(_json_bytes(here / d, "*.json") for d in channel_dirs)
        scan.jobs.append(_Job(here, prefix.rstrip("/"), SLACK_READER.name, size, dir_reader=SLACK_READER))
        return channel_dirs

    def walk_into(self, p: Path, rel: str, root_res: Path, work_res: Path | None, scan: _Scan) -> bool:
        """Should the walk descend into folder `p`? No when it is skipped (a symlink, our working
        directory `work_res`, the root's .git) or claimed whole by a reader (queued here).
        `work_res` is None when the scanned root lies inside the working directory (an archive
        extracted there), so nothing below it counts as ours."""
        if p.is_symlink():
            note = ("skipped: symlink pointing outside the dump" if not _inside(p, root_res)
                    else "skipped: symlink to a directory inside the dump (read directly)")
            scan.skipped.append(SourceReport(path=rel, kind="symlink", note=note))
            return False
        if work_res is not None and p.resolve().is_relative_to(work_res):
            return False  # our own working directory inside the dump
        if p.name == ".git":
            return False  # the root's repository is queued by scan; others are claimed whole
        if self.git is not None and ((p / ".git").exists() or _is_bare_repo(p)):
            scan.jobs.append(_Job(p, rel, "git", 0, dir_reader=self.git))
            return False
        dr = pick_dir_reader(p)
        if dr is not None:
            size = _json_bytes(p, "**/*.json")
            scan.jobs.append(_Job(p, rel, dr.name, size, dir_reader=dr))
            return False
        return True

    def classify_sized(self, p: Path, rel: str, root_res: Path, scan: _Scan, depth: int) -> None:
        """`classify`, then give each file it skipped its size and say whether it is binary: the
        inventory's coverage counts skipped text as evidence lost, and leaves binary files out."""
        before = len(scan.skipped)
        self.classify(p, rel, root_res, scan, depth)
        for rep in scan.skipped[before:]:
            if rep.path == rel and rep.kind != "symlink" and not rep.bytes:
                _size_skipped(rep, p)

    def classify(self, p: Path, rel: str, root_res: Path, scan: _Scan, depth: int) -> None:
        def skip(note: str, kind: str = "skipped") -> None:
            scan.skipped.append(SourceReport(path=rel, kind=kind, note=note))

        if p.is_symlink():
            if not _inside(p, root_res):
                skip("skipped: symlink pointing outside the dump", "symlink")
            else:
                skip("skipped: symlink to a file inside the dump (read directly)", "symlink")
            return
        try:
            st = p.stat()
            if not p.is_file():
                skip("skipped: not a regular file")
                return
            if st.st_size == 0:
                skip("skipped: empty file")
                return
            head = _head(p)
        except OSError as exc:
            skip(f"skipped: unreadable ({exc.strerror})")
            return
        if head.startswith(_BUNDLE_MAGIC):
            if self.git is None:
                skip("skipped: git bundle, but the git reader is not available")
            else:
                scan.jobs.append(_Job(p, rel, "git.bundle", st.st_size, dir_reader=self.git))
            return
        if (head.startswith(_ARCHIVE_MAGIC) or head[257:262] == b"ustar") and archive_type(p) is not None:
            self.nested_archive(p, rel, scan, depth)
            return
        method = compression_of(head)
        if method is not None:
            self.decompressed(p, rel, method, root_res, scan, depth)
            return
        verdict = sniff_text(head)
        if verdict.encoding is None:
            skip(verdict.reason)
            return
        if verdict.needs_transcoding:
            self.transcoded(p, rel, verdict, scan)
            return
        self.classify_text(p, rel, head, st.st_size, scan)

    def _door_dir(self, what: str, rel: str) -> Path:
        """A fresh workdir folder for the decoded copy of `rel` (one per source, so names never clash)."""
        dest = self.workdir / what / id_part(rel).replace("/", "__")
        remove_tree(dest)
        return dest

    def decompressed(self, p: Path, rel: str, method: str, root_res: Path, scan: _Scan, depth: int) -> None:
        """A compressed single file: decompress it into the workdir, then classify what came out
        under the original name (a .tar inside counts as one more level of nesting)."""
        if depth > MAX_ARCHIVE_DEPTH:
            scan.skipped.append(SourceReport(path=rel, kind="skipped", note=f"skipped: {method} file nested too deeply"))
            return
        out = decompress_file(p, self._door_dir("decompressed", rel), method, self.budget)
        if out.path is None:
            scan.skipped.append(SourceReport(path=rel, kind="skipped", note=out.note))
            return
        scan.notes[rel] = out.note
        if not out.complete:  # a cut-short file is still read, and listed so nobody misses the loss
            scan.skipped.append(SourceReport(path=rel, kind="compressed", note=f"partly read: {out.note}"))
        self.classify(out.path, rel, out.path.parent.resolve(), scan, depth + 1)

    def transcoded(self, p: Path, rel: str, verdict: Any, scan: _Scan) -> None:
        """UTF-16/32 or BOM-marked text: read a UTF-8 copy from the workdir under the original name."""
        out = transcode(p, self._door_dir("decoded", rel), verdict, self.budget)
        if out is None:
            scan.skipped.append(SourceReport(
                path=rel, kind="skipped",
                note=f"skipped: {verdict.encoding} text, but the size limit of {self.budget.max_bytes} bytes for "
                     "the whole dump is reached; convert it to UTF-8 or raise the limit to include it"))
            return
        scan.notes[rel] = "; ".join(n for n in (scan.notes.get(rel, ""), out.note) if n)
        self.classify_text(out.path, rel, _head(out.path), out.path.stat().st_size, scan, counted=True)

    def classify_text(self, p: Path, rel: str, head: bytes, size: int, scan: _Scan, counted: bool = False) -> None:
        """Pick the reader for a UTF-8 text file (or take it as the manifest)."""
        text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
        if p.name.lower() in MANIFEST_NAMES and scan.manifest is None:
            scan.manifest = (p, rel)
            return
        reader = pick_reader(p, text)
        if reader is None:
            scan.skipped.append(SourceReport(path=rel, kind="skipped", note="skipped: unrecognised format"))
            return
        if reader is MANIFEST_READER:
            if scan.manifest is None:
                scan.manifest = (p, rel)
            else:
                scan.skipped.append(SourceReport(
                    path=rel, kind="skipped", note="skipped: a second incident manifest (the first one found is used)"))
            return
        if not counted:
            self._count_invalid(p, rel, scan)
        # A reader that handles many layouts (the generic text reader) knows per file whether
        # its times lack a year, and so whether the file must wait for the dated sources.
        year_for = getattr(reader, "needs_year_for", None)
        needs_year = bool(year_for(p, text)) if year_for is not None else reader.needs_year
        scan.jobs.append(_Job(p, rel, reader.name, size, reader=reader, needs_year=needs_year))

    @staticmethod
    def _count_invalid(p: Path, rel: str, scan: _Scan) -> None:
        try:
            bad = count_invalid_utf8(p)
        except OSError:
            return  # the reader meets the same error and reports it on the source
        if bad:
            note = f"{bad} bytes of invalid UTF-8 replaced"
            scan.notes[rel] = "; ".join(n for n in (scan.notes.get(rel, ""), note) if n)

    def nested_archive(self, p: Path, rel: str, scan: _Scan, depth: int) -> None:
        if depth >= MAX_ARCHIVE_DEPTH:
            scan.skipped.append(SourceReport(path=rel, kind="archive", note="skipped: archive nested too deeply"))
            return
        dest = self.workdir / "extracted" / id_part(rel).replace("/", "__")
        remove_tree(dest)
        rep = safe_extract(p, dest, budget=self.budget)
        self.report_archive(rel, rep, scan)
        self.scan(dest, f"{rel}/", scan, depth + 1)

    @staticmethod
    def report_archive(rel: str, rep: Any, scan: _Scan) -> None:
        for r in rep.rejected[:MAX_LISTED_REJECTIONS]:
            scan.skipped.append(SourceReport(path=f"{rel}/{shown(r.member)}", kind="archive",
                                             note=f"rejected: {shown(r.reason)}"))
        extra = rep.rejected_total - min(len(rep.rejected), MAX_LISTED_REJECTIONS)
        if extra > 0:  # a hostile archive can hold millions of members: summarise, don't list
            scan.skipped.append(SourceReport(path=rel, kind="archive", note=f"rejected: {extra} more members not listed"))
        if rep.error:
            scan.skipped.append(SourceReport(path=rel, kind="archive", note=rep.error))

    # ---- reading ---------------------------------------------------------------------------
    def _items(self, job: _Job, ctx: ReadContext) -> Iterator[Evidence | Malformed]:
        if job.kind == "git.bundle":
            return self.git.read_bundle(job.path, job.rel, ctx, self.workdir)  # type: ignore[union-attr]
        if job.reader is not None:
            return job.reader.read(job.path, job.rel, ctx)
        return job.dir_reader.read_dir(job.path, job.rel, ctx)

    def run(self, job: _Job, ctx: ReadContext, collect_years: bool) -> SourceReport:
        """Read one whole source here, in this process."""
        stats = Stats(job.rel or ".", job.kind, job.size)
        self._inline(job, ctx, collect_years, stats, job.size)
        return stats.done()

    def _inline(self, job: _Job, ctx: ReadContext, collect_years: bool, stats: Stats, size: int) -> None:
        if self.progress:
            progress, base, total = self.progress, self.done_bytes, self.total_bytes
            self.progress(base, total, job.rel)
            ctx = dataclasses.replace(ctx, on_bytes=lambda n: progress(base + min(n, size), total, job.rel))
        # Each unit counts into its own Coverage (replace() would share the one of the dump's ctx).
        ctx = dataclasses.replace(ctx, coverage=Coverage())
        items = self._items(job, ctx)
        before = self.store.last_rowid()
        stats.report.records += self.store.add_many(self.filter.stream(items, stats, job.rel))
        stats.covered(ctx.coverage)
        span = self.store.span_stats(before)
        stats.dated(span)
        if collect_years:
            self.filter.years.update(span.years)
        self.done_bytes += size

    @staticmethod
    def plan(jobs: list[_Job]) -> list[tuple[_Job, tuple[int, int, int] | None]]:
        """The units of `jobs` in merge order: whole sources, or slices of big line files."""
        return [(job, span) for job in jobs for span in _spans(job)]

    @staticmethod
    def submit(units: list[tuple[_Job, tuple[int, int, int] | None]], ctx_for: Callable[[_Job], ReadContext],
               collect_years: bool, pool: _Pool | None) -> dict[int, Future[UnitResult]]:
        if pool is None or pool.broken:
            return {}
        return {i: pool.submit(job, span, ctx_for(job), collect_years)
                for i, (job, span) in enumerate(units) if span is not None}

    def run_phase(self, units: list[tuple[_Job, tuple[int, int, int] | None]],
                  ctx_for: Callable[[_Job], ReadContext], collect_years: bool, pool: _Pool | None,
                  futures: dict[int, Future[UnitResult]], after_unit: Callable[[], None] | None = None,
                  ) -> list[SourceReport]:
        """Read `units` in order; slices with a future in `futures` come from the worker pool.

        Results are merged strictly in job and slice order, so record order, ids and redaction
        numbers are those of a single-process run."""
        stats: dict[int, Stats] = {}
        for i, (job, span) in enumerate(units):
            st = stats.setdefault(id(job), Stats(job.rel or ".", job.kind, job.size))
            merged = False
            if i in futures and pool is not None and not pool.broken:
                try:
                    self._merge(job, span, pool, futures.pop(i), st)  # type: ignore[arg-type]
                    merged = True
                except BrokenProcessPool as exc:
                    # Units merge in order, so reading this one and the rest here gives the same store.
                    pool.broken = True
                    st.report.note = f"worker processes stopped ({exc}); read in the main process from here"
            if not merged:
                ctx = ctx_for(job)
                size = job.size if span is None else span[1] - span[0]
                self._inline(job, dataclasses.replace(ctx, span=span) if span else ctx, collect_years, st, size)
            if collect_years and st.last is not None and (self.newest is None or st.last > self.newest):
                self.newest = st.last
            if after_unit is not None:
                after_unit()
        out, done = [], set()
        for job, _ in units:
            if id(job) not in done:
                done.add(id(job))
                out.append(stats[id(job)].done())
        return out

    def _merge(self, job: _Job, span: tuple[int, int, int], pool: _Pool, fut: Future[UnitResult], st: Stats) -> None:
        res = fut.result()
        shard = pool.shard_path(res.index)
        mapping = self.filter.redactor.renumber(res.seen, res.counts)
        if any(res.seen.values()):
            writer = ShardWriter(shard, fresh=False)
            try:
                writer.rewrite(f"#~{pool.tag}~", lambda t: retag(t, pool.tag, mapping))
            finally:
                writer.close()
        added = self.store.merge_shard(shard)
        shard.unlink(missing_ok=True)
        st.absorb(res.report, added)
        self.filter.years.update(res.years)
        f = self.filter
        f.untrusted_total += res.untrusted_total
        f.untrusted.extend(res.untrusted[: max(0, MAX_UNTRUSTED_IDS - len(f.untrusted))])
        add_sites(f.redacted_at, res.redacted_at)
        self.worker_cpu_s += res.cpu_s
        self.done_bytes += span[1] - span[0]
        if self.progress:
            self.progress(self.done_bytes, self.total_bytes, job.rel)

    def anchor_for(self, manifest: Manifest, job: _Job) -> tuple[datetime | None, str]:
        """Year anchor of a yearless source (tools/yearless.py) and where it comes from: the
        newest dated evidence, else the manifest window, else the file's modification time (a
        log is last written at its newest line; a copy's is merely recent); never after now."""
        now = datetime.now(timezone.utc)
        if self.newest is not None:
            return min(self.newest, now), "the newest dated evidence"
        window = manifest.window_end or manifest.window_start
        if window is not None:
            return min(window, now), "the manifest window"
        try:
            mtime = datetime.fromtimestamp(job.path.stat().st_mtime, tz=timezone.utc)
        except OSError:
            return None, "today (the dump has no dated evidence)"
        return min(mtime, now), "the file modification time"

    def year_for(self, manifest: Manifest, job: _Job) -> tuple[int, str]:
        if manifest.window_start is not None:
            return manifest.window_start.year, "manifest window"
        if self.filter.years:
            year, _ = max(self.filter.years.items(), key=lambda kv: (kv[1], kv[0]))
            return year, "most common year of the dated evidence"
        mtime = datetime.fromtimestamp(job.path.stat().st_mtime, tz=timezone.utc)
        return mtime.year, "file modification time"


    # ---- the run, step by step ---------------------------------------------------------------
    def scan_dump(self, dump: Path, scan: _Scan) -> None:
        """Classify the dump (a folder, an archive extracted into the workdir, or one file)."""
        if dump.is_dir():
            self.scan(dump, "", scan, 0)
        elif archive_type(dump) is not None:
            dest = self.workdir / "extracted" / "dump"
            remove_tree(dest)
            rep = safe_extract(dump, dest, budget=self.budget)
            self.report_archive(shown(dump.name), rep, scan)
            self.scan(dest, "", scan, 1)
        else:
            self.classify_sized(dump, shown(dump.name), dump.parent.resolve(), scan, 0)

    def read_manifest(self, scan: _Scan, ctx: ReadContext) -> Manifest:
        """Read the dump's manifest first: its zone, services and window apply to every other source."""
        if scan.manifest is None:
            return Manifest()
        mpath, mrel = scan.manifest
        self.total_bytes += mpath.stat().st_size
        manifest = load_manifest(mpath)
        ctx.default_tz = manifest.tz()
        ctx.services = list(manifest.services)
        ctx.window_start, ctx.window_end = manifest.window_start, manifest.window_end
        self.sources.append(self.run(_Job(mpath, mrel, "manifest", mpath.stat().st_size, reader=MANIFEST_READER),
                                     ctx, False))
        return manifest

    def read_all(self, jobs: list[_Job], ctx: ReadContext, manifest: Manifest, workers: int | None,
                 parallel_min_bytes: int) -> None:
        """Read every queued job, dated sources first, in worker processes once the line files are big."""
        dated = [j for j in jobs if not j.needs_year]
        yearless = [j for j in jobs if j.needs_year]
        n_workers = resolve_workers(workers)
        line_bytes = sum(j.size for j in jobs if _splittable(j))
        pool = _Pool(n_workers, self.workdir / "shards") if n_workers > 1 and line_bytes >= parallel_min_bytes else None
        self.workers = n_workers if pool is not None else 1
        try:
            # Yearless formats last: their year comes from what the dated sources said.
            dated_units, yearless_units = self.plan(dated), self.plan(yearless)
            dated_futures = self.submit(dated_units, lambda job: ctx, True, pool)
            ahead = _ReadAhead(self, manifest, ctx, yearless, yearless_units, pool, dated_futures)
            self.sources += self.run_phase(dated_units, lambda job: ctx, True, pool, dated_futures, ahead.start)
            hints = {id(job): self.year_for(manifest, job) for job in yearless}
            anchors = {id(job): self.anchor_for(manifest, job) for job in yearless}
            yearless_futures = ahead.futures(hints, anchors)
            reports = self.run_phase(yearless_units, _with_year(ctx, hints, anchors), False, pool, yearless_futures)
            for job, src in zip(yearless, reports):
                anchor, anchor_why = anchors[id(job)]
                when = f"{anchor:%Y-%m-%d %H:%M} UTC, {anchor_why}" if anchor is not None else anchor_why
                src.note = ((src.note + "; " if src.note else "")
                            + f"no year in the source: each time takes the year that puts it nearest to, and not after, {when}")
                self.sources.append(src)
        finally:
            if pool is not None:
                pool.close()


_Hints = dict[int, tuple[int, str]]
_Anchors = dict[int, tuple[datetime | None, str]]


def _with_year(ctx: ReadContext, hints: _Hints, anchors: _Anchors) -> Callable[[_Job], ReadContext]:
    """The read context of a yearless job: its year hint and anchor, by job identity."""
    return lambda job: dataclasses.replace(ctx, year_hint=hints[id(job)][0], year_anchor=anchors[id(job)][0])


class _ReadAhead:
    """Yearless slices handed to the workers on a guessed year once the dated slices are nearly all
    read, so no core idles between the phases; a guess that proves wrong is thrown away and redone."""

    def __init__(self, ing: _Ingestor, manifest: Manifest, ctx: ReadContext, yearless: list[_Job],
                 units: list[tuple[_Job, tuple[int, int, int] | None]], pool: _Pool | None,
                 dated_futures: dict[int, Future[UnitResult]]) -> None:
        self.ing, self.manifest, self.ctx, self.units, self.pool = ing, manifest, ctx, units, pool
        self.dated_futures = dated_futures  # run_phase pops each one as it merges it
        self.yearless = yearless
        self.has_slices = any(span for _, span in units)
        self.guess: _Hints = {}
        self.guess_anchors: _Anchors = {}
        self.early: dict[int, Future[UnitResult]] = {}

    def start(self) -> None:
        """After each dated unit: submit the yearless slices once the workers run short of work."""
        pool = self.pool
        if self.guess or not self.has_slices or pool is None or pool.broken:
            return
        if sum(not f.done() for f in self.dated_futures.values()) > pool.workers:
            return
        self.guess.update({id(job): self.ing.year_for(self.manifest, job) for job in self.yearless})
        self.guess_anchors.update({id(job): self.ing.anchor_for(self.manifest, job) for job in self.yearless})
        self.early.update(self.ing.submit(self.units, _with_year(self.ctx, self.guess, self.guess_anchors),
                                          False, self.pool))

    def futures(self, hints: _Hints, anchors: _Anchors) -> dict[int, Future[UnitResult]]:
        """The yearless slices' futures under the final hints: those read ahead when the guess
        still holds, else new ones (the early ones are discarded)."""
        early = self.early
        if (early and {k: v[0] for k, v in self.guess.items()} == {k: v[0] for k, v in hints.items()}
                and all(_read_ahead_holds(fut, self.guess_anchors[id(self.units[i][0])][0],
                                          anchors[id(self.units[i][0])][0]) for i, fut in early.items())):
            return early
        if early and self.pool is not None:
            self.pool.discard(early)
        return self.ing.submit(self.units, _with_year(self.ctx, hints, anchors), False, self.pool)


def ingest(
    dump: Path,
    store: StoreWriter,
    *,
    workdir: Path,
    repo: Path | None = None,
    progress: Progress | None = None,
    max_line_bytes: int = 1_000_000,
    max_archive_bytes: int = DEFAULT_MAX_BYTES,
    workers: int | None = None,
    parallel_min_bytes: int = PARALLEL_MIN_BYTES,
) -> Inventory:
    """Read every source in `dump` into `store`, then finalize it and save the Inventory.

    `workers` (default: the CPU count, at most 8; Settings.ingest_workers from the CLI) worker
    processes read slices of line-oriented logs once there are `parallel_min_bytes` of them."""
    dump = Path(dump)
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    ing = _Ingestor(store, workdir, progress, max_line_bytes, max_archive_bytes)
    inv = Inventory(dump=shown(str(dump)))
    scan = _Scan()

    if not dump.exists():
        inv.skipped.append(SourceReport(path=str(dump), kind="dump", note="skipped: the dump path does not exist"))
        return _finish(inv, ing, store, Manifest(), scan)
    ing.scan_dump(dump, scan)

    ctx = ReadContext(root=dump if dump.is_dir() else dump.parent, max_line_bytes=max_line_bytes)
    ing.total_bytes = sum(j.size for j in scan.jobs)
    manifest = ing.read_manifest(scan, ctx)

    if repo is not None:
        if ing.git is None:
            inv.skipped.append(SourceReport(path=str(repo), kind="git", note="skipped: git reader not available"))
        else:
            scan.jobs.insert(0, _Job(Path(repo), f"git:{Path(repo).name}", "git", 0, dir_reader=ing.git))

    ing.read_all(scan.jobs, ctx, manifest, workers, parallel_min_bytes)
    if ing.progress:
        ing.progress(ing.total_bytes, ing.total_bytes, "")
    return _finish(inv, ing, store, manifest, scan)


def ingest_to_path(
    dump: Path, store_path: Path, *, workdir: Path, repo: Path | None = None,
    progress: Progress | None = None, wait_s: float | None = None, workers: int | None = None,
) -> tuple[EvidenceReader, Inventory]:
    """Ingest `dump` into a new store at `store_path` under the folder's lock; (open store, inventory).

    The store is built under a temporary name and renamed into place only once finalized, so a
    crash or kill mid-way leaves the previous complete store (or none), never a half-written one
    a rerun would trust. A second run on the same folder waits `wait_s` (default 10 s), then
    raises WorkdirBusy with what to do. `workers` as for `ingest`."""
    store_path = Path(store_path)
    with WorkdirLock(store_path.parent, wait_s):
        tmp = store_path.with_name(store_path.name + ".partial")
        store = StoreWriter.create(tmp)
        try:
            inv = ingest(dump, store, workdir=workdir, repo=repo, progress=progress, workers=workers)
        except BaseException:
            store.close()
            tmp.unlink(missing_ok=True)
            raise
        store.close()
        os.replace(tmp, store_path)
    return EvidenceReader(store_path), inv


def _read_ahead_holds(fut: Future[UnitResult], guessed: datetime | None, anchor: datetime | None) -> bool:
    """Is a yearless slice read ahead with the `guessed` anchor still right under the final one?

    The anchor only grows while dated sources are read. A time placed under the older anchor
    moves to the next year under the newer one only if one year after it is not after the new
    anchor (plus the roller's grace), and a file's first placement, which fixes the rest, is no
    earlier than its slice's earliest time. So a slice whose earliest time is later than that
    horizon cannot change."""
    if guessed == anchor:
        return True
    if guessed is None or anchor is None or anchor < guessed:
        return False
    horizon = anchor + YEARLESS_GRACE + timedelta(days=1) - timedelta(days=365)
    try:
        first = fut.result().report.first_ts
    except Exception:  # noqa: BLE001 - a failed unit is redone by the normal path
        return False
    return first is None or first > horizon


def _zone_note(manifest: Manifest) -> str:
    """Which zone naive timestamps were read in, and why (the manifest's timezone, else UTC)."""
    if manifest.timezone and parse_zone(manifest.timezone) is not None:
        return f"read as {manifest.timezone} (the manifest's timezone)"
    return "read as UTC (no usable timezone in an incident manifest)"


def _finish(inv: Inventory, ing: _Ingestor, store: StoreWriter, manifest: Manifest, scan: _Scan) -> Inventory:
    finalize = store.finalize()
    loaded = store.reader()
    # How the load went, for benchmarks (kept out of the Inventory, which must not vary by run).
    store.set_meta("ingest_stats", {"workers": ing.workers, "worker_cpu_s": round(ing.worker_cpu_s, 2),
                                    "main_cpu_s": round(time.process_time() - ing.cpu_started, 2),
                                    "finalize_s": finalize})
    zone_note = _zone_note(manifest)
    for src in ing.sources:
        door = scan.notes.get(src.path)
        if door:
            src.note = door + ("; " + src.note if src.note else "")
        if src.assumed_ts and "no year in the source" not in src.note:
            # Say which zone naive times were read in, so a reader of the inventory can check it.
            src.note = (src.note + "; " if src.note else "") + f"{src.assumed_ts} times gave no zone: {zone_note}"
    inv.sources = ing.sources
    inv.skipped.extend(scan.skipped)
    inv.total_records = loaded.count()
    inv.total_malformed = sum(s.malformed for s in inv.sources)
    inv.first_ts, inv.last_ts = loaded.time_span()
    # Times no incident can have (year 1, year 9999) stay evidence but are marked, so the window
    # and time series leave them out (tools/plausible.py); the inventory's span is the plausible one.
    plausible = plausible_span(loaded)
    store.set_meta("plausible_span", plausible.as_meta())
    if plausible.outside and plausible.lo is not None and plausible.hi is not None:
        inv.first_ts, inv.last_ts = loaded.time_span(plausible.lo, plausible.hi)
    inv.kinds = {k.value: n for k in EvidenceKind if (n := loaded.count(kinds=[k]))}
    flt = ing.filter
    redact_samples(iter_sources(inv), flt.redactor)  # quoted lines reach stdout and checkpoints
    inv.redactions = dict(flt.redactor.counts)
    inv.redacted_at = {k: list(v) for k, v in flt.redacted_at.items()}
    inv.untrusted = list(flt.untrusted)
    inv.data_gaps = data_gaps(inv.kinds)
    coverage_totals(inv)
    gap = coverage_gap(inv)
    if gap:
        inv.data_gaps.insert(0, gap)
    implausible = gap_note(plausible)
    if implausible:
        inv.data_gaps.append(implausible)
    if flt.untrusted_total > len(flt.untrusted):
        inv.data_gaps.append(
            f"{flt.untrusted_total} records were flagged as instruction-like; only the first {len(flt.untrusted)} ids are listed."
        )
    if manifest.raw or manifest.problems:
        inv.manifest = manifest.model_dump(mode="json")
    store.save_inventory(inv)
    return inv


def data_gaps(kinds: dict[str, int]) -> list[str]:
    """Which kinds of evidence the dump lacks, as plain sentences."""
    has = lambda *ks: any(kinds.get(k.value) for k in ks)
    gaps: list[str] = []
    if not has(EvidenceKind.METRIC):
        gaps.append(GAP_TEXT["metrics"])
    if not has(EvidenceKind.COMMIT):
        gaps.append(GAP_TEXT["commits"])
    if not has(EvidenceKind.CHAT):
        gaps.append(GAP_TEXT["chat"])
    if not has(EvidenceKind.PAGE, EvidenceKind.ALERT):
        gaps.append(GAP_TEXT["paging"])
    if not has(EvidenceKind.LOG, EvidenceKind.K8S_EVENT):
        gaps.append(GAP_TEXT["logs"])
    if not has(EvidenceKind.TRACE):
        gaps.append(GAP_TEXT["traces"])
    return gaps


def coverage_totals(inv: Inventory) -> None:
    """Sum the per-source coverage into the inventory. Text bytes are those of every source read
    plus every skipped text file (evidence lost at the door); binary files are left out."""
    inv.total_lines = sum(s.lines for s in inv.sources)
    inv.total_continuation_lines = sum(s.continuation_lines for s in inv.sources)
    inv.total_undated_lines = sum(s.undated_lines for s in inv.sources)
    inv.text_bytes = sum(s.bytes for s in iter_sources(inv) if not s.binary)
    inv.covered_bytes = sum(s.bytes_covered for s in inv.sources)
    inv.coverage = round(inv.covered_bytes / inv.text_bytes, 4) if inv.text_bytes else None


def coverage_gap(inv: Inventory) -> str | None:
    """A data gap when less than COVERAGE_FLOOR of the dump's text became evidence: how much,
    and the files that lost the most."""
    if inv.coverage is None or inv.coverage >= COVERAGE_FLOOR:
        return None
    losses = [(s.bytes - s.bytes_covered, s) for s in iter_sources(inv) if not s.binary and s.bytes > s.bytes_covered]
    losses.sort(key=lambda x: (-x[0], x[1].path))
    named = [f"{s.path} ({human_bytes(n)} unread{', ' + s.note if s.note and not s.bytes_covered else ''})"
             for n, s in losses[:MAX_GAP_FILES]]
    more = f", and {len(losses) - MAX_GAP_FILES} more files" if len(losses) > MAX_GAP_FILES else ""
    pct = int(inv.coverage * 100)  # floored: 89.6% must not read as "90%"
    return (f"Only {pct}% of the dump's text became evidence ({human_bytes(inv.covered_bytes)} of "
            f"{human_bytes(inv.text_bytes)}); unread: {'; '.join(named)}{more}. Conclusions that rest on "
            "what is missing are provisional.")


def human_bytes(n: int) -> str:
    """Bytes as people read them (1.5 MB); exact below a kilobyte."""
    size = float(n)
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{n} bytes" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} bytes"  # pragma: no cover - the loop always returns


def iter_sources(inv: Inventory) -> Iterable[SourceReport]:
    """Read and skipped sources together, in the order they were met."""
    yield from inv.sources
    yield from inv.skipped

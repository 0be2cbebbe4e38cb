"""Ingest an incident dump (directory, single file or archive) into an EvidenceStore.

Order matters: the manifest first (its timezone applies to naive timestamps), then every dated
source, then the yearless formats (klog, RFC 3164 syslog), whose year is inferred from what was
read before. Every record is redacted and checked for instruction-like text before it is stored.
Everything streams: readers are generators feeding `store.add_many`, so memory stays flat.
"""

from __future__ import annotations

import dataclasses
import gc
import multiprocessing
import os
import secrets
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tools.archive import DEFAULT_MAX_BYTES, archive_type, remove_tree, safe_extract
from tools.models import Evidence, EvidenceKind, Inventory, Malformed, SourceReport
from tools.readers.base import HEAD_BYTES, FileReader, ReadContext
from tools.readers.common import id_part
from tools.readers.manifest import MANIFEST_NAMES, Manifest, load_manifest
from tools.readers.manifest import READER as MANIFEST_READER
from tools.readers.registry import pick_dir_reader, pick_reader
from tools.readers.slack import READER as SLACK_READER
from tools.readers.slack import WORKSPACE_FILES as SLACK_LISTS
from tools.readers.slack import day_dirs as slack_day_dirs
from tools.ingest_units import MAX_UNTRUSTED_IDS, RecordFilter, Stats, UnitResult, UnitTask, run_unit
from tools.readers.common import line_spans
from tools.redact import Redactor, retag
from tools.store import EvidenceStore, ShardWriter

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
WORKERS_ENV = "POSTMORTEM_INGEST_WORKERS"

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


def _head(path: Path) -> bytes:
    with open(path, "rb") as f:
        return f.read(HEAD_BYTES)


def _inside(path: Path, root: Path) -> bool:
    try:
        return path.resolve().is_relative_to(root)
    except (OSError, RuntimeError):
        return False


def _is_bare_repo(path: Path) -> bool:
    return (path / "HEAD").is_file() and (path / "objects").is_dir() and (path / "refs").is_dir()


class IngestError(RuntimeError):
    """Ingestion could not finish; the message says what to do."""


def resolve_workers(workers: int | None) -> int:
    if workers is None:
        env = os.environ.get(WORKERS_ENV, "").strip()
        if env:
            try:
                workers = int(env)
            except ValueError:
                raise IngestError(f"{WORKERS_ENV} must be a whole number, got {env!r}") from None
        else:
            workers = min(os.cpu_count() or 1, 8)
    return max(1, workers)


def _splittable(job: _Job) -> bool:
    return job.reader is not None and getattr(job.reader, "splittable", False)


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
        # gc.freeze: the imported modules' objects leave the collector's view, so the full
        # collections that millions of short-lived records trigger stay cheap.
        self._ex = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                                       initializer=gc.freeze)
        self._next = 0
        self.workers = workers
        self.broken = False  # a worker died (killed, out of memory, unguarded __main__): read inline

    def shard_path(self, index: int) -> Path:
        return self.dir / f"{index:06d}.sqlite"

    def submit(self, job: _Job, span: tuple[int, int, int], ctx: ReadContext, collect_years: bool) -> Future[UnitResult]:
        index, self._next = self._next, self._next + 1
        assert job.reader is not None
        task = UnitTask(index=index, reader=job.reader.name, path=str(job.path), rel=job.rel,
                        ctx=dataclasses.replace(ctx, span=span, on_bytes=None), shard=str(self.shard_path(index)),
                        tag=self.tag, collect_years=collect_years)
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
        self, store: EvidenceStore, workdir: Path, progress: Progress | None,
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

    # ---- scanning --------------------------------------------------------------------------
    def scan(self, root: Path, prefix: str, scan: _Scan, depth: int) -> None:
        """Classify every file under root (a directory) into jobs and skips."""
        root_res = root.resolve()
        work_res = self.workdir.resolve()
        root_in_work = root_res.is_relative_to(work_res)  # an archive extracted into the workdir
        if self.git is not None and (root / ".git").exists() and not prefix:
            scan.jobs.append(_Job(root, ".git", "git", 0, dir_reader=self.git))
        for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
            here = Path(dirpath)
            rel_dir = here.relative_to(root).as_posix()
            rel_dir = "" if rel_dir == "." else rel_dir
            if not rel_dir and pick_dir_reader(here) is SLACK_READER:
                # The root itself is a Slack export: it claims its channel folders and workspace
                # lists; anything else beside them (logs/, notes) is still read as usual.
                channel_dirs = {d.name for d in slack_day_dirs(here)}
                size = sum(f.stat().st_size for d in channel_dirs for f in (here / d).glob("*.json") if f.is_file())
                scan.jobs.append(_Job(here, prefix.rstrip("/"), SLACK_READER.name, size, dir_reader=SLACK_READER))
                dirnames[:] = [d for d in dirnames if d not in channel_dirs]
                filenames = [f for f in filenames if f not in SLACK_LISTS]
            keep: list[str] = []
            for d in sorted(dirnames):
                p = here / d
                rel = prefix + (f"{rel_dir}/{d}" if rel_dir else d)
                if p.is_symlink():
                    note = ("skipped: symlink pointing outside the dump" if not _inside(p, root_res)
                            else "skipped: symlink to a directory inside the dump (read directly)")
                    scan.skipped.append(SourceReport(path=rel, kind="symlink", note=note))
                    continue
                if not root_in_work and p.resolve().is_relative_to(work_res):
                    continue  # our own working directory inside the dump
                if d == ".git":
                    continue  # the root's repository is queued above; others are claimed whole
                if self.git is not None and ((p / ".git").exists() or _is_bare_repo(p)):
                    scan.jobs.append(_Job(p, rel, "git", 0, dir_reader=self.git))
                    continue
                dr = pick_dir_reader(p)
                if dr is not None:
                    size = sum(f.stat().st_size for f in p.rglob("*.json") if f.is_file() and not f.is_symlink())
                    scan.jobs.append(_Job(p, rel, dr.name, size, dir_reader=dr))
                    continue
                keep.append(d)
            dirnames[:] = keep
            for name in sorted(filenames):
                p = here / name
                rel = prefix + (f"{rel_dir}/{name}" if rel_dir else name)
                self.classify(p, rel, root_res, scan, depth)

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
        if head.startswith((b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00")):
            skip("skipped: compressed file that is not a tar archive (decompress it to include it)")
            return
        if b"\x00" in head:
            skip("skipped: binary file")
            return
        text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
        if p.name.lower() in MANIFEST_NAMES and scan.manifest is None:
            scan.manifest = (p, rel)
            return
        reader = pick_reader(p, text)
        if reader is None:
            skip("skipped: unrecognised format")
            return
        if reader is MANIFEST_READER:
            if scan.manifest is None:
                scan.manifest = (p, rel)
            else:
                skip("skipped: a second incident manifest (the first one found is used)")
            return
        scan.jobs.append(_Job(p, rel, reader.name, st.st_size, reader=reader, needs_year=reader.needs_year))

    def nested_archive(self, p: Path, rel: str, scan: _Scan, depth: int) -> None:
        if depth >= MAX_ARCHIVE_DEPTH:
            scan.skipped.append(SourceReport(path=rel, kind="archive", note="skipped: archive nested too deeply"))
            return
        dest = self.workdir / "extracted" / id_part(rel).replace("/", "__")
        remove_tree(dest)
        rep = safe_extract(p, dest, max_bytes=self.max_archive_bytes)
        self.report_archive(rel, rep, scan)
        self.scan(dest, f"{rel}/", scan, depth + 1)

    @staticmethod
    def report_archive(rel: str, rep: Any, scan: _Scan) -> None:
        for r in rep.rejected[:MAX_LISTED_REJECTIONS]:
            scan.skipped.append(SourceReport(path=f"{rel}/{r.member}", kind="archive", note=f"rejected: {r.reason}"))
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
        stats = Stats(job.rel or ".", job.kind)
        self._inline(job, ctx, collect_years, stats, job.size)
        return stats.done()

    def _inline(self, job: _Job, ctx: ReadContext, collect_years: bool, stats: Stats, size: int) -> None:
        if self.progress:
            progress, base, total = self.progress, self.done_bytes, self.total_bytes
            self.progress(base, total, job.rel)
            ctx = dataclasses.replace(ctx, on_bytes=lambda n: progress(base + min(n, size), total, job.rel))
        items = self._items(job, ctx)
        before = self.store.last_rowid()
        stats.report.records += self.store.add_many(self.filter.stream(items, stats, job.rel))
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
            st = stats.setdefault(id(job), Stats(job.rel or ".", job.kind))
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
        self.worker_cpu_s += res.cpu_s
        self.done_bytes += span[1] - span[0]
        if self.progress:
            self.progress(self.done_bytes, self.total_bytes, job.rel)

    def year_for(self, manifest: Manifest, job: _Job) -> tuple[int, str]:
        if manifest.window_start is not None:
            return manifest.window_start.year, "manifest window"
        if self.filter.years:
            year, _ = max(self.filter.years.items(), key=lambda kv: (kv[1], kv[0]))
            return year, "most common year of the dated evidence"
        mtime = datetime.fromtimestamp(job.path.stat().st_mtime, tz=timezone.utc)
        return mtime.year, "file modification time"


def ingest(
    dump: Path,
    store: EvidenceStore,
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

    `workers` (default: $POSTMORTEM_INGEST_WORKERS, else the CPU count, at most 8) worker
    processes read slices of line-oriented logs once there are `parallel_min_bytes` of them."""
    dump = Path(dump)
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    ing = _Ingestor(store, workdir, progress, max_line_bytes, max_archive_bytes)
    inv = Inventory(dump=str(dump))
    scan = _Scan()

    if not dump.exists():
        inv.skipped.append(SourceReport(path=str(dump), kind="dump", note="skipped: the dump path does not exist"))
        return _finish(inv, ing, store, Manifest(), scan)
    if dump.is_dir():
        ing.scan(dump, "", scan, 0)
    elif archive_type(dump) is not None:
        dest = workdir / "extracted" / "dump"
        remove_tree(dest)
        rep = safe_extract(dump, dest, max_bytes=max_archive_bytes)
        ing.report_archive(dump.name, rep, scan)
        ing.scan(dest, "", scan, 1)
    else:
        ing.classify(dump, dump.name, dump.parent.resolve(), scan, 0)

    manifest = Manifest()
    ctx = ReadContext(root=dump if dump.is_dir() else dump.parent, max_line_bytes=max_line_bytes)
    ing.total_bytes = sum(j.size for j in scan.jobs)
    if scan.manifest is not None:
        mpath, mrel = scan.manifest
        ing.total_bytes += mpath.stat().st_size
        manifest = load_manifest(mpath)
        ctx.default_tz = manifest.tz()
        ctx.services = list(manifest.services)
        ctx.window_start, ctx.window_end = manifest.window_start, manifest.window_end
        ing.sources.append(ing.run(_Job(mpath, mrel, "manifest", mpath.stat().st_size, reader=MANIFEST_READER), ctx, False))

    if repo is not None:
        if ing.git is None:
            inv.skipped.append(SourceReport(path=str(repo), kind="git", note="skipped: git reader not available"))
        else:
            scan.jobs.insert(0, _Job(Path(repo), f"git:{Path(repo).name}", "git", 0, dir_reader=ing.git))

    dated = [j for j in scan.jobs if not j.needs_year]
    yearless = [j for j in scan.jobs if j.needs_year]
    n_workers = resolve_workers(workers)
    line_bytes = sum(j.size for j in scan.jobs if _splittable(j))
    pool = _Pool(n_workers, workdir / "shards") if n_workers > 1 and line_bytes >= parallel_min_bytes else None
    ing.workers = n_workers if pool is not None else 1
    try:
        # Yearless formats last: their year comes from what the dated sources said. Their slices
        # are handed to the workers on a guess once the dated slices are nearly all read, so no
        # core idles between the phases; a guess that proves wrong is thrown away and redone.
        dated_units, yearless_units = ing.plan(dated), ing.plan(yearless)
        dated_futures = ing.submit(dated_units, lambda job: ctx, True, pool)
        has_slices = any(span for _, span in yearless_units)
        guess: dict[int, tuple[int, str]] = {}
        early: dict[int, Future[UnitResult]] = {}

        def with_year(hints: dict[int, tuple[int, str]]) -> Callable[[_Job], ReadContext]:
            return lambda job: dataclasses.replace(ctx, year_hint=hints[id(job)][0])

        def read_ahead() -> None:
            if guess or not has_slices or pool is None or pool.broken:
                return
            if sum(not f.done() for f in dated_futures.values()) > pool.workers:
                return
            guess.update({id(job): ing.year_for(manifest, job) for job in yearless})
            early.update(ing.submit(yearless_units, with_year(guess), False, pool))

        ing.sources += ing.run_phase(dated_units, lambda job: ctx, True, pool, dated_futures, read_ahead)
        hints = {id(job): ing.year_for(manifest, job) for job in yearless}
        if early and {k: v[0] for k, v in guess.items()} == {k: v[0] for k, v in hints.items()}:
            yearless_futures = early
        else:
            if early and pool is not None:
                pool.discard(early)
            yearless_futures = ing.submit(yearless_units, with_year(hints), False, pool)
        reports = ing.run_phase(yearless_units, with_year(hints), False, pool, yearless_futures)
        for job, src in zip(yearless, reports):
            year, why = hints[id(job)]
            src.note = (src.note + "; " if src.note else "") + f"no year in the source: {year} assumed from the {why}"
            ing.sources.append(src)
    finally:
        if pool is not None:
            pool.close()
    if ing.progress:
        ing.progress(ing.total_bytes, ing.total_bytes, "")
    return _finish(inv, ing, store, manifest, scan)


def _finish(inv: Inventory, ing: _Ingestor, store: EvidenceStore, manifest: Manifest, scan: _Scan) -> Inventory:
    finalize = store.finalize()
    # How the load went, for benchmarks (kept out of the Inventory, which must not vary by run).
    store.set_meta("ingest_stats", {"workers": ing.workers, "worker_cpu_s": round(ing.worker_cpu_s, 2),
                                    "main_cpu_s": round(time.process_time() - ing.cpu_started, 2),
                                    "finalize_s": finalize})
    inv.sources = ing.sources
    inv.skipped.extend(scan.skipped)
    inv.total_records = store.count()
    inv.total_malformed = sum(s.malformed for s in inv.sources)
    inv.first_ts, inv.last_ts = store.time_span()
    inv.kinds = {k.value: n for k in EvidenceKind if (n := store.count(kinds=[k]))}
    flt = ing.filter
    inv.redactions = dict(flt.redactor.counts)
    inv.untrusted = list(flt.untrusted)
    inv.data_gaps = data_gaps(inv.kinds)
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


def iter_sources(inv: Inventory) -> Iterable[SourceReport]:
    """Read and skipped sources together, in the order they were met."""
    yield from inv.sources
    yield from inv.skipped

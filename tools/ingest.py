"""Ingest an incident dump (directory, single file or archive) into an EvidenceStore.

Order matters: the manifest first (its timezone applies to naive timestamps), then every dated
source, then the yearless formats (klog, RFC 3164 syslog), whose year is inferred from what was
read before. Every record is redacted and checked for instruction-like text before it is stored.
Everything streams: readers are generators feeding `store.add_many`, so memory stays flat.
"""

from __future__ import annotations

import dataclasses
import os
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
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
from tools.redact import Redactor
from tools.store import EvidenceStore
from tools.untrusted import instruction_flags

try:  # written in parallel by another engineer; ingestion must still work without it
    from tools.readers.git import GitReader
except ImportError:  # pragma: no cover - only while tools/readers/git.py is absent
    GitReader = None  # type: ignore[assignment,misc]

Progress = Callable[[int, int, str], None]

MAX_MALFORMED_EXAMPLES = 3
MAX_UNTRUSTED_IDS = 5000
MAX_ARCHIVE_DEPTH = 2
MAX_LISTED_REJECTIONS = 50
_ARCHIVE_MAGIC = (b"PK\x03\x04", b"PK\x05\x06", b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00")
_BUNDLE_MAGIC = (b"# v2 git bundle", b"# v3 git bundle")
# Read failures a reader can hit on hostile input; reported on the source, never re-raised.
_READ_ERRORS = (OSError, ValueError, TypeError, KeyError, AttributeError, IndexError, RecursionError)

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


class _Stats:
    """Per-source counters filled while records stream past."""

    def __init__(self, rel: str, kind: str) -> None:
        self.report = SourceReport(path=rel, kind=kind)
        self.first: datetime | None = None
        self.last: datetime | None = None

    def malformed(self, m: Malformed) -> None:
        self.report.malformed += 1
        if len(self.report.malformed_examples) < MAX_MALFORMED_EXAMPLES:
            self.report.malformed_examples.append(m)

    def seen(self, ev: Evidence) -> None:
        ts = ev.ts
        if ts is not None:
            if self.first is None or ts < self.first:
                self.first = ts
            if self.last is None or ts > self.last:
                self.last = ts
            if ev.ts_assumed:
                self.report.assumed_ts += 1

    def done(self) -> SourceReport:
        self.report.first_ts, self.report.last_ts = self.first, self.last
        return self.report


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
        self.redactor = Redactor()
        self.untrusted: list[str] = []
        self.untrusted_total = 0
        self.years: Counter[int] = Counter()
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
        stats = _Stats(job.rel or ".", job.kind)
        if self.progress:
            progress, base, total = self.progress, self.done_bytes, self.total_bytes
            self.progress(base, total, job.rel)
            cap = job.size
            ctx = dataclasses.replace(ctx, on_bytes=lambda n: progress(base + min(n, cap), total, job.rel))
        added = self.store.add_many(self._pipeline(self._items(job, ctx), stats, collect_years, job.rel))
        stats.report.records = added
        self.done_bytes += job.size
        return stats.done()

    def _pipeline(
        self, items: Iterator[Evidence | Malformed], stats: _Stats, collect_years: bool, rel: str
    ) -> Iterator[Evidence]:
        redact_text = self.redactor.redact_text
        redact_obj = self.redactor.redact_obj
        years = self.years
        try:
            for item in items:
                if isinstance(item, Malformed):
                    stats.malformed(item)
                    continue
                ev = item
                # Write through __dict__: pydantic's __setattr__ costs more than the work here.
                d = ev.__dict__
                text = d["text"] = redact_text(d["text"])
                if d["attrs"]:
                    d["attrs"] = redact_obj(d["attrs"])
                flags = instruction_flags(text)
                if flags:
                    d["flags"] = list(flags)
                    self.untrusted_total += 1
                    if len(self.untrusted) < MAX_UNTRUSTED_IDS:
                        self.untrusted.append(ev.id)
                stats.seen(ev)
                if collect_years and ev.ts is not None and not ev.ts_assumed:
                    years[ev.ts.year] += 1
                yield ev
        except _READ_ERRORS as exc:
            # A reader hit something it did not expect: keep what it read, report where it stopped.
            stats.malformed(Malformed(source=rel, reason=f"reading stopped: {exc.__class__.__name__}: {exc}"[:300]))
            stats.report.note = "reading stopped early (see malformed examples)"

    def year_for(self, manifest: Manifest, job: _Job) -> tuple[int, str]:
        if manifest.window_start is not None:
            return manifest.window_start.year, "manifest window"
        if self.years:
            year, _ = max(self.years.items(), key=lambda kv: (kv[1], kv[0]))
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
) -> Inventory:
    """Read every source in `dump` into `store`, then finalize it and save the Inventory."""
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
    for job in dated:
        ing.sources.append(ing.run(job, ctx, True))
    for job in yearless:
        year, why = ing.year_for(manifest, job)
        src = ing.run(job, dataclasses.replace(ctx, year_hint=year), False)
        src.note = (src.note + "; " if src.note else "") + f"no year in the source: {year} assumed from the {why}"
        ing.sources.append(src)
    if ing.progress:
        ing.progress(ing.total_bytes, ing.total_bytes, "")
    return _finish(inv, ing, store, manifest, scan)


def _finish(inv: Inventory, ing: _Ingestor, store: EvidenceStore, manifest: Manifest, scan: _Scan) -> Inventory:
    store.finalize()
    inv.sources = ing.sources
    inv.skipped.extend(scan.skipped)
    inv.total_records = store.count()
    inv.total_malformed = sum(s.malformed for s in inv.sources)
    inv.first_ts, inv.last_ts = store.time_span()
    inv.kinds = {k.value: n for k in EvidenceKind if (n := store.count(kinds=[k]))}
    inv.redactions = dict(ing.redactor.counts)
    inv.untrusted = list(ing.untrusted)
    inv.data_gaps = data_gaps(inv.kinds)
    if ing.untrusted_total > len(ing.untrusted):
        inv.data_gaps.append(
            f"{ing.untrusted_total} records were flagged as instruction-like; only the first {len(ing.untrusted)} ids are listed."
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

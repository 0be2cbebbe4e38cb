"""Ingestion, search and whole-draft benchmark on a generated dump of mixed logs.

    python -m benchmarks.ingest --size-mb 30      # quick check
    python -m benchmarks.ingest                   # 300 MB, the target size
    python -m benchmarks.ingest --draft           # also the offline draft, stage by stage

Reports ingest time, MB/s, CPU time of the worker processes and of the main one, the finalize
steps, peak RSS, search_logs latency p50/p95 over ~20 queries, and `grep -c` over the same files
for scale. With --draft, the offline draft of the same dump from scratch (its own ingest
included), with each stage's time. Targets: ingest of 300 MB in <= 30 s, offline draft of 300 MB
in <= 60 s, peak RSS < 1 GB, search p50 < 200 ms. The generator is seeded, so runs are
comparable; `--workers N` sets the ingest worker processes (default: one per core).
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

from tools.query import SearchLogsInput, search_logs
from tools.store.writer import StoreWriter

SERVICES = ["api", "worker", "gateway", "vllm", "retriever"]
WORDS = ["request served", "cache miss", "upstream timeout", "retrying", "batch processed",
         "CUDA out of memory", "connection reset", "health check ok", "token limit exceeded",
         "rate limited", "model loaded", "queue depth high"]
T0 = datetime(2024, 10, 8, 12, 0, tzinfo=timezone.utc)


def _jsonl(rng: random.Random, i: int, ts: datetime) -> str:
    return json.dumps({"ts": ts.isoformat().replace("+00:00", "Z"), "level": rng.choice(["info", "info", "warning", "error"]),
                       "service": rng.choice(SERVICES), "msg": rng.choice(WORDS), "request_id": f"req-{i:08x}",
                       "latency_ms": round(rng.uniform(2, 900), 1), "status": rng.choice([200, 200, 200, 503])})


def _iso(rng: random.Random, i: int, ts: datetime) -> str:
    return (f"{ts.strftime('%Y-%m-%d %H:%M:%S,%f')[:-3]} {rng.choice(['INFO', 'WARNING', 'ERROR'])} "
            f"{rng.choice(SERVICES)}.py:{rng.randint(10, 400)} {rng.choice(WORDS)} batch={i} took {rng.randint(1, 5000)} ms")


def _klog(rng: random.Random, i: int, ts: datetime) -> str:
    return (f"{rng.choice('IWE')}{ts.strftime('%m%d %H:%M:%S.%f')}       1 server.go:{rng.randint(10, 900)}] "
            f"{rng.choice(WORDS)} pod=vllm-{rng.randint(0, 7)} step={i}")


def _access(rng: random.Random, i: int, ts: datetime) -> str:
    return (f'10.2.{rng.randint(0, 255)}.{rng.randint(1, 254)} - - [{ts.strftime("%d/%b/%Y:%H:%M:%S +0000")}] '
            f'"{rng.choice(["GET", "POST"])} /v1/chat/completions?i={i} HTTP/1.1" {rng.choice([200, 200, 429, 503])} '
            f'{rng.randint(100, 90000)} "-" "python-httpx/0.27"')


FORMATS: dict[str, tuple[str, Callable[[random.Random, int, datetime], str]]] = {
    "jsonl": ("logs/api.jsonl", _jsonl),
    "iso": ("logs/worker.log", _iso),
    "klog": ("logs/vllm.klog.log", _klog),
    "access": ("logs/access.log", _access),
}


def generate(root: Path, size_mb: float, seed: int = 7) -> int:
    """Write about `size_mb` MB of mixed logs (four formats, equal shares). Returns lines written."""
    rng = random.Random(seed)
    per_file = int(size_mb * 1024 * 1024 / len(FORMATS))
    lines = 0
    for name, (rel, make) in FORMATS.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        written, i = 0, 0
        with open(path, "w", encoding="utf-8") as f:
            buf: list[str] = []
            while written < per_file:
                line = make(rng, i, T0 + timedelta(milliseconds=37 * i)) + "\n"
                buf.append(line)
                written += len(line)
                i += 1
                if len(buf) >= 10000:
                    f.write("".join(buf))
                    buf.clear()
            f.write("".join(buf))
        lines += i
    (root / "incident.yaml").write_text("title: benchmark\ntimezone: UTC\n", encoding="utf-8")
    return lines


QUERIES = ["upstream timeout", "CUDA out of memory", "connection reset", "rate limited", "token limit exceeded",
           "queue depth", "cache miss", "model loaded", "health check", "retrying", "503", "req-0000abcd",
           "vllm", "batch processed", "server.go", "completions", "python-httpx", "error", "warning", "nothing-matches-this"]


def _peak_rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    # ru_maxrss is KiB on Linux (bytes on macOS); for RUSAGE_CHILDREN it is the largest child.
    rss = resource.getrusage(who).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size-mb", type=float, default=300.0)
    ap.add_argument("--keep", action="store_true", help="keep the generated dump and store")
    ap.add_argument("--draft", action="store_true", help="also time the offline draft of the dump")
    ap.add_argument("--workers", type=int, default=None, help="ingest worker processes")
    args = ap.parse_args(argv)

    try:
        from tools.ingest import ingest
    except ImportError:
        print("tools.ingest is not available yet: only the generator can run.", file=sys.stderr)
        return 2

    tmp = Path(tempfile.mkdtemp(prefix="pm-bench-"))
    dump = tmp / "dump"
    try:
        t = time.perf_counter()
        n_lines = generate(dump, args.size_mb)
        gen_s = time.perf_counter() - t
        size_mb = sum(p.stat().st_size for p in dump.rglob("*") if p.is_file()) / 1e6
        rss_before = _peak_rss_mb()

        writer = StoreWriter.create(tmp / "evidence.sqlite")
        t = time.perf_counter()
        inv = ingest(dump, writer, workdir=tmp / "work", workers=args.workers)
        ingest_s = time.perf_counter() - t
        store = writer.reader()
        rss_after = max(_peak_rss_mb(), _peak_rss_mb(resource.RUSAGE_CHILDREN))
        stats = store.get_meta("ingest_stats", {})

        lat = []
        for qtext in QUERIES:
            t = time.perf_counter()
            search_logs(store, SearchLogsInput(query=qtext, limit=100))
            lat.append((time.perf_counter() - t) * 1000)
        lat.sort()
        p50 = statistics.median(lat)
        p95 = lat[min(len(lat) - 1, round(0.95 * (len(lat) - 1)))]

        files = [str(p) for p in dump.rglob("*.log")] + [str(p) for p in dump.rglob("*.jsonl")]
        t = time.perf_counter()
        for qtext in QUERIES:
            subprocess.run(["grep", "-c", "-F", "-i", qtext, *files], capture_output=True, check=False)
        grep_ms = (time.perf_counter() - t) * 1000 / len(QUERIES)
        store.close()

        rows = [
            ("dump size", f"{size_mb:,.1f} MB, {n_lines:,} lines (generated in {gen_s:.1f} s)"),
            ("records stored", f"{inv.total_records:,} ({inv.total_malformed:,} malformed)"),
            ("ingest time", f"{ingest_s:.1f} s" + _verdict(ingest_s <= 30 * args.size_mb / 300, "<= 30 s per 300 MB")),
            ("throughput", f"{size_mb / ingest_s:,.1f} MB/s, {n_lines / ingest_s:,.0f} lines/s"),
            ("ingest CPU", f"{stats.get('workers', 1)} worker process(es) {stats.get('worker_cpu_s', 0):.1f} s, "
                           f"main process {stats.get('main_cpu_s', 0):.1f} s"),
            ("finalize", ", ".join(f"{k} {v:.1f} s" for k, v in (stats.get("finalize_s") or {}).items())),
            ("peak RSS", f"{rss_after:,.0f} MB, largest process (before ingest {rss_before:,.0f} MB)"
                         + _verdict(rss_after < 1024, "< 1 GB")),
            ("search_logs p50", f"{p50:.1f} ms" + _verdict(p50 < 200, "< 200 ms")),
            ("search_logs p95", f"{p95:.1f} ms"),
            ("grep -c per query", f"{grep_ms:.1f} ms (all files, for scale)"),
        ]
        if args.draft:
            rows += _draft_rows(dump, tmp / "draft", args.size_mb)
        width = max(len(k) for k, _ in rows)
        for k, v in rows:
            print(f"{k:<{width}}  {v}")
        if args.keep:
            print(f"kept in {tmp}")
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


def _draft_rows(dump: Path, workdir: Path, size_mb: float) -> list[tuple[str, str]]:
    """The offline draft from scratch (ingest included), timed stage by stage."""
    from datetime import date

    from agent.runner import run_draft

    stages: list[tuple[str, float]] = []
    started: dict[str, float] = {}

    def on_stage(stage: str, phase: str) -> None:
        if phase == "start":
            started[stage] = time.perf_counter()
        else:
            stages.append((stage, time.perf_counter() - started.pop(stage)))

    t = time.perf_counter()
    result = run_draft(dump, base=workdir, today=date(2026, 1, 1), on_stage=on_stage)
    total = time.perf_counter() - t
    rss = max(_peak_rss_mb(), _peak_rss_mb(resource.RUSAGE_CHILDREN))
    v = result.report.validation
    return [
        ("offline draft", f"{total:.1f} s" + _verdict(total <= 60 * size_mb / 300, "<= 60 s per 300 MB")),
        ("draft stages", ", ".join(f"{name.replace('_', ' ')} {s:.1f} s" for name, s in stages)),
        ("draft result", f"{result.report.severity}, {result.report.review_type} review, "
                         f"{len(result.report.timeline)} timeline rows, {len(v.findings)} validator finding(s)"),
        ("draft peak RSS", f"{rss:,.0f} MB, largest process" + _verdict(rss < 1024, "< 1 GB")),
    ]


def _verdict(ok: bool, target: str) -> str:
    return f"  [{'ok' if ok else 'MISSED'}: target {target}]"


if __name__ == "__main__":
    raise SystemExit(main())

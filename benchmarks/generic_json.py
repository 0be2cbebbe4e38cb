"""Throughput and peak memory of the generic JSON reader on one big generated JSON array.

    python -m benchmarks.generic_json                 # 250 MB array wrapped as {"hits": [...]}
    python -m benchmarks.generic_json --size-mb 30    # quick check
    python -m benchmarks.generic_json --ingest        # also a full ingest of the same file

Prints the file size, the path taken (streamed above SMALL_DOC_BYTES), records, seconds, MB/s,
records/s and peak RSS of this process (before and after reading). The reader alone is timed: it
yields Evidence; redaction and the store are what `--ingest` adds. The generator is seeded.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import tempfile
import time
from pathlib import Path

from tools.models import Evidence
from tools.readers import generic_json as gj
from tools.readers.base import ReadContext

EVENTS = ["point upserted", "segment optimized", "search served", "payload index rebuilt",
          "snapshot created", "collection alias switched", "shard transfer started"]


def generate(path: Path, size_mb: int, seed: int = 7) -> int:
    """A `{"took": .., "hits": [...]}` document of about `size_mb` MB; returns the record count."""
    rng = random.Random(seed)
    target = size_mb * 1024 * 1024
    n = 0
    with open(path, "w", encoding="utf-8") as f:
        f.write('{"took": 12, "timed_out": false, "hits": [\n')
        written = 0
        t0 = 1_714_557_600_000
        while written < target:
            rec = {"@timestamp": t0 + n * 37, "level": rng.choice(("info", "info", "warn", "error")),
                   "message": rng.choice(EVENTS), "collection": f"c{rng.randrange(8)}",
                   "shard": rng.randrange(64), "latency_ms": round(rng.random() * 90, 3),
                   "payload": {"doc_id": f"d-{rng.randrange(10**6)}", "chunk": rng.randrange(20),
                               "tags": [rng.choice(("faq", "kb", "policy")) for _ in range(3)]}}
            line = ("," if n else "") + json.dumps(rec) + "\n"
            f.write(line)
            written += len(line)
            n += 1
        f.write("]}\n")
    return n


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kB


def bench_reader(path: Path) -> None:
    size = path.stat().st_size
    before = peak_rss_mb()
    t = time.perf_counter()
    records = malformed = 0
    for item in gj.DOC_READER.read(path, path.name, ReadContext(root=path.parent)):
        if isinstance(item, Evidence):
            records += 1
        else:
            malformed += 1
    secs = time.perf_counter() - t
    mb = size / 1024 / 1024
    path_taken = "streamed (ijson)" if size > gj.SMALL_DOC_BYTES else "whole (orjson)"
    print(f"file {mb:.1f} MB, {path_taken}: {records} records, {malformed} malformed")
    print(f"reader: {secs:.1f} s, {mb / secs:.1f} MB/s, {records / secs:,.0f} records/s")
    print(f"peak RSS: {before:.0f} MB before reading, {peak_rss_mb():.0f} MB after")


def bench_ingest(path: Path, work: Path) -> None:
    from tools.ingest import ingest
    from tools.store.writer import StoreWriter

    dump = work / "dump"
    dump.mkdir()
    shutil.copy(path, dump / path.name)
    t = time.perf_counter()
    inv = ingest(dump, StoreWriter.create(work / "s.db"), workdir=work / "w")
    secs = time.perf_counter() - t
    mb = path.stat().st_size / 1024 / 1024
    print(f"ingest: {inv.total_records} records in {secs:.1f} s, {mb / secs:.1f} MB/s, "
          f"peak RSS {peak_rss_mb():.0f} MB")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size-mb", type=int, default=250)
    ap.add_argument("--ingest", action="store_true", help="also ingest the file (redaction + store)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-json-") as tmp:
        work = Path(tmp)
        path = work / "hits.json"
        t = time.perf_counter()
        n = generate(path, args.size_mb)
        print(f"generated {n} records in {time.perf_counter() - t:.1f} s")
        bench_reader(path)
        if args.ingest:
            bench_ingest(path, work)


if __name__ == "__main__":
    main()

"""Export benchmark: records per second and memory of `tools.export.write_jsonl` on a big store.

    python -m benchmarks.export                   # 1,000,000 generated JSON log lines
    python -m benchmarks.export --records 200000  # quicker

Generates a seeded JSON Lines log in a temp dir, ingests it (not timed here: see
benchmarks/ingest.py), then exports the store to a file and prints records/s, MB/s written and
the process's peak RSS before and after the export (the export streams, so the second figure
should not grow with the number of records). Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from tools.export import write_jsonl
from tools.ingest import ingest
from tools.store.writer import StoreWriter

T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _generate(path: Path, n: int) -> None:
    rng = random.Random(11)
    with open(path, "w") as f:
        for i in range(n):
            ts = (T0 + timedelta(milliseconds=37 * i)).isoformat().replace("+00:00", "Z")
            rec = {"ts": ts, "level": rng.choice(["info", "info", "warn", "error"]), "service": "api",
                   "msg": rng.choice(["request served", "upstream timeout", "cache miss"]),
                   "status": rng.choice([200, 200, 503]), "latency_ms": round(rng.random() * 900, 1)}
            f.write(json.dumps(rec) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=1_000_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "dump").mkdir()
        _generate(root / "dump" / "api.jsonl", args.records)
        writer = StoreWriter.create(root / "e.db")
        ingest(root / "dump", writer, workdir=root / "w")
        store = writer.reader()
        before = _peak_rss_mb()
        out = root / "out.jsonl"
        started = time.perf_counter()
        with open(out, "wb") as f:
            n = write_jsonl(store, f)
        took = time.perf_counter() - started
        store.close()
        size_mb = out.stat().st_size / 1e6
        print(f"exported {n} records ({size_mb:.1f} MB) in {took:.2f} s: {n / took:,.0f} records/s, "
              f"{size_mb / took:.1f} MB/s")
        print(f"peak RSS before export {before:.0f} MB, after {_peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()

"""Throughput of the generic text reader per layout family (prints figures; asserts nothing).

    python -m benchmarks.generic_reader [--mb 50]

Writes about `--mb` MB of generated log lines (one file per family, a stack trace now and then)
to a temporary directory, reads each file once in this process with tools.readers.generic_text,
and prints MB/s and records/s. Layout discovery is included in the time. Then it times layout
discovery alone on small files (2 kB, 20 kB, 200 kB of each family; mean of 5 runs), the cost that
adds up on dumps of many small files.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

from tools.models import Evidence
from tools.readers.base import ReadContext
from tools.readers.generic_text import GenericTextReader, discover

UTC = timezone.utc
START = datetime(2024, 12, 30, 22, 0, tzinfo=UTC)
LEVELS = ("INFO", "INFO", "INFO", "DEBUG", "WARNING", "ERROR")
WORDS = ("request", "served", "batch", "tokens", "latency", "cache", "miss", "worker", "queue", "model",
         "shard", "retry", "upstream", "timeout", "allocated", "GiB", "step", "loss")


def _msg(rnd: random.Random) -> str:
    return " ".join(rnd.choice(WORDS) for _ in range(rnd.randint(4, 14))) + f" id={rnd.randint(1, 10**6)}"


Line = Callable[[datetime, str, str], str]
FAMILIES: dict[str, Line] = {
    "iso (2024-12-30T22:00:00.123Z)": lambda t, lvl, m: f"{t.isoformat(timespec='milliseconds')[:-6]}Z {lvl} [svc.mod] {m}",
    "iso python (2024-12-30 22:00:00,123 - x - INFO)": lambda t, lvl, m: f"{t:%Y-%m-%d %H:%M:%S},{t.microsecond // 1000:03d} {lvl} worker.pool: {m}",
    "vllm yearless (INFO 12-30 22:00:00)": lambda t, lvl, m: f"{lvl} {t:%m-%d %H:%M:%S} [engine.py:{len(m)}] {m}",
    "syslog yearless (Dec 30 22:00:00)": lambda t, lvl, m: f"{t:%b %d %H:%M:%S} node7 trainer[4242]: {lvl} {m}",
    "airflow ([2024-12-30, 22:00:00 UTC])": lambda t, lvl, m: f"[{t:%Y-%m-%d, %H:%M:%S} UTC] {{task.py:42}} {lvl} - {m}",
    "epoch field (- 1735596000 ...)": lambda t, lvl, m: f"- {int(t.timestamp())} node-12 {lvl} {m}",
    "torchrun [rankN]: iso": lambda t, lvl, m: f"[rank{len(m) % 8}]:{t:%Y-%m-%d %H:%M:%S},{t.microsecond // 1000:03d} - train - {lvl} - {m}",
}


def generate(path: Path, line: Line, target_bytes: int, seed: int) -> int:
    rnd = random.Random(seed)
    t = START
    written = 0
    with open(path, "w", encoding="utf-8") as f:
        while written < target_bytes:
            t += timedelta(microseconds=rnd.randint(1000, 400_000))
            lvl = rnd.choice(LEVELS)
            chunk = line(t, lvl, _msg(rnd)) + "\n"
            if lvl == "ERROR" and rnd.random() < 0.3:
                chunk += "Traceback (most recent call last):\n  File \"x.py\", line 3, in run\nRuntimeError: boom\n"
            f.write(chunk)
            written += len(chunk)
    return written


def measure(path: Path) -> tuple[float, int]:
    ctx = ReadContext(root=path.parent, year_anchor=datetime(2025, 1, 2, tzinfo=UTC))
    reader = GenericTextReader()  # a fresh plan cache: discovery is part of the cost
    t0 = time.perf_counter()
    n = sum(1 for item in reader.read(path, path.name, ctx) if isinstance(item, Evidence))
    return time.perf_counter() - t0, n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--mb", type=float, default=50.0, help="total MB to generate across all families")
    args = ap.parse_args()
    per = int(args.mb * 1e6 / len(FAMILIES))
    with tempfile.TemporaryDirectory(prefix="generic-reader-bench-") as tmp:
        total_bytes, total_s = 0, 0.0
        print(f"{'family':<52} {'MB':>7} {'s':>7} {'MB/s':>7} {'records/s':>10}")
        for i, (family, line) in enumerate(FAMILIES.items()):
            path = Path(tmp) / f"family{i}.log"
            size = generate(path, line, per, seed=i)
            secs, n = measure(path)
            total_bytes += size
            total_s += secs
            print(f"{family:<52} {size / 1e6:7.1f} {secs:7.2f} {size / 1e6 / secs:7.2f} {n / secs:10.0f}")
        print(f"{'all':<52} {total_bytes / 1e6:7.1f} {total_s:7.2f} {total_bytes / 1e6 / total_s:7.2f}")
        discovery(Path(tmp))


def discovery(tmp: Path) -> None:
    for size in (2_000, 20_000, 200_000):
        spent = 0.0
        for i, line in enumerate(FAMILIES.values()):
            path = tmp / f"small{i}_{size}.log"
            generate(path, line, size, seed=i)
            t0 = time.perf_counter()
            for _ in range(5):
                discover(path)
            spent += (time.perf_counter() - t0) / 5
        print(f"discovery, {size / 1000:g} kB files: {spent / len(FAMILIES) * 1000:.1f} ms per file")


if __name__ == "__main__":
    main()

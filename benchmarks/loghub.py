"""How many lines of the loghub 2k samples come out as a record at the right time.

    python -m benchmarks.loghub /path/to/loghub            # all 16 systems found there
    python -m benchmarks.loghub /path/to/loghub --system OpenSSH --show 5

Takes a checkout of https://github.com/logpai/loghub (nothing is fetched here). For each system's
`<S>/<S>_2k.log` the file is ingested exactly as a user's dump would be (tools.ingest.ingest into a
temporary workdir), and each record is matched to its line by the line number in its id
(`log:<rel>:<line>`). The truth is the system's `<S>_2k.log_structured.csv`:

- right: the record's UTC time has the CSV's month, day, hour, minute and second. Where the CSV
  gives a Unix epoch (BGL, HPC, Thunderbird) the record's instant must equal it; the CSV's wall
  clock there is local time (its offset from the epoch is printed), so it is not compared in UTC.
- wrong: a record at that line with another time; undated: a record without a time;
  dropped: no record starts at that line (joined to the record before it, malformed, or the file
  was skipped). Years are not compared: most of these formats carry none.
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from tools.ingest import ingest
from tools.store.reader import EvidenceReader
from tools.store.writer import StoreWriter

MONTHS = {m: i for i, m in enumerate(["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1)}
WallClock = tuple[int, int, int, int, int]  # month, day, hour, minute, second


@dataclass
class Truth:
    wall: WallClock | None
    epoch: int | None = None


def _hms(s: str) -> tuple[int, int, int]:
    h, mi, sec = re.split(r"[:.,]", s)[:3]
    return int(h), int(mi), int(sec)


def _md_hms(month: int | str, day: int | str, time_s: str) -> WallClock:
    mo = MONTHS[str(month).lower()[:3]] if not str(month).isdigit() else int(month)
    return (mo, int(day), *_hms(time_s))


def _iso_date(date_s: str, time_s: str) -> WallClock:
    _, mo, d = re.split(r"[-/.]", date_s)[:3]
    return (int(mo), int(d), *_hms(time_s))


def _epoch(value: str) -> int:
    return int(float(value))


# Column layouts of the 16 structured CSVs: each gives the wall clock and, where present, the epoch.
LAYOUTS: dict[str, Callable[[dict[str, str]], Truth]] = {
    "Android": lambda r: Truth(_md_hms(*r["Date"].split("-"), r["Time"])),
    "Apache": lambda r: Truth(_md_hms(r["Time"].split()[1], r["Time"].split()[2], r["Time"].split()[3])),
    "BGL": lambda r: Truth(_iso_date(r["Time"][:10], r["Time"][11:].replace(".", ":", 2)), _epoch(r["Timestamp"])),
    "HDFS": lambda r: Truth((int(r["Date"][2:4]), int(r["Date"][4:6]),
                             int(r["Time"][:2]), int(r["Time"][2:4]), int(r["Time"][4:6]))),
    "HPC": lambda r: Truth(None, _epoch(r["Time"])),
    "Hadoop": lambda r: Truth(_iso_date(r["Date"], r["Time"])),
    "HealthApp": lambda r: Truth((int(r["Time"][4:6]), int(r["Time"][6:8]), *_hms(r["Time"][9:]))),
    "Linux": lambda r: Truth(_md_hms(r["Month"], r["Date"], r["Time"])),
    "Mac": lambda r: Truth(_md_hms(r["Month"], r["Date"], r["Time"])),
    "OpenSSH": lambda r: Truth(_md_hms(r["Date"], r["Day"], r["Time"])),
    "OpenStack": lambda r: Truth(_iso_date(r["Date"], r["Time"])),
    "Proxifier": lambda r: Truth(_md_hms(*r["Time"].split()[0].split("."), r["Time"].split()[1])),
    "Spark": lambda r: Truth(_iso_date(r["Date"], r["Time"])),
    "Thunderbird": lambda r: Truth(_md_hms(r["Month"], r["Day"], r["Time"]), _epoch(r["Timestamp"])),
    "Windows": lambda r: Truth(_iso_date(r["Date"], r["Time"])),
    "Zookeeper": lambda r: Truth(_iso_date(r["Date"], r["Time"])),
}


@dataclass
class Result:
    system: str
    lines: int = 0
    right: int = 0
    wrong: int = 0
    undated: int = 0
    dropped: int = 0
    reader: str = ""
    note: str = ""
    offsets: Counter[int] = field(default_factory=Counter)  # CSV wall clock minus epoch, hours
    misses: list[str] = field(default_factory=list)


def load_truth(csv_path: Path, layout: Callable[[dict[str, str]], Truth]) -> dict[int, Truth | None]:
    """Line number -> truth (None where the CSV row cannot be read)."""
    out: dict[int, Truth | None] = {}
    with open(csv_path, newline="", encoding="utf-8", errors="replace") as f:
        for row in csv.DictReader(f):
            try:
                out[int(row["LineId"])] = layout(row)
            except (KeyError, ValueError, IndexError):
                out[int(row["LineId"])] = None
    return out


def record_times(store: EvidenceReader) -> dict[int, datetime | None]:
    """Line number -> time of the record that starts at that line."""
    out: dict[int, datetime | None] = {}
    for ev in store.iter():
        m = re.search(r":(\d+)$", ev.id)
        if m:
            out[int(m.group(1))] = ev.ts
    return out


def _line(lines: list[str], lineno: int) -> str:
    return lines[lineno - 1][:110] if 0 < lineno <= len(lines) else "(no such line in the log)"


def _offset_hours(epoch: int, wall: WallClock) -> int:
    """The CSV's wall clock minus its epoch, in whole hours (the source's UTC offset)."""
    utc = datetime.fromtimestamp(epoch, timezone.utc).replace(tzinfo=None)
    try:
        local = datetime(utc.year, *wall)
    except ValueError:
        return 0
    return round((local - utc).total_seconds() / 3600)


def judge(res: Result, lineno: int, truth: Truth, ts: datetime | None, lines: list[str], show: int) -> None:
    if ts is None:
        res.undated += 1
        verdict = "undated"
    else:
        if truth.epoch is not None and truth.wall is not None:
            res.offsets[_offset_hours(truth.epoch, truth.wall)] += 1
        if truth.epoch is not None:
            ok = int(ts.timestamp()) == truth.epoch
        else:
            ok = (ts.month, ts.day, ts.hour, ts.minute, ts.second) == truth.wall
        if ok:
            res.right += 1
            return
        res.wrong += 1
        verdict = f"wrong: {ts.isoformat()}"
    if len(res.misses) < show:
        res.misses.append(f"  line {lineno} ({verdict}): {_line(lines, lineno)!r}")


def run_system(root: Path, system: str, work: Path, show: int) -> Result | None:
    log, truth_csv = root / system / f"{system}_2k.log", root / system / f"{system}_2k.log_structured.csv"
    if not log.is_file() or not truth_csv.is_file():
        return None
    truth = load_truth(truth_csv, LAYOUTS[system])
    writer = StoreWriter.create(work / system / "store.db")
    inv = ingest(log, writer, workdir=work / system / "work")
    store = writer.reader()
    res = Result(system, lines=len(truth))
    src = inv.sources[0] if inv.sources else None
    res.reader = src.kind if src else "skipped"
    res.note = (src.note if src else "; ".join(s.note for s in inv.skipped))[:120]
    times = record_times(store)
    lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    for lineno, t in sorted(truth.items()):
        if lineno not in times:
            res.dropped += 1
            if len(res.misses) < show:
                res.misses.append(f"  line {lineno} (dropped): {_line(lines, lineno)!r}")
        elif t is None:
            res.lines -= 1  # the truth itself is unreadable: not counted either way
        else:
            judge(res, lineno, t, times[lineno], lines, show)
    store.close()
    return res


def report(results: list[Result]) -> None:
    print(f"{'system':<12} {'reader':<18} {'lines':>5} {'right':>7} {'wrong':>5} {'undated':>7} {'dropped':>7}")
    for r in results:
        share = r.right / r.lines if r.lines else 0.0
        print(f"{r.system:<12} {r.reader:<18} {r.lines:>5} {share:>7.1%} {r.wrong:>5} {r.undated:>7} {r.dropped:>7}")
        if r.offsets:
            print(f"{'':<12} CSV wall clock = epoch {', '.join(f'{h:+d} h' for h in r.offsets)} (local time)")
        for m in r.misses:
            print(m)
    total = sum(r.lines for r in results)
    right = sum(r.right for r in results)
    dropped = sum(r.dropped for r in results)
    print(f"{'overall':<12} {'':<18} {total:>5} {right / total if total else 0:>7.1%} "
          f"{sum(r.wrong for r in results):>5} {sum(r.undated for r in results):>7} {dropped:>7}")
    systems_ok = sum(1 for r in results if r.lines and r.right / r.lines >= 0.95)
    print(f"systems with >= 95% of lines right: {systems_ok}/{len(results)}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("loghub", type=Path, help="a checkout of logpai/loghub (or a copy of its */*_2k.log* files)")
    ap.add_argument("--system", action="append", help="only these systems (repeatable)")
    ap.add_argument("--show", type=int, default=0, help="print up to N missed lines per system")
    args = ap.parse_args(argv)
    systems = args.system or list(LAYOUTS)
    unknown = [s for s in systems if s not in LAYOUTS]
    if unknown:
        print(f"unknown systems: {', '.join(unknown)}; known: {', '.join(LAYOUTS)}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="loghub-bench-") as tmp:
        results = [r for s in systems if (r := run_system(args.loghub, s, Path(tmp), args.show)) is not None]
    if not results:
        print(f"no <System>/<System>_2k.log with its structured CSV under {args.loghub}", file=sys.stderr)
        return 2
    report(results)
    return 0


if __name__ == "__main__":  # the guard the ingest worker processes need (spawn)
    sys.exit(main())

"""Which timestamps of a store are plausible for one incident.

One line dated `9999-...` and one dated `0001-...` made the analysis size a per-minute series by
the 8,000-year span between them (24 GB). Such times are kept as evidence (the record itself may
matter) but marked, so time-window analysis leaves them out:

- before FLOOR (1990-01-01: older than any system that writes these logs), or
- after the newest plausible time + 1 day. The newest plausible time is the newest one not after
  the clock (+1 day of skew: a dump cannot hold records written after it was read), reached from
  the bulk of the evidence (the median day) without a silence of more than MAX_SILENCE_DAYS: a
  lone line years after everything else is a wrong clock or a typo, not part of the incident.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

from tools.store.aggregates import StoreAggregates

FLOOR = datetime(1990, 1, 1, tzinfo=timezone.utc).timestamp()
DAY_S = 86400.0
MAX_SILENCE_DAYS = 366
MAX_LISTED = 20


@dataclass
class Plausible:
    lo: float | None = None  # epoch seconds, inclusive; None: no dated evidence
    hi: float | None = None
    outside: int = 0  # records dated outside [lo, hi]
    examples: list[str] = field(default_factory=list)  # ids of the first MAX_LISTED of them

    def as_meta(self) -> dict[str, object]:
        return {"lo": self.lo, "hi": self.hi, "outside": self.outside, "examples": self.examples}


def _newest_reachable(days: list[tuple[int, int]]) -> int:
    """Last day reached from the median record's day without a silence over MAX_SILENCE_DAYS."""
    half = sum(n for _, n in days) / 2
    seen, start = 0, 0
    for i, (_, n) in enumerate(days):
        seen += n
        if seen >= half:
            start = i
            break
    last = days[start][0]
    for d, _ in days[start + 1:]:
        if d - last > MAX_SILENCE_DAYS:
            break
        last = d
    return last


def plausible_span(store: StoreAggregates, now: datetime | None = None) -> Plausible:
    """The plausible time range of `store`, and what falls outside it."""
    clock = (now or datetime.now(timezone.utc)).timestamp() + DAY_S
    # A dump dated wholly after our clock: every dated record from FLOOR on.
    days = store.day_counts(FLOOR, clock) or store.day_counts(FLOOR, float("inf"))
    if not days:
        return Plausible()
    hi_day = _newest_reachable(days)
    newest = store.newest_ts_before(hi_day * DAY_S, (hi_day + 1) * DAY_S)
    assert newest is not None  # hi_day is a day with records
    out = Plausible(lo=FLOOR, hi=newest + DAY_S)
    out.outside, out.examples = store.dated_outside(out.lo, out.hi, MAX_LISTED)
    return out


def gap_note(p: Plausible) -> str | None:
    """The inventory's data-gap sentence about implausible times, or None."""
    if not p.outside or p.hi is None:
        return None
    hi = datetime.fromtimestamp(p.hi, tz=timezone.utc)
    listed = ", ".join(p.examples) + (", ..." if p.outside > len(p.examples) else "")
    return (f"{p.outside} records carry an implausible time (before 1990, or after {hi:%Y-%m-%d %H:%M} UTC, "
            f"one day past the newest plausible evidence): kept as evidence but left out of the "
            f"incident window and time series ({listed}).")

"""Years for timestamps that omit them (RFC 3164 syslog, klog/glog, logcat, vLLM, Proxifier, ...).

API (kept stable: every reader of a yearless layout uses it)::

    roller = YearRoller(ctx.year_anchor)          # one roller per file, fed in file order
    ts_utc, assumed = roller.place(month, day, hour, minute, second, microsecond, tz)

`tz` is the zone the wall-clock time is in (None: UTC); the result is an aware UTC datetime, and
`assumed` is always True because the year is an inference, never something the source stated.
`place` raises ValueError for a date or time that exists in no year (13/01, 02/30, 25:00).

Rules:
- The first time of a file takes the year that puts it nearest to, and not after, the anchor
  (the newest dated evidence of the dump; None: now, UTC). A grace of one day is allowed past
  the anchor because the anchor and the yearless clock may sit in zones hours apart.
- Later times keep that year, except that a backwards jump across New Year (the month goes from
  December to January, or the time drops by more than about half a year) advances it: logs are
  written in time order, so such a drop means the year turned.
- Nothing is ever placed after today (plus the same grace): a rollover that would land in the
  future is refused, and the time stays in the current year (it then shows up out of order
  rather than at an impossible instant).
- 29 February only exists in leap years: the first placement skips non-leap years, and a
  29 February met later in a non-leap year moves to the nearest leap year that is not in the
  future (searching backwards first).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone, tzinfo

UTC = timezone.utc
# Clocks of the anchor and of the yearless source can disagree by a zone offset (up to 14 h).
GRACE = timedelta(days=1)
# A drop larger than this inside one file is a year turning over, not log interleaving.
HALF_YEAR = timedelta(days=183)
# How far back the first placement may look (29 Feb needs up to 8 years around a century).
MAX_YEARS_BACK = 8


class YearRoller:
    """Assign years to the yearless times of one file, read in file order (see module doc)."""

    def __init__(self, anchor: datetime | None) -> None:
        now = datetime.now(UTC)
        if anchor is not None and anchor.tzinfo is None:
            anchor = anchor.replace(tzinfo=UTC)
        self._future = now + GRACE
        self._limit = min(anchor, now) + GRACE if anchor is not None else self._future
        self._year: int | None = None
        self._last: datetime | None = None  # last placed wall-clock time (naive)
        self.placed = 0  # placements so far: a caller's memo of one result holds while this is unchanged

    def place(
        self, month: int, day: int, hour: int, minute: int, second: int, microsecond: int,
        tz: tzinfo | None,
    ) -> tuple[datetime, bool]:
        _check(month, day, hour, minute, second, microsecond)
        zone = tz if tz is not None else UTC
        fields = (month, day, hour, minute, second, microsecond)
        if self._year is None:
            wall = self._first(fields, zone)
        else:
            wall = self._next(fields, zone, self._year)
        self._year = wall.year
        self._last = wall
        self.placed += 1
        return _utc(wall, zone), True

    # -- internals ---------------------------------------------------------------------------
    def _first(self, fields: tuple[int, ...], zone: tzinfo) -> datetime:
        top = self._limit.year + 1  # the limit in another zone can still be the next calendar year
        for year in range(top, top - MAX_YEARS_BACK - 2, -1):
            wall = _wall(year, fields)
            if wall is not None and _utc(wall, zone) <= self._limit:
                return wall
        raise ValueError("no year places this date before the anchor")

    def _next(self, fields: tuple[int, ...], zone: tzinfo, year: int) -> datetime:
        wall = _wall(year, fields)
        if wall is None:
            return self._leap_day(fields, zone, year)
        last = self._last
        assert last is not None
        turned = (last.month == 12 and wall.month == 1) or last - wall > HALF_YEAR
        if turned:
            later = _wall(year + 1, fields)
            if later is not None and _utc(later, zone) <= self._future:
                return later
        return wall

    def _leap_day(self, fields: tuple[int, ...], zone: tzinfo, year: int) -> datetime:
        """29 February in a year without one: the nearest leap year, not in the future."""
        for delta in (-1, 1, -2, 2, -3, 3, -4, 4, -5, 5, -6, 6, -7, 7, -8, 8):
            wall = _wall(year + delta, fields)
            if wall is not None and _utc(wall, zone) <= self._future:
                return wall
        raise ValueError("29 February has no leap year nearby")


_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _check(month: int, day: int, hour: int, minute: int, second: int, microsecond: int) -> None:
    """Reject what no year can hold, so a None from _wall below can only mean 29 February."""
    if not 1 <= month <= 12 or not 1 <= day <= _DAYS_IN_MONTH[month - 1]:
        raise ValueError(f"no such date: month {month}, day {day}")
    if not (0 <= hour <= 23 and 0 <= minute <= 59 and 0 <= second <= 59 and 0 <= microsecond <= 999_999):
        raise ValueError(f"no such time: {hour}:{minute}:{second}.{microsecond}")


def _wall(year: int, fields: tuple[int, ...]) -> datetime | None:
    """The naive wall-clock datetime, or None when the date does not exist that year (29 Feb)."""
    try:
        return datetime(year, *fields)
    except ValueError:
        return None


def _utc(wall: datetime, zone: tzinfo) -> datetime:
    if zone is UTC:
        return wall.replace(tzinfo=UTC)
    return wall.replace(tzinfo=zone).astimezone(UTC)

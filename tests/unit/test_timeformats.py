"""One line per timestamp layout: adding a row to LAYOUTS means adding a line here."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tools.timeformats import BY_NAME, LAYOUTS, Decoder, zone_of
from tools.yearless import YearRoller

UTC = timezone.utc
NY = timezone(timedelta(hours=-5))
# Yearless rows are placed against this anchor (their year is always an inference).
ANCHOR = datetime(2025, 6, 30, tzinfo=UTC)

# (layout, text as it appears in a log, expected UTC time or None for time-of-day only, assumed)
CASES: list[tuple[str, str, datetime | None, bool]] = [
    ("iso8601", "2024-04-25T14:03:07.123456789Z", datetime(2024, 4, 25, 14, 3, 7, 123456, tzinfo=UTC), False),
    ("iso8601", "2024-04-25 14:03:07,123", datetime(2024, 4, 25, 14, 3, 7, 123000, tzinfo=UTC), True),
    ("iso8601", "[2024-04-25T16:03:07+02:00]", datetime(2024, 4, 25, 14, 3, 7, tzinfo=UTC), False),
    ("iso8601", "2024-04-25 09:03:07 EST", datetime(2024, 4, 25, 14, 3, 7, tzinfo=UTC), False),
    ("iso8601", "2024-04-25T14:03:07-0500", datetime(2024, 4, 25, 19, 3, 7, tzinfo=UTC), False),
    ("airflow", "[2025-03-03, 17:09:55 UTC]", datetime(2025, 3, 3, 17, 9, 55, tzinfo=UTC), False),
    ("rfc5424", "<34>1 2024-04-25T14:03:07.5Z", datetime(2024, 4, 25, 14, 3, 7, 500000, tzinfo=UTC), False),
    ("rfc3164", "<34>Apr  5 14:03:07", datetime(2025, 4, 5, 14, 3, 7, tzinfo=UTC), True),
    ("ctime", "[Sun Dec 04 04:47:44 2005]", datetime(2005, 12, 4, 4, 47, 44, tzinfo=UTC), True),
    ("ctime", "Sun Dec  4 04:47:44 PST 2005", datetime(2005, 12, 4, 12, 47, 44, tzinfo=UTC), False),
    ("clf", "[10/Oct/2000:13:55:36 -0700]", datetime(2000, 10, 10, 20, 55, 36, tzinfo=UTC), False),
    ("ymd_slash", "2024/01/02 03:04:05", datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC), True),
    ("yy_slash", "17/06/09 20:10:40", datetime(2017, 6, 9, 20, 10, 40, tzinfo=UTC), True),
    ("dmy_mon", "04-Dec-2005 04:47:44.123", datetime(2005, 12, 4, 4, 47, 44, 123000, tzinfo=UTC), True),
    ("jul", "Dec 4, 2005 4:47:44 PM", datetime(2005, 12, 4, 16, 47, 44, tzinfo=UTC), True),
    ("rfc2822", "Sun, 04 Dec 2005 04:47:44 GMT", datetime(2005, 12, 4, 4, 47, 44, tzinfo=UTC), False),
    ("dmy_dot", "04.12.2005 04:47:44", datetime(2005, 12, 4, 4, 47, 44, tzinfo=UTC), True),
    ("yymmdd_hhmmss", "081109 203615", datetime(2008, 11, 9, 20, 36, 15, tzinfo=UTC), True),
    ("ymd_dash_colon_ms", "20171223-22:15:29:606", datetime(2017, 12, 23, 22, 15, 29, 606000, tzinfo=UTC), True),
    ("bgl", "2005-06-03-15.42.50.675872", datetime(2005, 6, 3, 15, 42, 50, 675872, tzinfo=UTC), True),
    ("glog", "E0425 14:03:07.123456", datetime(2025, 4, 25, 14, 3, 7, 123456, tzinfo=UTC), True),
    ("glog_year", "I20240425 14:03:07.000001", datetime(2024, 4, 25, 14, 3, 7, 1, tzinfo=UTC), True),
    ("level_mmdd", "INFO 12-31 23:02:11", datetime(2024, 12, 31, 23, 2, 11, tzinfo=UTC), True),
    ("logcat", "03-17 16:13:38.811", datetime(2025, 3, 17, 16, 13, 38, 811000, tzinfo=UTC), True),
    ("mmdd_dot_bracket", "[10.30 16:49:06]", datetime(2024, 10, 30, 16, 49, 6, tzinfo=UTC), True),
    ("epoch_s", "1117838570", datetime(2005, 6, 3, 22, 42, 50, tzinfo=UTC), False),
    ("epoch_s", "1700000000.25", datetime(2023, 11, 14, 22, 13, 20, 250000, tzinfo=UTC), False),
    ("epoch_ms", "1714053725123", datetime(2024, 4, 25, 14, 2, 5, 123000, tzinfo=UTC), False),
    ("epoch_us", "1714053725123456", datetime(2024, 4, 25, 14, 2, 5, 123456, tzinfo=UTC), False),
    ("epoch_ns", "1714053725123456789", datetime(2024, 4, 25, 14, 2, 5, 123457, tzinfo=UTC), False),
    ("time_only", "[16:49:06.5]", None, False),
]


@pytest.mark.parametrize(("name", "text", "expected", "assumed"), CASES)
def test_each_layout_parses_its_own_shape(name: str, text: str, expected: datetime | None, assumed: bool) -> None:
    layout = BY_NAME[name]
    m = layout.regex.match(text)
    assert m is not None and m.end() == len(text), f"{name} does not match {text!r}"
    roller = None if layout.has_year else YearRoller(ANCHOR)
    ts, was_assumed = Decoder(layout, UTC, roller)(m)
    if expected is None:
        assert ts is None
        return
    assert ts is not None
    # Epoch floats lose a little precision below the microsecond.
    assert abs(ts - expected) <= timedelta(microseconds=1)
    assert was_assumed is assumed


def test_every_row_has_a_test_line() -> None:
    assert {layout.name for layout in LAYOUTS} == {c[0] for c in CASES}
    assert len(BY_NAME) == len(LAYOUTS), "layout names must be unique"


def test_naive_times_take_the_default_zone_and_are_assumed() -> None:
    layout = BY_NAME["iso8601"]
    ts, assumed = Decoder(layout, NY, None)(layout.regex.match("2024-04-25 09:03:07"))  # type: ignore[arg-type]
    assert ts == datetime(2024, 4, 25, 14, 3, 7, tzinfo=UTC) and assumed


def test_stated_zone_wins_over_the_default_zone() -> None:
    layout = BY_NAME["iso8601"]
    ts, assumed = Decoder(layout, NY, None)(layout.regex.match("2024-04-25T09:03:07Z"))  # type: ignore[arg-type]
    assert ts == datetime(2024, 4, 25, 9, 3, 7, tzinfo=UTC) and not assumed


@pytest.mark.parametrize("text", ["2024-02-30 10:00:00", "2023-02-29T10:00:00Z"])
def test_shapes_that_are_not_real_dates_raise_value_error(text: str) -> None:
    layout = BY_NAME["iso8601"]
    m = layout.regex.match(text)
    assert m is not None
    with pytest.raises(ValueError):
        Decoder(layout, UTC, None)(m)


@pytest.mark.parametrize("text", ["0000000001", "9999999999", "0934567890123456789"])
def test_epochs_outside_2000_2100_are_not_times(text: str) -> None:
    layout = {10: BY_NAME["epoch_s"], 19: BY_NAME["epoch_ns"]}[len(text)]
    m = layout.regex.match(text)
    assert m is not None
    with pytest.raises(ValueError):
        Decoder(layout, UTC, None)(m)


def test_cached_seconds_keep_each_lines_own_fraction() -> None:
    layout = BY_NAME["iso8601"]
    dec = Decoder(layout, UTC, None)
    a, _ = dec(layout.regex.match("2024-04-25T14:03:07.100Z"))  # type: ignore[arg-type]
    b, _ = dec(layout.regex.match("2024-04-25T14:03:07.900Z"))  # type: ignore[arg-type]
    c, _ = dec(layout.regex.match("2024-04-25T14:03:07Z"))  # type: ignore[arg-type]
    assert (a.microsecond, b.microsecond, c.microsecond) == (100000, 900000, 0)  # type: ignore[union-attr]


def test_zone_tokens() -> None:
    assert zone_of("Z") is UTC and zone_of("+00:00") is UTC
    assert zone_of("-0530").utcoffset(None) == -timedelta(hours=5, minutes=30)  # type: ignore[union-attr]
    assert zone_of("PDT").utcoffset(None) == timedelta(hours=-7)  # type: ignore[union-attr]
    assert zone_of("XYZ") is None


def test_repeated_yearless_stamps_equal_placing_each_one() -> None:
    # Two layouts of one file share a roller; repeats, interleaving and a Dec -> Jan turn.
    anchor = datetime(2025, 3, 1, tzinfo=timezone.utc)
    stamps = [("rfc3164", "Dec 31 23:59:58"), ("rfc3164", "Dec 31 23:59:58"), ("logcat", "12-31 23:59:59.5"),
              ("rfc3164", "Dec 31 23:59:58"), ("rfc3164", "Jan  1 00:00:01"), ("rfc3164", "Jan  1 00:00:01"),
              ("logcat", "01-01 00:00:02.1"), ("logcat", "01-01 00:00:02.1"), ("rfc3164", "Dec 31 23:59:58")]

    def run(memo: bool) -> list[tuple[datetime | None, bool]]:
        roller = YearRoller(anchor)
        decs = {n: Decoder(BY_NAME[n], timezone.utc, roller) for n in ("rfc3164", "logcat")}
        out = []
        for name, text in stamps:
            dec = decs[name]
            if not memo:
                dec._prev_text = None
            m = BY_NAME[name].regex.match(text)
            assert m is not None
            out.append(dec(m))
        return out

    fast = run(True)
    assert fast == run(False)
    assert fast[1][0] is not None and fast[1][0].year == 2024 and fast[5][0] is not None and fast[5][0].year == 2025

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from tools.timeparse import from_epoch, parse_ts, parse_zone

UTC = timezone.utc


def at(*a: int) -> datetime:
    return datetime(*a, tzinfo=UTC)


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("2024-04-25T14:03:07Z", at(2024, 4, 25, 14, 3, 7)),
        ("2024-04-25T14:03:07.250Z", at(2024, 4, 25, 14, 3, 7, 250000)),
        ("2024-04-25T16:03:07+02:00", at(2024, 4, 25, 14, 3, 7)),
        ("2024-04-25T09:03:07-0500", at(2024, 4, 25, 14, 3, 7)),
        ("2024-04-25 07:03:07 PDT", at(2024, 4, 25, 14, 3, 7)),
        ("2024-04-25 16:03:07 CEST", at(2024, 4, 25, 14, 3, 7)),
        ("2024-04-25T14:03:07.123456789Z", at(2024, 4, 25, 14, 3, 7, 123456)),
        ("25/Apr/2024:16:03:07 +0200", at(2024, 4, 25, 14, 3, 7)),
        ("Thu, 25 Apr 2024 14:03:07 GMT", at(2024, 4, 25, 14, 3, 7)),
    ],
)
def test_zoned_timestamps_become_utc_and_are_not_assumed(raw: str, expected: datetime) -> None:
    got = parse_ts(raw)
    assert got is not None
    dt, assumed = got
    assert dt == expected and dt.utcoffset() == timedelta(0)
    assert assumed is False


def test_python_logging_default_is_naive_and_takes_default_zone() -> None:
    dt, assumed = parse_ts("2024-04-25 07:03:07,123", ZoneInfo("America/Los_Angeles"))  # type: ignore[misc]
    assert dt == at(2024, 4, 25, 14, 3, 7, 123000)
    assert assumed is True


def test_naive_defaults_to_utc_but_is_still_marked_assumed() -> None:
    dt, assumed = parse_ts("2024-01-10T08:00:00")  # type: ignore[misc]
    assert dt == at(2024, 1, 10, 8) and assumed is True


def test_epoch_seconds_and_milliseconds_are_told_apart_by_magnitude() -> None:
    s = parse_ts(1714053600)
    ms = parse_ts(1714053600123)
    us = parse_ts(1714053600123456)
    assert s == (at(2024, 4, 25, 14), False)
    assert ms == (at(2024, 4, 25, 14, 0, 0, 123000), False)
    assert us == (at(2024, 4, 25, 14, 0, 0, 123456), False)
    assert parse_ts("1714053600.000200")[0] == at(2024, 4, 25, 14, 0, 0, 200)  # type: ignore[index]


def test_klog_and_rfc3164_use_year_hint_and_are_assumed() -> None:
    dt, assumed = parse_ts("E0425 14:03:07.123456", year_hint=2023)  # type: ignore[misc]
    assert dt == at(2023, 4, 25, 14, 3, 7, 123456) and assumed is True
    dt, assumed = parse_ts("Apr  5 14:03:07", ZoneInfo("Europe/Berlin"), 2024)  # type: ignore[misc]
    assert dt == at(2024, 4, 5, 12, 3, 7) and assumed is True


def test_yearless_without_a_hint_is_refused_not_guessed() -> None:
    assert parse_ts("Apr 25 14:03:07") is None
    assert parse_ts("I0425 14:03:07.1") is None


def test_rfc5424_timestamp() -> None:
    assert parse_ts("2024-04-25T14:03:07.003-07:00") == (at(2024, 4, 25, 21, 3, 7, 3000), False)


@pytest.mark.parametrize(
    "raw", ["", "not a time", "2024-13-45T99:00:00Z", "2024-04-25T14:03:07 XYZT", None, True, "-", float("nan"), "12:30"]
)
def test_garbage_returns_none(raw: object) -> None:
    assert parse_ts(raw) is None


def test_aware_datetime_passes_through_converted() -> None:
    src = datetime(2024, 4, 25, 16, 0, tzinfo=timezone(timedelta(hours=2)))
    assert parse_ts(src) == (at(2024, 4, 25, 14), False)


def test_parse_zone_accepts_iana_abbreviation_and_offset() -> None:
    assert parse_zone("Europe/Berlin") == ZoneInfo("Europe/Berlin")
    assert parse_zone("PDT").utcoffset(None) == timedelta(hours=-7)  # type: ignore[union-attr]
    assert parse_zone("UTC+05:30").utcoffset(None) == timedelta(hours=5, minutes=30)  # type: ignore[union-attr]
    assert parse_zone("-03").utcoffset(None) == timedelta(hours=-3)  # type: ignore[union-attr]
    assert parse_zone("Mars/Olympus") is None


def test_from_epoch_out_of_range_is_none() -> None:
    assert from_epoch(1e30) is None

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tools.yearless import YearRoller

UTC = timezone.utc


def place(r: YearRoller, month: int, day: int, hour: int = 12, tz: timezone | None = None) -> datetime:
    ts, assumed = r.place(month, day, hour, 0, 0, 0, tz)
    assert assumed  # the year is always an inference
    return ts


def test_first_time_takes_the_year_nearest_to_and_not_after_the_anchor() -> None:
    assert place(YearRoller(datetime(2024, 3, 1, tzinfo=UTC)), 2, 20).year == 2024
    # 20 March 2024 would be after a 1 March 2024 anchor: the year before.
    assert place(YearRoller(datetime(2024, 3, 1, tzinfo=UTC)), 3, 20).year == 2023


def test_a_few_hours_past_the_anchor_is_the_same_year() -> None:
    # The anchor and the yearless clock may differ by a zone offset.
    r = YearRoller(datetime(2024, 3, 1, 10, tzinfo=UTC))
    assert place(r, 3, 1, 20).year == 2024


def test_december_to_january_rolls_the_year() -> None:
    r = YearRoller(datetime(2025, 1, 2, tzinfo=UTC))
    assert place(r, 12, 31, 23) == datetime(2024, 12, 31, 23, tzinfo=UTC)
    assert place(r, 1, 1, 0) == datetime(2025, 1, 1, 0, tzinfo=UTC)
    assert place(r, 1, 1, 1).year == 2025  # stays rolled


def test_a_drop_of_more_than_half_a_year_rolls_the_year() -> None:
    r = YearRoller(datetime(2024, 12, 1, tzinfo=UTC))
    assert place(r, 9, 1).year == 2024
    assert place(r, 2, 1).year == 2025


def test_small_backward_steps_do_not_roll() -> None:
    r = YearRoller(datetime(2024, 12, 1, tzinfo=UTC))
    assert place(r, 6, 10, 12).year == 2024
    assert place(r, 6, 10, 11).year == 2024  # interleaved writers go back a little
    assert place(r, 5, 1).year == 2024


def test_no_anchor_means_today_and_nothing_lands_in_the_future() -> None:
    now = datetime.now(UTC)
    tomorrow_plus = now + timedelta(days=3)
    ts = place(YearRoller(None), tomorrow_plus.month, tomorrow_plus.day)
    assert ts <= now + timedelta(days=1)
    assert ts.year in (now.year - 1, now.year)


def test_a_rollover_into_the_future_is_refused() -> None:
    now = datetime.now(UTC)
    r = YearRoller(None)
    first = place(r, 12, 31)  # some past 31 December
    nxt = place(r, 1, 1)
    assert first.year == now.year - 1 or first.year == now.year
    assert nxt <= now + timedelta(days=1)


def test_february_29_takes_a_leap_year() -> None:
    r = YearRoller(datetime(2023, 6, 1, tzinfo=UTC))
    assert place(r, 2, 29).year == 2020
    r2 = YearRoller(datetime(2025, 3, 15, tzinfo=UTC))
    assert place(r2, 2, 28).year == 2025
    assert place(r2, 2, 29).year == 2024  # no 29 Feb in 2025: the nearest leap year, not in the future


def test_zone_is_applied_to_the_wall_clock() -> None:
    r = YearRoller(datetime(2024, 6, 1, tzinfo=UTC))
    assert place(r, 5, 1, 20, timezone(timedelta(hours=-7))) == datetime(2024, 5, 2, 3, tzinfo=UTC)


@pytest.mark.parametrize(("month", "day", "hour"), [(13, 1, 0), (2, 30, 0), (4, 31, 0), (0, 1, 0), (1, 1, 24)])
def test_impossible_dates_raise_value_error(month: int, day: int, hour: int) -> None:
    with pytest.raises(ValueError):
        YearRoller(datetime(2024, 6, 1, tzinfo=UTC)).place(month, day, hour, 0, 0, 0, None)

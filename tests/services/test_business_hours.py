"""Business hours across time zones, DST changes in both directions, holidays and "24:00"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from supportapp.services.business_hours import (
    ScheduleError,
    add_open_time,
    is_open,
    next_open_at,
    schedule_from_json,
    schedule_to_json,
)

WEEKDAYS_9_18 = {d: [["09:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def schedule(zone: str, weekly=None, holidays=()):
    return schedule_from_json(
        {"timezone": zone, "weekly": weekly or WEEKDAYS_9_18, "holidays": list(holidays)}
    )


def test_no_schedule_is_always_open():
    assert is_open(None, utc(2026, 1, 1, 3))
    assert next_open_at(None, utc(2026, 1, 1, 3)) is None
    assert add_open_time(None, utc(2026, 1, 1), timedelta(minutes=5)) == utc(2026, 1, 1, 0, 5)


def test_madrid_winter_offset_is_one_hour():
    madrid = schedule("Europe/Madrid")
    # Monday 2026-01-12: 09:00 CET = 08:00 UTC
    assert not is_open(madrid, utc(2026, 1, 12, 7, 59))
    assert is_open(madrid, utc(2026, 1, 12, 8, 0))
    assert is_open(madrid, utc(2026, 1, 12, 16, 59))
    assert not is_open(madrid, utc(2026, 1, 12, 17, 0))
    assert next_open_at(madrid, utc(2026, 1, 12, 7)) == utc(2026, 1, 12, 8)
    assert next_open_at(madrid, utc(2026, 1, 12, 9)) is None  # open now


def test_madrid_spring_forward_weekend_then_summer_offset():
    madrid = schedule("Europe/Madrid")
    # Clocks jump 02:00 → 03:00 on Sunday 2026-03-29. Friday 18:00 CET = 17:00 UTC;
    # Monday 09:00 CEST = 07:00 UTC.
    assert next_open_at(madrid, utc(2026, 3, 27, 17)) == utc(2026, 3, 30, 7)
    # 30 open minutes from Friday 17:45 local: 15 on Friday, 15 on Monday.
    assert add_open_time(madrid, utc(2026, 3, 27, 16, 45), timedelta(minutes=30)) == utc(
        2026, 3, 30, 7, 15
    )


def test_range_across_the_spring_forward_gap_is_one_hour_shorter():
    madrid = schedule("Europe/Madrid", {"sun": [["00:00", "24:00"]]})
    start = utc(2026, 3, 28, 23)  # Sunday 00:00 CET
    # The Sunday of the change has 23 hours.
    assert add_open_time(madrid, start, timedelta(hours=23)) == utc(2026, 3, 29, 22)
    assert next_open_at(madrid, utc(2026, 3, 29, 22)) == utc(2026, 4, 4, 22)


def test_range_in_the_fall_back_night_is_one_hour_longer():
    madrid = schedule("Europe/Madrid", {"sun": [["00:00", "24:00"]]})
    # Clocks go 03:00 → 02:00 on Sunday 2026-10-25: the day has 25 hours (22:00 UTC Saturday
    # to 23:00 UTC Sunday).
    start = utc(2026, 10, 24, 22)
    assert is_open(madrid, utc(2026, 10, 25, 22, 30))
    assert not is_open(madrid, utc(2026, 10, 25, 23, 0))
    assert add_open_time(madrid, start, timedelta(hours=25)) == utc(2026, 10, 25, 23)


def test_new_york_both_changes():
    ny = schedule("America/New_York")
    # Friday 2026-03-06 18:00 EST = 23:00 UTC; Monday 2026-03-09 09:00 EDT = 13:00 UTC
    # (clocks jumped on Sunday 2026-03-08).
    assert next_open_at(ny, utc(2026, 3, 6, 23)) == utc(2026, 3, 9, 13)
    # Friday 2026-10-30 09:00 EDT = 13:00 UTC; Monday 2026-11-02 09:00 EST = 14:00 UTC
    # (clocks fell back on Sunday 2026-11-01).
    assert is_open(ny, utc(2026, 10, 30, 13))
    assert next_open_at(ny, utc(2026, 10, 30, 22, 30)) == utc(2026, 11, 2, 14)
    # 9 hours per day: a 10-hour target from Friday 09:00 EDT ends Monday 10:00 EST.
    assert add_open_time(ny, utc(2026, 10, 30, 13), timedelta(hours=10)) == utc(2026, 11, 2, 15)


def test_holiday_is_closed_all_day():
    madrid = schedule("Europe/Madrid", holidays=["2026-01-06"])  # a Tuesday
    assert not is_open(madrid, utc(2026, 1, 6, 10))
    assert next_open_at(madrid, utc(2026, 1, 5, 17)) == utc(2026, 1, 7, 8)


def test_range_ending_at_24_00_joins_the_next_morning():
    late = schedule("Europe/Madrid", {"mon": [["20:00", "24:00"]], "tue": [["00:00", "02:00"]]})
    # Monday 2026-01-12 20:00 CET = 19:00 UTC; open through Tuesday 02:00 CET = 01:00 UTC.
    assert is_open(late, utc(2026, 1, 12, 22, 59))
    assert is_open(late, utc(2026, 1, 12, 23, 0))  # local midnight
    assert is_open(late, utc(2026, 1, 13, 0, 59))
    assert not is_open(late, utc(2026, 1, 13, 1, 0))
    assert add_open_time(late, utc(2026, 1, 12, 19), timedelta(hours=6)) == utc(2026, 1, 13, 1)


def test_half_hour_offset_zone():
    kolkata = schedule("Asia/Kolkata")  # UTC+05:30, no DST
    # Monday 2026-01-12 09:00 IST = 03:30 UTC; 18:00 IST = 12:30 UTC.
    assert not is_open(kolkata, utc(2026, 1, 12, 3, 29))
    assert is_open(kolkata, utc(2026, 1, 12, 3, 30))
    assert not is_open(kolkata, utc(2026, 1, 12, 12, 30))
    assert next_open_at(kolkata, utc(2026, 1, 12, 13)) == utc(2026, 1, 13, 3, 30)


def test_a_schedule_without_ranges_never_opens():
    closed = schedule_from_json({"timezone": "UTC", "weekly": {}})
    assert not is_open(closed, utc(2026, 1, 12, 10))
    assert next_open_at(closed, utc(2026, 1, 12, 10)) is None
    assert add_open_time(closed, utc(2026, 1, 12, 10), timedelta(minutes=1)) is None


def test_canonical_document_round_trips():
    raw = {
        "timezone": "Europe/Madrid",
        "weekly": {"tue": [["14:00", "24:00"], ["09:00", "13:00"]]},
        "holidays": ["2026-12-25", "2026-01-01"],
    }
    assert schedule_to_json(schedule_from_json(raw)) == {
        "timezone": "Europe/Madrid",
        "weekly": {"tue": [["09:00", "13:00"], ["14:00", "24:00"]]},
        "holidays": ["2026-01-01", "2026-12-25"],
    }


@pytest.mark.parametrize(
    "raw",
    [
        {"timezone": "Mars/Olympus", "weekly": {}},
        {"weekly": {}},
        {"timezone": "UTC", "weekly": {"mon": [["10:00", "09:00"]]}},
        {"timezone": "UTC", "weekly": {"mon": [["09:00", "09:00"]]}},
        {"timezone": "UTC", "weekly": {"mon": [["09:00", "12:00"], ["11:00", "13:00"]]}},
        {"timezone": "UTC", "weekly": {"mon": [["09:00", "24:30"]]}},
        {"timezone": "UTC", "weekly": {"mon": [["9:00", "12:00"]]}},
        {"timezone": "UTC", "weekly": {"monday": [["09:00", "12:00"]]}},
        {"timezone": "UTC", "weekly": {"mon": [["09:00"]]}},
        {"timezone": "UTC", "weekly": {}, "holidays": ["2026-02-30"]},
        {"timezone": "UTC", "weekly": {}, "holidays": ["26-1-1"]},
        {"timezone": "UTC", "weekly": {}, "extra": 1},
        "09:00-18:00",
    ],
)
def test_bad_schedules_are_refused(raw):
    with pytest.raises(ScheduleError):
        schedule_from_json(raw)

"""GET /api/chat/stats figures (docs/contract.md) against hand-computed fixtures.

Sessions and replies are inserted with controlled timestamps; `now` is fixed, so every
expected number below can be counted by hand from the rows each test creates.
"""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta

import pytest
from sqlalchemy import delete, text, update

from supportapp.analytics.stats import ChatStats, Range, chat_stats
from supportapp.api.chat.schemas import StatsSchema
from supportapp.api.common import parse_date_range
from supportapp.errors import ValidationFailed
from supportapp.extensions import db
from supportapp.models import ChatMessage, ChatSession, Role, Sender, SessionStatus, User
from tests.helpers import add_message, rows, session_counters

pytestmark = pytest.mark.usefixtures("app_ctx")


def at(moment: str) -> datetime:
    """An aware datetime from ISO text; `Z` or an explicit offset is required."""
    value = datetime.fromisoformat(moment)
    assert value.tzinfo is not None, moment
    return value


@pytest.fixture
def owner() -> uuid.UUID:
    user = User(email=f"owner-{uuid.uuid4().hex[:8]}@example.com", name="Owner", role=Role.USER)
    db.session.add(user)
    db.session.commit()
    return user.id


@pytest.fixture
def add_session(owner):
    """add_session(created_at, status="pending", priority="medium") → committed ChatSession."""

    def factory(created_at: str | datetime, status="pending", priority="medium") -> ChatSession:
        created = at(created_at) if isinstance(created_at, str) else created_at
        session = ChatSession(
            user_id=owner,
            status=SessionStatus(status),
            priority=priority,
            created_at=created,
            last_message_at=created,
        )
        db.session.add(session)
        db.session.commit()
        return session

    return factory


def reply(session: ChatSession, waited_seconds: float | None) -> ChatMessage:
    """A support message; `waited_seconds` is the wait it ended (None: it ended no wait)."""
    message = add_message(
        session.id,
        Sender.SUPPORT,
        session.created_at + timedelta(seconds=waited_seconds or 1),
        "Hola, ¿en qué puedo ayudarte?",
        response_seconds=waited_seconds,
    )
    db.session.commit()
    return message


def user_message(session: ChatSession) -> None:
    add_message(session.id, Sender.USER, session.created_at, "Hola")
    db.session.commit()


def shaped(figures: ChatStats) -> dict:
    """The figures as the API shapes them (camelCase)."""
    return StatsSchema().dump({"figures": figures})


def stats(window: Range | None = None, *, now: str, timezone: str = "UTC") -> dict:
    return shaped(chat_stats(window or Range(), timezone=timezone, now=at(now)))


def totals(figures: dict) -> tuple[int, int, int, int]:
    return (
        figures["totalSessions"],
        figures["activeSessions"],
        figures["pendingSessions"],
        figures["closedSessions"],
    )


def periods(figures: dict) -> tuple[int, int, int]:
    return figures["sessionsToday"], figures["sessionsThisWeek"], figures["sessionsThisMonth"]


NOW = "2024-05-15T12:00:00Z"  # a Wednesday


# --- empty system ----------------------------------------------------------------------------


def test_no_sessions_gives_zeros():
    assert stats(now=NOW) == {
        "totalSessions": 0,
        "activeSessions": 0,
        "pendingSessions": 0,
        "closedSessions": 0,
        "averageResponseTime": 0.0,
        "sessionsToday": 0,
        "sessionsThisWeek": 0,
        "sessionsThisMonth": 0,
    }


# --- totals by status ------------------------------------------------------------------------


def test_totals_count_current_sessions_by_status(add_session):
    for hour, status in enumerate(["pending"] * 3 + ["active"] * 2 + ["closed"] * 4):
        add_session(f"2024-03-0{1 + hour % 5}T{hour:02d}:15:00Z", status)

    assert totals(stats(now=NOW)) == (9, 2, 3, 4)


def test_priority_does_not_split_or_change_the_totals(add_session):
    for priority in ("low", "medium", "high"):
        add_session("2024-05-10T08:00:00Z", "pending", priority)
    session = add_session("2024-05-10T08:30:00Z", "active", "low")
    session.priority = "high"
    db.session.commit()

    assert totals(stats(now=NOW)) == (4, 1, 3, 0)


def test_status_changes_move_sessions_between_counts(add_session):
    session = add_session("2024-05-15T09:10:00Z", "pending")
    add_session("2024-05-15T09:20:00Z", "pending")
    assert totals(stats(now=NOW)) == (2, 0, 2, 0)

    session.status = SessionStatus.ACTIVE
    db.session.commit()
    assert totals(stats(now=NOW)) == (2, 1, 1, 0)

    session.status = SessionStatus.CLOSED
    db.session.commit()
    assert totals(stats(now=NOW)) == (2, 0, 1, 1)
    assert periods(stats(now=NOW)) == (2, 2, 2)


def test_deleted_sessions_leave_every_figure(add_session):
    kept = add_session("2024-05-15T09:10:00Z", "active")
    gone = add_session("2024-05-15T09:20:00Z", "closed")
    reply(kept, 60)
    reply(gone, 600)

    db.session.delete(gone)
    db.session.commit()

    figures = stats(now=NOW)
    assert totals(figures) == (1, 1, 0, 0)
    assert periods(figures) == (1, 1, 1)
    assert figures["averageResponseTime"] == 1.0


# --- average response time -------------------------------------------------------------------


def test_average_response_time_is_the_mean_wait_in_minutes(add_session):
    first = add_session("2024-05-14T10:00:00Z", "active")
    second = add_session("2024-05-14T11:00:00Z", "closed")
    reply(first, 120)  # 2 min
    reply(first, 300)  # a second wait of the same session: 5 min
    reply(second, 60)  # 1 min

    assert stats(now=NOW)["averageResponseTime"] == pytest.approx(2.7)  # 480 s / 3 = 2.67 min


@pytest.mark.parametrize(
    ("waits", "minutes"),
    [
        ([30], 0.5),
        ([200, 253], 3.8),  # 226.5 s = 3.775 min
        ([61, 62], 1.0),  # 61.5 s = 1.025 min
        ([3600, 0], 30.0),
    ],
)
def test_average_response_time_has_one_decimal(add_session, waits, minutes):
    session = add_session("2024-05-14T10:00:00Z", "active")
    for seconds in waits:
        reply(session, seconds)

    assert stats(now=NOW)["averageResponseTime"] == minutes


def test_only_replies_that_end_a_wait_count(add_session):
    session = add_session("2024-05-14T10:00:00Z", "active")
    user_message(session)
    reply(session, 90)  # ended the user's wait
    reply(session, None)  # a follow-up while nobody was waiting
    reply(session, None)

    assert stats(now=NOW)["averageResponseTime"] == 1.5


def test_average_response_time_is_zero_without_replies(add_session):
    session = add_session("2024-05-14T10:00:00Z", "pending")
    user_message(session)

    assert stats(now=NOW)["averageResponseTime"] == 0.0


# --- today / this week / this month ----------------------------------------------------------


def test_periods_in_utc(add_session):
    for created in [
        "2024-05-15T00:00:00Z",  # midnight today
        "2024-05-15T11:59:59Z",
        "2024-05-14T23:59:59Z",  # yesterday, this week
        "2024-05-13T00:00:00Z",  # Monday midnight: the week starts
        "2024-05-12T23:59:59Z",  # Sunday: last week, this month
        "2024-05-01T00:00:00Z",  # the month starts
        "2024-04-30T23:59:59Z",  # last month
    ]:
        add_session(created)

    figures = stats(now=NOW)
    assert periods(figures) == (2, 4, 6)
    assert figures["totalSessions"] == 7


def test_periods_in_bogota_follow_local_midnight(add_session):
    # now = Tuesday 2024-05-14 22:00 in Bogotá (UTC-5): local midnights are 05:00 UTC.
    for created in [
        "2024-05-15T02:00:00Z",  # 21:00 local today (already tomorrow in UTC)
        "2024-05-14T05:00:00Z",  # local midnight today
        "2024-05-14T04:59:59Z",  # 23:59:59 local yesterday (Monday)
        "2024-05-13T05:00:00Z",  # local Monday midnight
        "2024-05-13T04:59:59Z",  # local Sunday night
        "2024-05-01T05:00:00Z",  # local May 1st midnight
        "2024-05-01T04:59:59Z",  # local April 30th
    ]:
        add_session(created)

    bogota = stats(now="2024-05-15T03:00:00Z", timezone="America/Bogota")
    utc = stats(now="2024-05-15T03:00:00Z", timezone="UTC")

    assert periods(bogota) == (2, 4, 6)
    assert periods(utc) == (1, 5, 7)


def test_periods_in_kolkata_count_half_hour_edges(add_session):
    # now = Wednesday 2024-05-15 17:30 in Kolkata (UTC+5:30): local midnights are 18:30 UTC,
    # in the middle of an hourly bucket.
    for created in [
        "2024-05-15T10:00:00Z",
        "2024-05-14T18:59:59Z",  # 00:29:59 local today, second half of the edge hour
        "2024-05-14T18:30:00Z",  # local midnight today
        "2024-05-14T18:29:59Z",  # 23:59:59 local yesterday, same UTC hour
        "2024-05-14T18:00:00Z",  # yesterday, same UTC hour
        "2024-05-12T18:30:00Z",  # local Monday midnight
        "2024-05-12T18:29:59Z",  # local Sunday
        "2024-04-30T18:30:00Z",  # local May 1st midnight
        "2024-04-30T18:29:59Z",  # local April 30th
    ]:
        add_session(created)

    kolkata = stats(now="2024-05-15T12:00:00Z", timezone="Asia/Kolkata")

    assert periods(kolkata) == (3, 6, 8)
    assert kolkata["totalSessions"] == 9


def test_periods_across_a_daylight_saving_change(add_session):
    # New York moved to EDT (UTC-4) on Sunday 2024-03-10; March 1st midnight was still EST (UTC-5).
    for created in [
        "2024-03-12T04:00:00Z",  # local midnight today (EDT)
        "2024-03-11T04:00:00Z",  # local Monday midnight (EDT)
        "2024-03-11T03:59:59Z",  # local Sunday night
        "2024-03-01T05:00:00Z",  # local March 1st midnight (EST)
        "2024-03-01T04:59:59Z",  # local February 29th
    ]:
        add_session(created)

    figures = stats(now="2024-03-12T12:00:00Z", timezone="America/New_York")

    assert periods(figures) == (1, 2, 4)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        ("2024-05-13T00:00:00Z", (1, 1, 3)),  # Monday midnight: today is the whole week
        ("2024-05-19T23:59:59Z", (1, 7, 9)),  # Sunday night: the week began six days ago
        ("2024-05-20T00:00:00Z", (1, 1, 10)),  # the next Monday: a new week
    ],
)
def test_the_week_starts_on_monday(add_session, now, expected):
    # One session at 00:00 every day since Saturday May 11, up to `now`.
    for day in range(11, 21):
        if at(f"2024-05-{day:02d}T00:00:00Z") <= at(now):
            add_session(f"2024-05-{day:02d}T00:00:00Z")

    assert periods(stats(now=now)) == expected


def test_a_week_can_reach_into_the_previous_month(add_session):
    # Sunday June 2nd: the ISO week began on Monday May 27th, the month on June 1st.
    for created in ["2024-05-26T23:59:59Z", "2024-05-27T00:00:00Z", "2024-05-31T12:00:00Z"]:
        add_session(created)
    add_session("2024-06-01T00:00:00Z")
    add_session("2024-06-02T08:00:00Z")

    assert periods(stats(now="2024-06-02T12:00:00Z")) == (1, 4, 2)


def test_periods_count_every_status(add_session):
    for status in ("pending", "active", "closed"):
        add_session("2024-05-15T08:00:00Z", status)

    assert periods(stats(now=NOW)) == (3, 3, 3)


# --- from / to -------------------------------------------------------------------------------


def window(start: str | None, end: str | None) -> Range:
    return Range(at(start) if start else None, at(end) if end else None)


def test_a_range_restricts_every_figure_including_partial_hours(add_session):
    # Window [2024-05-14 10:20, 2024-05-15 13:40) UTC: partial hours at both edges.
    inside = [
        ("2024-05-14T10:20:00Z", "closed", 60),  # exactly at `from`
        ("2024-05-14T10:59:59Z", "closed", 120),
        ("2024-05-14T11:00:00Z", "active", None),
        ("2024-05-15T00:30:00Z", "active", 240),
        ("2024-05-15T12:59:59Z", "pending", None),
        ("2024-05-15T13:00:00Z", "pending", None),
        ("2024-05-15T13:39:59Z", "pending", None),
    ]
    outside = [
        ("2024-05-14T10:19:59Z", "closed", 6000),  # just before `from`, same hour
        ("2024-05-14T09:00:00Z", "active", 6000),
        ("2024-05-15T13:40:00Z", "pending", 6000),  # `to` is an exclusive instant
        ("2024-05-15T13:59:59Z", "active", 6000),
        ("2024-05-15T14:00:00Z", "closed", 6000),
    ]
    for created, status, wait in inside + outside:
        session = add_session(created, status)
        if wait is not None:
            reply(session, wait)

    figures = stats(window("2024-05-14T10:20:00Z", "2024-05-15T13:40:00Z"), now=NOW)

    assert totals(figures) == (7, 2, 3, 2)
    assert figures["averageResponseTime"] == 2.3  # (60 + 120 + 240) s / 3 = 2.33 min
    # Today [05-15 00:00, 13:40): 4 sessions; the week and month: all 7 inside the window.
    assert periods(figures) == (4, 7, 7)


@pytest.mark.parametrize(
    ("start", "end", "status", "expected_totals"),
    [
        ("2024-05-15T10:15:00Z", "2024-05-15T10:45:00Z", "active", (2, 2, 0, 0)),
        ("2024-05-15T10:00:00Z", "2024-05-15T12:00:00Z", "closed", (2, 0, 0, 2)),
    ],
    ids=["inside-one-hour", "on-whole-hours"],
)
def test_a_range_counts_what_was_created_from_its_start_up_to_its_end(
    add_session, start, end, status, expected_totals
):
    """A session created one second before the start, at the start, one second before the
    end and at the end: the middle two count."""
    one_second = timedelta(seconds=1)
    first, last = (datetime.fromisoformat(bound) for bound in (start, end))
    for created in (first - one_second, first, last - one_second, last):
        add_session(created, status)

    figures = stats(window(start, end), now=NOW)

    assert totals(figures) == expected_totals
    assert periods(figures) == (2, 2, 2)


def test_open_ended_ranges(add_session):
    for created in ["2024-05-01T10:30:00Z", "2024-05-10T10:30:00Z", "2024-05-10T10:31:00Z"]:
        add_session(created)

    assert stats(window("2024-05-10T10:30:30Z", None), now=NOW)["totalSessions"] == 1
    assert stats(window(None, "2024-05-10T10:30:30Z"), now=NOW)["totalSessions"] == 2


def test_the_response_time_of_a_range_counts_sessions_created_in_it(add_session):
    old = add_session("2024-05-01T10:30:00Z", "closed")
    new = add_session("2024-05-10T10:30:00Z", "closed")
    reply(old, 600)
    reply(new, 120)

    assert stats(window("2024-05-10T00:00:00Z", None), now=NOW)["averageResponseTime"] == 2.0
    assert stats(window(None, "2024-05-10T00:00:00Z"), now=NOW)["averageResponseTime"] == 10.0


def test_a_range_that_ends_before_today_has_nothing_today(add_session):
    add_session("2024-05-14T10:00:00Z")
    add_session("2024-05-15T10:00:00Z")

    figures = stats(window("2024-05-01T00:00:00Z", "2024-05-15T00:00:00+00:00"), now=NOW)

    assert figures["totalSessions"] == 1
    assert periods(figures) == (0, 1, 1)


def test_an_empty_range_gives_zeros(add_session):
    add_session("2024-05-15T10:00:00Z", "active")

    figures = stats(window("2024-05-15T10:00:00Z", "2024-05-15T10:00:00Z"), now=NOW)

    assert totals(figures) == (0, 0, 0, 0)
    assert periods(figures) == (0, 0, 0)


def test_ranges_match_a_count_of_the_raw_rows(add_session):
    """Many sessions at random instants and many random windows, including ones that start
    or end inside an hour: each figure equals a plain count over the inserted rows."""
    rng = random.Random(20240515)
    base = at("2024-05-10T00:00:00Z")
    rows = []
    for _ in range(120):
        created = base + timedelta(seconds=rng.randrange(0, 7 * 24 * 3600))
        status = rng.choice(["pending", "active", "closed"])
        session = add_session(created, status)
        wait = rng.choice([None, rng.randrange(1, 900)])
        if wait is not None:
            reply(session, wait)
        rows.append((created, status, wait))
    now = at("2024-05-16T15:45:00Z")  # Thursday
    starts = {
        "sessionsToday": at("2024-05-16T00:00:00Z"),
        "sessionsThisWeek": at("2024-05-13T00:00:00Z"),
        "sessionsThisMonth": at("2024-05-01T00:00:00Z"),
    }

    for _ in range(25):
        lo, hi = sorted(rng.randrange(-3600, 8 * 24 * 3600) for _ in range(2))
        start, end = base + timedelta(seconds=lo), base + timedelta(seconds=hi)
        inside = [r for r in rows if start <= r[0] < end]
        waits = [r[2] for r in inside if r[2] is not None]
        expected = {
            "totalSessions": len(inside),
            "activeSessions": sum(r[1] == "active" for r in inside),
            "pendingSessions": sum(r[1] == "pending" for r in inside),
            "closedSessions": sum(r[1] == "closed" for r in inside),
            "averageResponseTime": round(sum(waits) / len(waits) / 60, 1) if waits else 0.0,
            **{name: sum(r[0] >= since for r in inside) for name, since in starts.items()},
        }
        found = shaped(chat_stats(Range(start, end), timezone="UTC", now=now))
        assert found == expected, (start, end)


# --- parsing from / to -----------------------------------------------------------------------


def test_a_date_only_to_includes_that_whole_day(add_session):
    for created in ["2024-05-14T23:59:59Z", "2024-05-15T00:00:00Z", "2024-05-15T23:59:59Z"]:
        add_session(created)
    add_session("2024-05-16T00:00:00Z")

    figures = stats(parse_date_range("2024-05-15", "2024-05-15", "UTC"), now=NOW)

    assert figures["totalSessions"] == 2


def test_date_only_bounds_are_local_days_in_the_stats_timezone(add_session):
    # May 15th in Kolkata is [2024-05-14 18:30, 2024-05-15 18:30) UTC.
    for created in ["2024-05-14T18:29:59Z", "2024-05-14T18:30:00Z", "2024-05-15T18:29:59Z"]:
        add_session(created)
    add_session("2024-05-15T18:30:00Z")

    kolkata = parse_date_range("2024-05-15", "2024-05-15", "Asia/Kolkata")

    assert kolkata == Range(at("2024-05-14T18:30:00Z"), at("2024-05-15T18:30:00Z"))
    assert stats(kolkata, now=NOW, timezone="Asia/Kolkata")["totalSessions"] == 2


def test_date_times_keep_their_offset_and_naive_ones_use_the_stats_timezone():
    assert parse_date_range("2024-05-15T10:00:00+05:30", None, "UTC").start == at(
        "2024-05-15T04:30:00Z"
    )
    assert parse_date_range("2024-05-15T10:00:00Z", None, "America/Bogota").start == at(
        "2024-05-15T10:00:00Z"
    )
    assert parse_date_range(None, "2024-05-15T10:00:00", "America/Bogota").end == at(
        "2024-05-15T15:00:00Z"
    )
    assert parse_date_range(None, None, "UTC") == Range()
    assert parse_date_range("", "", "UTC") == Range()


@pytest.mark.parametrize(
    ("date_from", "date_to", "field"),
    [
        ("yesterday", None, "from"),
        ("2024-13-01", None, "from"),
        ("2024-05-15T25:00:00Z", None, "from"),
        (None, "15/05/2024", "to"),
        (None, "2024-02-30", "to"),
        (None, "9999-12-31", "to"),  # the day after is beyond any representable date
        ("2024-05-16", "2024-05-15", "from"),  # from > to
        ("2024-05-15T10:00:01Z", "2024-05-15T10:00:00Z", "from"),
    ],
)
def test_malformed_or_reversed_ranges_are_rejected(date_from, date_to, field):
    with pytest.raises(ValidationFailed) as raised:
        parse_date_range(date_from, date_to, "UTC")

    assert field in raised.value.errors


def test_from_equal_to_is_allowed():
    assert parse_date_range("2024-05-15T10:00:00Z", "2024-05-15T10:00:00Z", "UTC").empty


# --- the trigger-kept counters ---------------------------------------------------------------


def session_counters_from_rows() -> set[tuple]:
    return rows(
        "SELECT date_trunc('hour', created_at, 'UTC'), status::text, priority::text, "
        "count(*) FROM chat_sessions GROUP BY 1, 2, 3"
    )


def response_counters() -> set[tuple]:
    return rows(
        "SELECT bucket, responses, round(response_seconds::numeric, 3) "
        "FROM response_stats_hourly WHERE responses <> 0"
    )


def response_counters_from_rows() -> set[tuple]:
    return rows(
        "SELECT date_trunc('hour', s.created_at, 'UTC'), count(*), "
        "round(sum(m.response_seconds)::numeric, 3) "
        "FROM chat_messages m JOIN chat_sessions s ON s.id = m.session_id "
        "WHERE m.response_seconds IS NOT NULL GROUP BY 1"
    )


def assert_counters_match_rows() -> None:
    assert session_counters() == session_counters_from_rows()
    assert response_counters() == response_counters_from_rows()


def test_hourly_counters_equal_a_group_by_after_mixed_changes(add_session):
    rng = random.Random(7)
    base = at("2024-05-15T00:00:00Z")
    sessions = []
    for i in range(40):
        created = base + timedelta(minutes=rng.randrange(0, 6 * 60))
        status = rng.choice(["pending", "active", "closed"])
        sessions.append(add_session(created, status, rng.choice(["low", "medium", "high"])))
        if i % 3 == 0:
            reply(sessions[-1], rng.randrange(5, 600) + 0.25)
    assert_counters_match_rows()

    for session in rng.sample(sessions, 15):  # status and priority changes
        session.status = SessionStatus(rng.choice(["pending", "active", "closed"]))
        session.priority = rng.choice(["low", "medium", "high"])
    db.session.commit()
    assert_counters_match_rows()

    for session in rng.sample(sessions, 5):  # a session moved to another hour
        session.created_at += timedelta(hours=rng.choice([-3, 2, 5]), minutes=17)
    db.session.commit()
    assert_counters_match_rows()

    db.session.execute(  # one set-based update of many rows
        update(ChatSession)
        .where(ChatSession.status == SessionStatus.ACTIVE)
        .values(status=SessionStatus.CLOSED)
    )
    db.session.commit()
    assert_counters_match_rows()

    for session in sessions[:4]:  # deleting sessions deletes their replies too
        db.session.delete(session)
    db.session.commit()
    assert_counters_match_rows()

    db.session.execute(delete(ChatMessage).where(ChatMessage.session_id == sessions[6].id))
    db.session.commit()
    assert_counters_match_rows()

    db.session.execute(
        update(ChatMessage)
        .where(ChatMessage.session_id == sessions[9].id)
        .values(response_seconds=ChatMessage.response_seconds + 30)
    )
    db.session.commit()
    assert_counters_match_rows()

    db.session.execute(delete(ChatSession).where(ChatSession.status == SessionStatus.PENDING))
    db.session.commit()
    assert_counters_match_rows()


def test_counters_use_utc_hours_whatever_the_connection_time_zone(owner):
    db.session.execute(text("SET LOCAL TIME ZONE 'Asia/Kolkata'"))
    for created in ["2024-05-15T00:10:00Z", "2024-05-15T05:45:00+05:30"]:  # both 00:xx UTC
        db.session.add(ChatSession(user_id=owner, created_at=at(created)))
    db.session.flush()

    assert session_counters() == {(at("2024-05-15T00:00:00Z"), "pending", "medium", 2)}
    db.session.rollback()


def test_periods_starting_inside_an_hour_count_exactly(add_session):
    # In Kolkata, 15 May starts at 2024-05-14 18:30 UTC: the UTC hour 18:00 holds sessions of
    # both days, so that hour is counted from raw rows.
    add_session("2024-05-14T18:10:00Z")
    add_session("2024-05-14T18:40:00Z")
    add_session("2024-05-15T09:00:00Z")

    figures = stats(now=NOW, timezone="Asia/Kolkata")

    assert figures["totalSessions"] == 3
    assert figures["sessionsToday"] == 2
    assert figures["sessionsThisWeek"] == 3

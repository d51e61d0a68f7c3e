"""Dashboard figures (GET /api/chat/stats) from trigger-kept hourly counters.

Whole UTC hours inside the asked range are read from `session_stats_hourly` and
`response_stats_hourly`; only the partial hours at the edges of a range are counted from raw
rows (through the created_at index), so the answer is exact for any range and its cost does not
grow with the number of sessions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, false, func, literal, or_, select, union_all

from supportapp.extensions import db
from supportapp.models import (
    ChatMessage,
    ChatSession,
    ResponseStatsHourly,
    SessionStatsHourly,
    SessionStatus,
)

HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class Range:
    """[start, end) in UTC; None means unbounded on that side."""

    start: datetime | None = None
    end: datetime | None = None

    def since(self, moment: datetime) -> Range:
        start = moment if self.start is None else max(self.start, moment)
        return Range(start, self.end)

    @property
    def empty(self) -> bool:
        return self.start is not None and self.end is not None and self.start >= self.end


def _ceil_hour(moment: datetime) -> datetime:
    floor = moment.replace(minute=0, second=0, microsecond=0)
    return floor if floor == moment else floor + HOUR


def _floor_hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def split_into_buckets(window: Range):
    """Whole-hour bucket bounds, and the raw created_at condition for the partial edges."""
    bucket_lo = _ceil_hour(window.start) if window.start else None
    bucket_hi = _floor_hour(window.end) if window.end else None
    if bucket_lo and bucket_hi and bucket_lo >= bucket_hi:
        # Range inside one or two partial hours: count it all from raw rows.
        return (
            None,
            None,
            and_(ChatSession.created_at >= window.start, ChatSession.created_at < window.end),
        )
    edges = []
    if window.start and bucket_lo != window.start:
        edges.append(
            and_(ChatSession.created_at >= window.start, ChatSession.created_at < bucket_lo)
        )
    if window.end and bucket_hi != window.end:
        edges.append(and_(ChatSession.created_at >= bucket_hi, ChatSession.created_at < window.end))
    return bucket_lo or datetime.min.replace(tzinfo=UTC), bucket_hi, or_(false(), *edges)


def created_counts(window: Range, bucket_key: ColumnElement, raw_key: ColumnElement) -> dict:
    """Sessions created in `window`, counted by a key: `bucket_key` is the key computed from a
    `session_stats_hourly` row (for the whole hours), `raw_key` the same key computed from a
    `chat_sessions` row (for the partial hours at the edges). Keys without sessions are left
    out."""
    if window.empty:
        return {}
    bucket_lo, bucket_hi, edge = split_into_buckets(window)
    parts = [select(raw_key.label("key"), literal(1).label("n")).where(edge)]
    if bucket_lo is not None:
        buckets = select(bucket_key.label("key"), SessionStatsHourly.sessions.label("n")).where(
            SessionStatsHourly.bucket >= bucket_lo
        )
        if bucket_hi is not None:
            buckets = buckets.where(SessionStatsHourly.bucket < bucket_hi)
        parts.append(buckets)
    rows = union_all(*parts).subquery()
    total = func.sum(rows.c.n)
    return {
        key: int(n)
        for key, n in db.session.execute(
            select(rows.c.key, total).group_by(rows.c.key).having(total > 0)
        )
    }


def sessions_by_status(window: Range) -> dict[SessionStatus, int]:
    counts = dict.fromkeys(SessionStatus, 0)
    found = created_counts(window, SessionStatsHourly.status, ChatSession.status)
    for status, n in found.items():
        counts[SessionStatus(status)] = n
    return counts


def sessions_created(window: Range) -> int:
    return sum(sessions_by_status(window).values())


def response_totals(window: Range) -> tuple[int, float]:
    """(number of replies that ended a wait, their summed wait in seconds)."""
    if window.empty:
        return 0, 0.0
    bucket_lo, bucket_hi, edge = split_into_buckets(window)
    responses, seconds = 0, 0.0
    if bucket_lo is not None:
        query = select(
            func.coalesce(func.sum(ResponseStatsHourly.responses), 0),
            func.coalesce(func.sum(ResponseStatsHourly.response_seconds), 0.0),
        ).where(ResponseStatsHourly.bucket >= bucket_lo)
        if bucket_hi is not None:
            query = query.where(ResponseStatsHourly.bucket < bucket_hi)
        count, total = db.session.execute(query).one()
        responses, seconds = int(count), float(total)
    count, total = db.session.execute(
        select(
            func.count(ChatMessage.id), func.coalesce(func.sum(ChatMessage.response_seconds), 0.0)
        )
        .join(ChatSession, ChatSession.id == ChatMessage.session_id)
        .where(edge, ChatMessage.response_seconds.is_not(None))
    ).one()
    return responses + int(count), seconds + float(total)


def period_starts(now: datetime, timezone: str) -> dict[str, datetime]:
    """Start of today, of the ISO week (Monday) and of the month in `timezone`, as UTC."""
    local = now.astimezone(ZoneInfo(timezone))
    day = local.replace(hour=0, minute=0, second=0, microsecond=0)
    week = day - timedelta(days=day.weekday())
    month = day.replace(day=1)
    return {
        name: _local_midnight(value, timezone).astimezone(UTC)
        for name, value in {"today": day, "week": week, "month": month}.items()
    }


def _local_midnight(value: datetime, timezone: str) -> datetime:
    # Rebuild from the wall-clock date so DST changes between now and then are respected.
    return datetime(value.year, value.month, value.day, tzinfo=ZoneInfo(timezone))


def chat_stats(window: Range, *, timezone: str, now: datetime | None = None) -> dict:
    """SPEC's eight figures, each restricted to sessions created inside `window`."""
    now = now or datetime.now(UTC)
    by_status = sessions_by_status(window)
    responses, seconds = response_totals(window)
    starts = period_starts(now, timezone)
    return {
        "totalSessions": sum(by_status.values()),
        "activeSessions": by_status[SessionStatus.ACTIVE],
        "pendingSessions": by_status[SessionStatus.PENDING],
        "closedSessions": by_status[SessionStatus.CLOSED],
        "averageResponseTime": round(seconds / responses / 60, 1) if responses else 0.0,
        "sessionsToday": sessions_created(window.since(starts["today"])),
        "sessionsThisWeek": sessions_created(window.since(starts["week"])),
        "sessionsThisMonth": sessions_created(window.since(starts["month"])),
    }

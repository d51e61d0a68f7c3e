"""Dashboard figures (GET /api/chat/stats) from trigger-kept hourly counters.

Whole UTC hours inside the asked range are read from `session_stats_hourly` and
`response_stats_hourly`; only the partial hours at the edges of a range are counted from raw
rows (through the created_at index), so the answer is exact for any range and its cost does not
grow with the number of sessions.
"""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    and_,
    bindparam,
    cast,
    false,
    func,
    literal,
    or_,
    select,
    union_all,
)

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

    def __post_init__(self) -> None:
        # Offsets PostgreSQL cannot parse (Python allows up to ±23:59) never reach SQL.
        for name in ("start", "end"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, _to_utc(value))

    def since(self, moment: datetime) -> Range:
        start = moment if self.start is None else max(self.start, moment)
        return Range(start, self.end)

    @property
    def empty(self) -> bool:
        return self.start is not None and self.end is not None and self.start >= self.end


FIRST_HOUR = datetime.min.replace(tzinfo=UTC)
LAST_HOUR = datetime.max.replace(minute=0, second=0, microsecond=0, tzinfo=UTC)


def _to_utc(moment: datetime) -> datetime:
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        return FIRST_HOUR if moment.year == 1 else datetime.max.replace(tzinfo=UTC)


def _ceil_hour(moment: datetime) -> datetime:
    floor = _floor_hour(moment)
    return floor if floor in (moment, LAST_HOUR) else floor + HOUR


def _floor_hour(moment: datetime) -> datetime:
    """The UTC hour `moment` falls in (buckets are UTC hours, whatever zone `moment` is in);
    moments beyond what a UTC datetime can hold (year 1 at +14:00) clamp to the ends."""
    return _to_utc(moment).replace(minute=0, second=0, microsecond=0)


def split_into_buckets(
    window: Range,
) -> tuple[datetime | None, datetime | None, list[tuple[datetime, datetime]]]:
    """Whole-hour bucket bounds [lo, hi) (hi None: unbounded; both None: no whole hour, the
    window lies inside one or two partial hours) and the [lo, hi) stretches of created_at
    counted from raw rows: the partial hours at the edges."""
    bucket_lo = _ceil_hour(window.start) if window.start else None
    bucket_hi = _floor_hour(window.end) if window.end else None
    if bucket_lo and bucket_hi and bucket_lo >= bucket_hi:
        return None, None, [(window.start, window.end)]
    edges = []
    if window.start and bucket_lo != window.start:
        edges.append((window.start, bucket_lo))
    if window.end and bucket_hi != window.end:
        edges.append((bucket_hi, window.end))
    return bucket_lo or FIRST_HOUR, bucket_hi, edges


def created_counts(window: Range, bucket_key: ColumnElement, raw_key: ColumnElement) -> dict:
    """Sessions created in `window`, counted by a key: `bucket_key` is the key computed from a
    `session_stats_hourly` row (for the whole hours), `raw_key` the same key computed from a
    `chat_sessions` row (for the partial hours at the edges). Keys without sessions are left
    out."""
    if window.empty:
        return {}
    bucket_lo, bucket_hi, edges = split_into_buckets(window)
    edge = or_(
        false(),
        *(and_(ChatSession.created_at >= lo, ChatSession.created_at < hi) for lo, hi in edges),
    )
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


@dataclass(frozen=True)
class ChatStats:
    """The dashboard figures of the sessions created in a window."""

    total_sessions: int
    active_sessions: int
    pending_sessions: int
    closed_sessions: int
    average_response_time: float  # minutes, one decimal; 0.0 without responses
    sessions_today: int
    sessions_this_week: int
    sessions_this_month: int


def chat_stats(
    window: Range, *, timezone: str, now: datetime | None = None, team_id: uuid.UUID | None = None
) -> ChatStats:
    """The dashboard's eight figures, each restricted to sessions created inside `window`, in one
    statement: the hourly counters of the whole hours, raw rows for the partial hours at the
    edges and for an hour in which today/week/month starts (zones with half-hour offsets), so
    every figure is exact and the period counts are FILTERs over the same rows. For one team
    (`team_id`) the counters do not apply: its sessions are counted through their
    (team_id, created_at) index."""
    now = now or datetime.now(UTC)
    starts = period_starts(now, timezone)
    figures = {"total": 0, "today": 0, "week": 0, "month": 0}
    by_status = {status: dict(figures) for status in SessionStatus}
    responses, seconds = 0, 0.0
    if not window.empty:
        if team_id is not None:
            statement, params = _team_stats_query(window, starts, team_id)
        else:
            statement, params = _stats_query(window, starts)
        for row in db.session.execute(statement, params):
            if row.status is None:
                responses, seconds = int(row.responses or 0), float(row.seconds or 0.0)
            else:
                by_status[SessionStatus(row.status)] = {
                    key: int(row[i + 1] or 0) for i, key in enumerate(figures)
                }
    total = {key: sum(counts[key] for counts in by_status.values()) for key in figures}
    return ChatStats(
        total_sessions=total["total"],
        active_sessions=by_status[SessionStatus.ACTIVE]["total"],
        pending_sessions=by_status[SessionStatus.PENDING]["total"],
        closed_sessions=by_status[SessionStatus.CLOSED]["total"],
        average_response_time=round(seconds / responses / 60, 1) if responses else 0.0,
        sessions_today=total["today"],
        sessions_this_week=total["week"],
        sessions_this_month=total["month"],
    )


def _team_stats_query(
    window: Range, starts: dict[str, datetime], team_id: uuid.UUID
) -> tuple[Select, dict]:
    """The same rows as _stats_query (per status: total, today, week, month; then a row with a
    null status holding responses and their seconds), from one team's sessions."""
    created = [ChatSession.team_id == team_id]
    if window.start is not None:
        created.append(ChatSession.created_at >= window.start)
    if window.end is not None:
        created.append(ChatSession.created_at < window.end)
    by_status = (
        select(
            cast(ChatSession.status, String).label("status"),
            func.count().label("total"),
            func.count().filter(ChatSession.created_at >= starts["today"]).label("today"),
            func.count().filter(ChatSession.created_at >= starts["week"]).label("week"),
            func.count().filter(ChatSession.created_at >= starts["month"]).label("month"),
            literal(None).label("responses"),
            literal(None).label("seconds"),
        )
        .where(*created)
        .group_by(ChatSession.status)
    )
    responses = (
        select(
            literal(None, String),
            literal(0),
            literal(0),
            literal(0),
            literal(0),
            func.count(ChatMessage.id),
            func.sum(ChatMessage.response_seconds),
        )
        .select_from(ChatMessage)
        .join(ChatSession, ChatSession.id == ChatMessage.session_id)
        .where(*created, ChatMessage.response_seconds.is_not(None))
    )
    return union_all(by_status, responses), {}


def _stats_query(window: Range, starts: dict[str, datetime]) -> tuple[Select, dict]:
    """The statement for this window's shape (built once per shape) and its parameters."""
    bucket_lo, bucket_hi, raw = split_into_buckets(window)
    # Whole hours of the window in which a period starts (only in half-hour-offset zones):
    # read raw, so "created since the start" is exact for every remaining bucket.
    split_hours = sorted(
        {
            _floor_hour(start)
            for start in starts.values()
            if start != _floor_hour(start)
            and bucket_lo is not None
            and start >= bucket_lo
            and (bucket_hi is None or start < bucket_hi)
        }
    )
    raw += [(hour, hour + HOUR) for hour in split_hours]
    params: dict = {**starts, "bucket_lo": bucket_lo, "bucket_hi": bucket_hi}
    for index, (lo, hi) in enumerate(raw):
        params[f"raw_lo_{index}"], params[f"raw_hi_{index}"] = lo, hi
    for index, hour in enumerate(split_hours):
        params[f"split_{index}"] = hour
    shape = (len(raw), len(split_hours), bucket_lo is not None, bucket_hi is not None)
    return _stats_statement(*shape), params


@functools.lru_cache(maxsize=64)
def _stats_statement(raw_ranges: int, split_hours: int, has_lo: bool, has_hi: bool) -> Select:
    raw = or_(
        false(),
        *(
            and_(
                ChatSession.created_at >= bindparam(f"raw_lo_{i}"),
                ChatSession.created_at < bindparam(f"raw_hi_{i}"),
            )
            for i in range(raw_ranges)
        ),
    )
    none = literal(None, String)
    parts = [
        select(
            cast(ChatSession.status, String).label("status"),
            ChatSession.created_at.label("at"),
            literal(1).label("n"),
            literal(0).label("responses"),
            literal(0.0).label("seconds"),
        ).where(raw),
        select(none, ChatSession.created_at, literal(0), literal(1), ChatMessage.response_seconds)
        .join(ChatSession, ChatSession.id == ChatMessage.session_id)
        .where(raw, ChatMessage.response_seconds.is_not(None)),
    ]
    if has_lo:
        split = [bindparam(f"split_{i}") for i in range(split_hours)]

        def whole_hours(bucket: ColumnElement) -> list[ColumnElement]:
            found = [bucket >= bindparam("bucket_lo")]
            if has_hi:
                found.append(bucket < bindparam("bucket_hi"))
            if split:
                found.append(bucket.not_in(split))
            return found

        parts.append(
            select(
                cast(SessionStatsHourly.status, String),
                SessionStatsHourly.bucket,
                SessionStatsHourly.sessions,
                literal(0),
                literal(0.0),
            ).where(*whole_hours(SessionStatsHourly.bucket))
        )
        parts.append(
            select(
                none,
                ResponseStatsHourly.bucket,
                literal(0),
                ResponseStatsHourly.responses,
                ResponseStatsHourly.response_seconds,
            ).where(*whole_hours(ResponseStatsHourly.bucket))
        )
    rows = union_all(*parts).subquery()
    n = rows.c.n
    return select(
        rows.c.status,
        func.sum(n),
        func.sum(n).filter(rows.c.at >= bindparam("today")),
        func.sum(n).filter(rows.c.at >= bindparam("week")),
        func.sum(n).filter(rows.c.at >= bindparam("month")),
        func.sum(rows.c.responses).label("responses"),
        func.sum(rows.c.seconds).label("seconds"),
    ).group_by(rows.c.status)

"""Performance figures: per agent (GET /api/support/agents/…/metrics) and for the whole team
(`advanced` in GET /api/chat/stats). Definitions: docs/metrics.md.

One range rule for every figure, as in the dashboard stats: only sessions *created* in
[from, to) count, together with their messages and ratings. Each figure is one set-based query
grouped by agent (never a query per agent); medians and 90th percentiles are PostgreSQL's
`percentile_cont` (linear interpolation) over the raw values.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    extract,
    func,
    literal,
    select,
    true,
    union_all,
)

from supportapp.auth.actor import Actor
from supportapp.errors import Forbidden
from supportapp.extensions import db
from supportapp.models import (
    ChatMessage,
    ChatSession,
    Priority,
    Sender,
    SessionRating,
    SessionStatsHourly,
    SessionStatus,
    SupportAgent,
)
from supportapp.services.agents import get_agent
from supportapp.services.stats import Range, split_into_buckets

TIME_FIGURES = ("firstResponseTime", "responseTime", "resolutionTime")
COUNT_FIGURES = ("chatsHandled", "activeChats", "closedChats", "messagesSent")
RATING_FIGURES = ("averageRating", "ratingsCount", "csat")
FIGURES = COUNT_FIGURES + TIME_FIGURES + RATING_FIGURES
STATISTICS = ("average", "median", "p90")
# sortBy values: every figure; a time figure sorts by its average, `firstResponseTime.p90` by
# that statistic; `name` sorts by the agent's name.
SORT_KEYS = (
    *FIGURES,
    *(f"{figure}.{statistic}" for figure in TIME_FIGURES for statistic in STATISTICS),
    "name",
)
SATISFIED_SCORE = 4


# --- shared pieces -----------------------------------------------------------------------------


def created_in(window: Range) -> ColumnElement[bool]:
    """The range rule: the session was created in [start, end)."""
    conditions = []
    if window.start is not None:
        conditions.append(ChatSession.created_at >= window.start)
    if window.end is not None:
        conditions.append(ChatSession.created_at < window.end)
    return and_(true(), *conditions)


def _bounded(window: Range) -> bool:
    return window.start is not None or window.end is not None


def _distribution(value: ColumnElement, prefix: str) -> list[ColumnElement]:
    """average, median and p90 of `value` (NULLs ignored), labelled `<prefix>_<statistic>`."""
    return [
        func.avg(value).label(f"{prefix}_average"),
        func.percentile_cont(0.5).within_group(value).label(f"{prefix}_median"),
        func.percentile_cont(0.9).within_group(value).label(f"{prefix}_p90"),
    ]


def _resolution_seconds() -> ColumnElement:
    """Creation to close, in seconds, for closed sessions (NULL otherwise)."""
    return case(
        (
            and_(ChatSession.status == SessionStatus.CLOSED, ChatSession.closed_at.is_not(None)),
            extract("epoch", ChatSession.closed_at - ChatSession.created_at),
        )
    )


def _minutes(seconds: Any) -> float | None:
    return None if seconds is None else round(float(seconds) / 60, 1)


def _time_figure(row: Any, prefix: str) -> dict[str, float | None]:
    return {statistic: _minutes(getattr(row, f"{prefix}_{statistic}")) for statistic in STATISTICS}


def _rating_figures(count: Any, average: Any, satisfied: Any) -> dict[str, Any]:
    count = int(count or 0)
    return {
        "averageRating": round(float(average), 2) if count else None,
        "ratingsCount": count,
        "csat": round(100 * int(satisfied or 0) / count, 1) if count else None,
    }


def _session_figures(window: Range, agent_id: uuid.UUID | None) -> Select:
    """Per agent: sessions currently assigned to them (active or closed), and resolution."""
    query = select(
        ChatSession.support_agent_id.label("agent_id"),
        func.count().label("chats_handled"),
        func.count().filter(ChatSession.status == SessionStatus.ACTIVE).label("active_chats"),
        func.count().filter(ChatSession.status == SessionStatus.CLOSED).label("closed_chats"),
        *_distribution(_resolution_seconds(), "resolution"),
    ).where(ChatSession.support_agent_id.is_not(None), created_in(window))
    if agent_id is not None:
        query = query.where(ChatSession.support_agent_id == agent_id)
    return query.group_by(ChatSession.support_agent_id)


def _message_figures(window: Range, agent_id: uuid.UUID | None) -> Select:
    """Per sending agent: messages sent, first responses and responses."""
    query = select(
        ChatMessage.agent_id.label("agent_id"),
        func.count().label("messages_sent"),
        *_distribution(ChatMessage.first_response_seconds, "first_response"),
        *_distribution(ChatMessage.response_seconds, "response"),
    ).where(ChatMessage.agent_id.is_not(None), ChatMessage.sender == Sender.SUPPORT)
    if _bounded(window):
        query = query.join(ChatSession, ChatSession.id == ChatMessage.session_id).where(
            created_in(window)
        )
    if agent_id is not None:
        query = query.where(ChatMessage.agent_id == agent_id)
    return query.group_by(ChatMessage.agent_id)


def _rating_query(window: Range, *columns: ColumnElement) -> Select:
    query = select(
        *columns,
        func.count().label("ratings_count"),
        func.avg(SessionRating.score).label("average_rating"),
        func.count().filter(SessionRating.score >= SATISFIED_SCORE).label("satisfied"),
    )
    if _bounded(window):
        query = query.join(ChatSession, ChatSession.id == SessionRating.session_id).where(
            created_in(window)
        )
    return query


def _rating_figures_by_agent(window: Range, agent_id: uuid.UUID | None) -> Select:
    query = _rating_query(window, SessionRating.agent_id.label("agent_id")).where(
        SessionRating.agent_id.is_not(None)
    )
    if agent_id is not None:
        query = query.where(SessionRating.agent_id == agent_id)
    return query.group_by(SessionRating.agent_id)


# --- per agent ---------------------------------------------------------------------------------


def agent_metrics(window: Range, agent_id: uuid.UUID | None = None) -> list[dict[str, Any]]:
    """Every agent's figures (or one agent's), in a single statement: the agents left-joined
    to three aggregates grouped by agent (sessions, messages, ratings). Agents with nothing in
    the range get zero counts and null times/ratings."""
    sessions = _session_figures(window, agent_id).subquery("session_figures")
    messages = _message_figures(window, agent_id).subquery("message_figures")
    ratings = _rating_figures_by_agent(window, agent_id).subquery("rating_figures")
    query = (
        select(
            SupportAgent.id,
            SupportAgent.name,
            SupportAgent.email,
            SupportAgent.is_active,
            *_figures_of(sessions),
            *_figures_of(messages),
            *_figures_of(ratings),
        )
        .outerjoin(sessions, sessions.c.agent_id == SupportAgent.id)
        .outerjoin(messages, messages.c.agent_id == SupportAgent.id)
        .outerjoin(ratings, ratings.c.agent_id == SupportAgent.id)
        .order_by(SupportAgent.name, SupportAgent.id)
    )
    if agent_id is not None:
        query = query.where(SupportAgent.id == agent_id)
    return [_agent_row(row) for row in db.session.execute(query)]


def metrics_for_agent(actor: Actor, agent_id: uuid.UUID, window: Range) -> dict[str, Any]:
    """One agent's figures: admins may read any agent's, a support user only their own (403);
    an unknown agent is a 404."""
    agent = get_agent(agent_id)
    if not actor.is_admin and agent.user_id != actor.user_id:
        raise Forbidden()
    return agent_metrics(window, agent.id)[0]


def _figures_of(subquery) -> list[ColumnElement]:
    return [column for column in subquery.c if column.name != "agent_id"]


def _agent_row(row: Any) -> dict[str, Any]:
    return {
        "agentId": str(row.id),
        "name": row.name,
        "email": row.email,
        "isActive": row.is_active,
        "chatsHandled": int(row.chats_handled or 0),
        "activeChats": int(row.active_chats or 0),
        "closedChats": int(row.closed_chats or 0),
        "messagesSent": int(row.messages_sent or 0),
        "firstResponseTime": _time_figure(row, "first_response"),
        "responseTime": _time_figure(row, "response"),
        "resolutionTime": _time_figure(row, "resolution"),
        **_rating_figures(row.ratings_count, row.average_rating, row.satisfied),
    }


def sort_metrics(
    rows: list[dict[str, Any]], sort_by: str = "chatsHandled", sort_order: str = "desc"
) -> list[dict[str, Any]]:
    """Sort by a figure (see SORT_KEYS); agents without a value (null) go last either way,
    ties keep name order."""
    figure, _, statistic = sort_by.partition(".")
    if figure in TIME_FIGURES:
        statistic = statistic or "average"

    def value(row: dict[str, Any]) -> Any:
        found = row[figure]
        if figure == "name":
            return found.casefold()
        return found[statistic] if isinstance(found, dict) else found

    ordered = sorted(rows, key=lambda row: (row["name"].casefold(), row["agentId"]))
    present = [row for row in ordered if value(row) is not None]
    missing = [row for row in ordered if value(row) is None]
    present.sort(key=value, reverse=sort_order == "desc")
    return present + missing


# --- the whole team ----------------------------------------------------------------------------


def team_metrics(window: Range, *, timezone: str) -> dict[str, Any]:
    """`advanced` of GET /api/chat/stats: the same definitions as the per-agent figures over
    every session created in the range, whoever handled it."""
    times = db.session.execute(_team_response_times(window)).one()
    resolution = db.session.execute(
        select(*_distribution(_resolution_seconds(), "resolution")).where(
            ChatSession.status == SessionStatus.CLOSED, created_in(window)
        )
    ).one()
    ratings = db.session.execute(_rating_query(window)).one()
    return {
        "firstResponseTime": _time_figure(times, "first_response"),
        "responseTime": _time_figure(times, "response"),
        "resolutionTime": _time_figure(resolution, "resolution"),
        **_rating_figures(ratings.ratings_count, ratings.average_rating, ratings.satisfied),
        "byPriority": sessions_by_priority(window),
        "busiestHours": busiest_hours(window, timezone),
    }


def _team_response_times(window: Range) -> Select:
    query = select(
        *_distribution(ChatMessage.first_response_seconds, "first_response"),
        *_distribution(ChatMessage.response_seconds, "response"),
    ).where(
        ChatMessage.sender == Sender.SUPPORT,
        (ChatMessage.first_response_seconds.is_not(None))
        | (ChatMessage.response_seconds.is_not(None)),
    )
    if _bounded(window):
        query = query.join(ChatSession, ChatSession.id == ChatMessage.session_id).where(
            created_in(window)
        )
    return query


def sessions_by_priority(window: Range) -> dict[str, int]:
    """Sessions created in the range by their current priority, from the hourly counters (raw
    rows only for the partial hours at the edges, as the dashboard stats do)."""
    counts = {priority.value: 0 for priority in (Priority.LOW, Priority.MEDIUM, Priority.HIGH)}
    if window.empty:
        return counts
    bucket_lo, bucket_hi, edge = split_into_buckets(window)
    parts = [select(ChatSession.priority.label("priority"), literal(1).label("n")).where(edge)]
    if bucket_lo is not None:
        buckets = select(
            SessionStatsHourly.priority.label("priority"), SessionStatsHourly.sessions.label("n")
        ).where(SessionStatsHourly.bucket >= bucket_lo)
        if bucket_hi is not None:
            buckets = buckets.where(SessionStatsHourly.bucket < bucket_hi)
        parts.append(buckets)
    rows = union_all(*parts).subquery()
    for priority, total in db.session.execute(
        select(rows.c.priority, func.sum(rows.c.n)).group_by(rows.c.priority)
    ):
        counts[Priority(priority).value] = int(total)
    return counts


def busiest_hours(window: Range, timezone: str) -> list[dict[str, int]]:
    """Sessions created in the range by hour of the day (0–23) in `timezone`, busiest first
    (ties: earlier hour first); hours without sessions are left out."""
    if window.empty:
        return []
    hour = extract("hour", func.timezone(timezone, ChatSession.created_at)).label("hour")
    sessions = func.count().label("sessions")
    rows = db.session.execute(
        select(hour, sessions).where(created_in(window)).group_by(hour).order_by(sessions.desc())
    )
    found = [{"hour": int(row.hour), "sessions": int(row.sessions)} for row in rows]
    return sorted(found, key=lambda item: (-item["sessions"], item["hour"]))

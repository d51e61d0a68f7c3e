"""Performance figures: per agent (GET /api/support/agents/…/metrics) and for the whole team
(`advanced` in GET /api/chat/stats). Definitions: docs/metrics.md.

One range rule for every figure, as in the dashboard stats: only sessions *created* in
[from, to) count, together with their messages and ratings.

Where the numbers come from (analytics/windows.py): counts, sums, averages and ratings from the
daily rollups of the whole UTC days inside the range plus raw rows for the rest (the partial
days at the edges, today, days not rolled up yet); so their cost follows the number of days,
not of sessions. Medians and 90th percentiles are exact (PostgreSQL's `percentile_cont` over
the raw values) while the range holds at most METRICS_EXACT_UP_TO time values; above that they
are read from the daily log-scale histograms (analytics/histograms.py: within 2 % of
1 s + the exact value).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import (
    ColumnElement,
    Integer,
    and_,
    case,
    cast,
    extract,
    func,
    select,
    true,
    union_all,
)

from supportapp.analytics import windows
from supportapp.analytics.histograms import Figure
from supportapp.analytics.sla import SlaMet, sla_met
from supportapp.analytics.stats import Range, created_counts
from supportapp.analytics.windows import Totals
from supportapp.auth.actor import Actor
from supportapp.errors import Forbidden
from supportapp.extensions import db
from supportapp.models import (
    OVERALL,
    ChatMessage,
    ChatSession,
    Priority,
    Sender,
    SessionStatsHourly,
    SessionStatus,
    SupportAgent,
)
from supportapp.services.agents import get_agent

# The figure of each time, and its count and seconds columns in windows.Totals.
TIMES = {
    "first_response_time": (Figure.FIRST_RESPONSE, "first_responses", "first_response_seconds"),
    "response_time": (Figure.RESPONSE, "responses", "response_seconds"),
    "resolution_time": (Figure.RESOLUTION, "resolutions", "resolution_seconds"),
}
TIME_FIGURES = tuple(TIMES)
COUNT_FIGURES = ("chats_handled", "active_chats", "closed_chats", "messages_sent")
RATING_FIGURES = ("average_rating", "ratings_count", "csat")
FIGURES = COUNT_FIGURES + TIME_FIGURES + RATING_FIGURES
STATISTICS = ("average", "median", "p90")


@dataclass(frozen=True)
class TimeFigure:
    """Minutes, one decimal; None when there is no value."""

    average: float | None
    median: float | None
    p90: float | None


@dataclass(frozen=True)
class Figures:
    """The time and rating figures shared by one agent's metrics and the team's."""

    first_response_time: TimeFigure
    response_time: TimeFigure
    resolution_time: TimeFigure
    average_rating: float | None  # mean score, two decimals
    ratings_count: int
    csat: float | None  # % of ratings with score >= 4, one decimal
    sla_met: SlaMet  # share of the sessions that met each SLA target (analytics/sla.py)


@dataclass(frozen=True)
class AgentMetrics(Figures):
    agent_id: uuid.UUID
    name: str
    email: str
    is_active: bool
    chats_handled: int
    active_chats: int
    closed_chats: int
    messages_sent: int


@dataclass(frozen=True)
class BusyHour:
    hour: int  # 0-23 in the stats time zone
    sessions: int


@dataclass(frozen=True)
class TeamMetrics(Figures):
    by_priority: dict[str, int]  # low / medium / high
    busiest_hours: list[BusyHour]  # hours with sessions, busiest first


# (median, p90) of each figure, by agent id (or OVERALL).
Percentiles = dict[uuid.UUID, dict[Figure, tuple[float | None, float | None]]]


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


def _time_values(totals: Totals | None) -> int:
    if totals is None:
        return 0
    return sum(getattr(totals, count) for _, count, _ in TIMES.values())


def _exact_limit() -> int:
    return current_app.config["METRICS_EXACT_UP_TO"]


def _minutes(seconds: Any) -> float | None:
    return None if seconds is None else round(float(seconds) / 60, 1)


def _figures_from(totals: Totals, percentiles: dict[Figure, tuple]) -> dict[str, Any]:
    """The three time figures and the rating figures of one agent (or the team), as the
    keyword arguments of a Figures."""
    found: dict[str, Any] = {}
    for name, (figure, count, seconds) in TIMES.items():
        median, p90 = percentiles.get(figure, (None, None))
        found[name] = TimeFigure(
            average=_minutes(totals.average(seconds, count)),
            median=_minutes(median),
            p90=_minutes(p90),
        )
    ratings = totals.ratings
    average_rating = totals.average("rating_sum", "ratings")
    found["average_rating"] = None if average_rating is None else round(average_rating, 2)
    found["ratings_count"] = ratings
    found["csat"] = round(100 * totals.ratings_positive / ratings, 1) if ratings else None
    return found


# --- percentiles -------------------------------------------------------------------------------


def _resolution_seconds() -> ColumnElement:
    """Creation to close, in seconds, for closed sessions (NULL otherwise)."""
    return case(
        (
            and_(ChatSession.status == SessionStatus.CLOSED, ChatSession.closed_at.is_not(None)),
            extract("epoch", ChatSession.closed_at - ChatSession.created_at),
        )
    )


def _median_p90(value: ColumnElement, figure: Figure) -> list[ColumnElement]:
    return [
        func.percentile_cont(0.5).within_group(value).label(f"median_{figure.value}"),
        func.percentile_cont(0.9).within_group(value).label(f"p90_{figure.value}"),
    ]


def _exact_percentiles(window: Range, agent_id: uuid.UUID | None) -> Percentiles:
    """Exact medians and p90s from raw rows: of one agent (`agent_id`), of every agent (None),
    or of the whole team (OVERALL). Two grouped statements, never one per agent."""
    team = agent_id == OVERALL
    sessions = select(*_median_p90(_resolution_seconds(), Figure.RESOLUTION)).where(
        ChatSession.status == SessionStatus.CLOSED, created_in(window)
    )
    replies = select(
        ChatMessage.agent_id, ChatMessage.first_response_seconds, ChatMessage.response_seconds
    ).where(
        ChatMessage.sender == Sender.SUPPORT,
        ChatMessage.first_response_seconds.is_not(None) | ChatMessage.response_seconds.is_not(None),
    )
    if not team:
        sessions = sessions.add_columns(ChatSession.support_agent_id.label("agent_id"))
        sessions = sessions.where(ChatSession.support_agent_id.is_not(None)).group_by(
            ChatSession.support_agent_id
        )
        replies = replies.where(ChatMessage.agent_id.is_not(None))
        if agent_id is not None:
            sessions = sessions.where(ChatSession.support_agent_id == agent_id)
            replies = replies.where(ChatMessage.agent_id == agent_id)
    if window.start is None and window.end is not None:
        # A reply cannot precede its session by more than the clock-skew hour (as in the raw
        # stretches of analytics/rollup_sql.py), so a reply written before end − 1 h belongs to
        # a session created before `end`: only the replies of the last hour need their session
        # (a history of replies is read without one session lookup each).
        edge = window.end - timedelta(hours=1)
        source = union_all(
            replies.where(ChatMessage.timestamp < edge),
            replies.join(ChatSession, ChatSession.id == ChatMessage.session_id).where(
                ChatMessage.timestamp >= edge, created_in(window)
            ),
        ).subquery()
    else:
        if _bounded(window):
            replies = replies.join(ChatSession, ChatSession.id == ChatMessage.session_id).where(
                created_in(window)
            )
        if window.start is not None:
            # Replies follow their session (same hour): the scan starts at the range, through
            # the BRIN on message time (team) or the agent's (agent, time) index, not at the
            # beginning of history.
            replies = replies.where(ChatMessage.timestamp >= window.start - timedelta(hours=1))
        source = replies.subquery()
    messages = select(
        *_median_p90(source.c.first_response_seconds, Figure.FIRST_RESPONSE),
        *_median_p90(source.c.response_seconds, Figure.RESPONSE),
    )
    if not team:
        messages = messages.add_columns(source.c.agent_id).group_by(source.c.agent_id)
    found: Percentiles = {}
    for query, figures in (
        (sessions, (Figure.RESOLUTION,)),
        (messages, (Figure.FIRST_RESPONSE, Figure.RESPONSE)),
    ):
        for row in db.session.execute(query):
            key = OVERALL if team else row.agent_id
            for figure in figures:
                found.setdefault(key, {})[figure] = (
                    getattr(row, f"median_{figure.value}"),
                    getattr(row, f"p90_{figure.value}"),
                )
    return found


def _percentiles(
    window: Range,
    plan: windows.WindowPlan,
    totals: windows.RangeTotals,
    agent_id: uuid.UUID | None,
    keys: list[uuid.UUID],
) -> Percentiles:
    """Exact while the values involved are few (METRICS_EXACT_UP_TO), histograms above."""
    if agent_id == OVERALL:
        values = _time_values(totals.overall)
    else:
        values = sum(_time_values(totals.agents.get(key)) for key in keys)
    if values <= _exact_limit():
        return _exact_percentiles(window, agent_id)
    return windows.plan_percentiles(plan, agent_id)


# --- per agent ---------------------------------------------------------------------------------


def agent_metrics(window: Range, agent_id: uuid.UUID | None = None) -> list[AgentMetrics]:
    """Every agent's figures (or one agent's), in name order. Agents with nothing in the range
    get zero counts and null times/ratings."""
    agents = select(
        SupportAgent.id, SupportAgent.name, SupportAgent.email, SupportAgent.is_active
    ).order_by(SupportAgent.name, SupportAgent.id)
    if agent_id is not None:
        agents = agents.where(SupportAgent.id == agent_id)
    found = db.session.execute(agents).all()
    plan = windows.plan_window(window.start, window.end)
    totals = windows.plan_totals(plan, agent_id)
    keys = [agent.id for agent in found]
    percentiles = _percentiles(window, plan, totals, agent_id, keys)
    met = sla_met(window, by_agent=True)
    return [
        _agent_row(
            agent,
            totals.agents.get(agent.id, Totals()),
            percentiles.get(agent.id, {}),
            met.get(agent.id, SlaMet()),
        )
        for agent in found
    ]


def metrics_for_agent(actor: Actor, agent_id: uuid.UUID, window: Range) -> AgentMetrics:
    """One agent's figures: admins may read any agent's, a support user only their own (403);
    an unknown agent is a 404."""
    agent = get_agent(agent_id)
    if not actor.is_admin and agent.user_id != actor.user_id:
        raise Forbidden()
    return agent_metrics(window, agent.id)[0]


def _agent_row(
    agent: Any, totals: Totals, percentiles: dict[Figure, tuple], met: SlaMet
) -> AgentMetrics:
    # Sessions with an agent are active or closed (a requeued one loses its agent).
    return AgentMetrics(
        agent_id=agent.id,
        name=agent.name,
        email=agent.email,
        is_active=agent.is_active,
        chats_handled=totals.sessions_created,
        active_chats=totals.sessions_created - totals.sessions_closed,
        closed_chats=totals.sessions_closed,
        messages_sent=totals.messages_sent,
        sla_met=met,
        **_figures_from(totals, percentiles),
    )


def sort_metrics(
    rows: list[AgentMetrics],
    figure: str = "chats_handled",
    statistic: str | None = None,
    *,
    descending: bool = True,
) -> list[AgentMetrics]:
    """Sort by a figure (one of FIGURES, or "name"); a time figure by its `statistic`
    (default: average). Agents without a value (None) go last either way; ties keep name
    order."""
    if figure in TIME_FIGURES:
        statistic = statistic or "average"

    def value(row: AgentMetrics) -> Any:
        found = getattr(row, figure)
        if figure == "name":
            return found.casefold()
        return getattr(found, statistic) if isinstance(found, TimeFigure) else found

    ordered = sorted(rows, key=lambda row: (row.name.casefold(), str(row.agent_id)))
    present = [row for row in ordered if value(row) is not None]
    missing = [row for row in ordered if value(row) is None]
    present.sort(key=value, reverse=descending)
    return present + missing


# --- the whole team ----------------------------------------------------------------------------


def team_metrics(window: Range, *, timezone: str) -> TeamMetrics:
    """`advanced` of GET /api/chat/stats: the same definitions as the per-agent figures over
    every session created in the range, whoever handled it."""
    plan = windows.plan_window(window.start, window.end)
    totals = windows.plan_totals(plan, OVERALL)
    percentiles = _percentiles(window, plan, totals, OVERALL, [OVERALL])
    return TeamMetrics(
        **_figures_from(totals.overall, percentiles.get(OVERALL, {})),
        sla_met=sla_met(window, by_agent=False).get(OVERALL, SlaMet()),
        by_priority=sessions_by_priority(window),
        busiest_hours=busiest_hours(window, timezone),
    )


def sessions_by_priority(window: Range) -> dict[str, int]:
    """Sessions created in the range by their current priority, from the hourly counters (raw
    rows only for the partial hours at the edges, as the dashboard stats do)."""
    found = created_counts(window, SessionStatsHourly.priority, ChatSession.priority)
    return {
        priority.value: found.get(priority, found.get(priority.value, 0))
        for priority in (Priority.LOW, Priority.MEDIUM, Priority.HIGH)
    }


def busiest_hours(window: Range, timezone: str) -> list[BusyHour]:
    """Sessions created in the range by hour of the day (0–23) in `timezone`, busiest first
    (ties: earlier hour first); hours without sessions are left out. Read from the hourly
    counters when every UTC hour is one local hour (whole-hour offsets); zones with
    half-hour offsets are counted from raw rows."""

    def local_hour(column: ColumnElement) -> ColumnElement:
        return cast(extract("hour", func.timezone(timezone, column)), Integer)

    if _whole_hour_offsets(timezone):
        found = created_counts(
            window, local_hour(SessionStatsHourly.bucket), local_hour(ChatSession.created_at)
        )
    else:
        hour = local_hour(ChatSession.created_at)
        query = select(hour, func.count()).where(created_in(window)).group_by(hour)
        found = {} if window.empty else dict(db.session.execute(query).all())
    hours = [BusyHour(int(hour), int(n)) for hour, n in found.items()]
    return sorted(hours, key=lambda item: (-item.sessions, item.hour))


def _whole_hour_offsets(timezone: str) -> bool:
    """Whether `timezone`'s UTC offsets (sampled over this year and the last) are whole hours."""
    zone = ZoneInfo(timezone)
    year = datetime.now(UTC).year
    return all(
        datetime(y, month, 1, tzinfo=zone).utcoffset().total_seconds() % 3600 == 0
        for y in (year - 1, year)
        for month in range(1, 13)
    )

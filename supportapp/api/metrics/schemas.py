"""Shapes of the performance figures: per agent (/api/support/agents/…/metrics) and the
`advanced` block of /api/chat/stats. Definitions: docs/metrics.md.

The analytics services return plain dataclasses (supportapp/analytics/metrics.py) with
snake_case attributes; these schemas dump them under the camelCase names of the contract
(`data_key`), and `SORT_KEYS` maps each `sortBy` value to the figure it sorts by."""

from __future__ import annotations

import marshmallow as ma

from supportapp.analytics.metrics import FIGURES, STATISTICS, TIME_FIGURES
from supportapp.api.blueprint import envelope
from supportapp.api.common import DateRangeQuerySchema, required_string

MINUTES = "Minutes, one decimal; null when there is no data"


def _nullable(description: str, data_key: str | None = None) -> ma.fields.Float:
    """A figure that is null when there is no data to compute it from."""
    return ma.fields.Float(
        data_key=data_key, allow_none=True, required=True, metadata={"description": description}
    )


class TimeFigureSchema(ma.Schema):
    average = _nullable(MINUTES)
    median = _nullable(MINUTES)
    p90 = _nullable(f"90th percentile (linear interpolation). {MINUTES}")


class SlaMetSchema(ma.Schema):
    first_response = _nullable(
        "% of decided sessions answered in time; null when none", "firstResponse"
    )
    resolution = _nullable("% of decided sessions closed in time; null when none")


class RatingFiguresSchema(ma.Schema):
    average_rating = _nullable("Mean score, two decimals", "averageRating")
    ratings_count = ma.fields.Integer(data_key="ratingsCount", required=True)
    csat = _nullable("% of ratings with score ≥ 4, one decimal; null when none")
    sla_met = ma.fields.Nested(SlaMetSchema, data_key="slaMet", required=True)


def _time_figure(name: str) -> ma.fields.Nested:
    return ma.fields.Nested(TimeFigureSchema, data_key=name, required=True)


class AgentMetricsSchema(RatingFiguresSchema):
    agent_id = ma.fields.String(data_key="agentId", required=True)
    name = required_string()
    email = required_string()
    is_active = ma.fields.Boolean(data_key="isActive", required=True)
    chats_handled = ma.fields.Integer(
        data_key="chatsHandled",
        required=True,
        metadata={"description": "Sessions assigned to the agent (active+closed)"},
    )
    active_chats = ma.fields.Integer(data_key="activeChats", required=True)
    closed_chats = ma.fields.Integer(data_key="closedChats", required=True)
    messages_sent = ma.fields.Integer(data_key="messagesSent", required=True)
    first_response_time = _time_figure("firstResponseTime")
    response_time = _time_figure("responseTime")
    resolution_time = _time_figure("resolutionTime")


class PriorityCountsSchema(ma.Schema):
    low = ma.fields.Integer(required=True)
    medium = ma.fields.Integer(required=True)
    high = ma.fields.Integer(required=True)


class BusyHourSchema(ma.Schema):
    hour = ma.fields.Integer(required=True, metadata={"description": "0–23 in STATS_TIMEZONE"})
    sessions = ma.fields.Integer(required=True)


class AdvancedStatsSchema(RatingFiguresSchema):
    first_response_time = _time_figure("firstResponseTime")
    response_time = _time_figure("responseTime")
    resolution_time = _time_figure("resolutionTime")
    by_priority = ma.fields.Nested(PriorityCountsSchema, data_key="byPriority", required=True)
    busiest_hours = ma.fields.List(
        ma.fields.Nested(BusyHourSchema),
        data_key="busiestHours",
        required=True,
        metadata={"description": "Hours with sessions, busiest first"},
    )


def _sort_keys() -> dict[str, tuple[str, str | None]]:
    """sortBy value → (figure attribute, statistic): every figure of AgentMetricsSchema under
    its contract name; a time figure sorts by its average, `firstResponseTime.p90` by that
    statistic; `name` sorts by the agent's name."""
    fields = AgentMetricsSchema().fields
    names = {attribute: field.data_key or attribute for attribute, field in fields.items()}
    keys: dict[str, tuple[str, str | None]] = {names[f]: (f, None) for f in FIGURES}
    for figure in TIME_FIGURES:
        for statistic in STATISTICS:
            keys[f"{names[figure]}.{statistic}"] = (figure, statistic)
    keys["name"] = ("name", None)
    return keys


SORT_KEYS = _sort_keys()


class MetricsQuerySchema(DateRangeQuerySchema):
    pass


class AgentsMetricsQuerySchema(MetricsQuerySchema):
    sortBy = ma.fields.String(
        load_default="chatsHandled",
        validate=ma.validate.OneOf(list(SORT_KEYS)),
        metadata={
            "description": "A figure; a time figure sorts by its average, "
            "`responseTime.median` by that statistic. Agents without a value go last."
        },
    )
    sortOrder = ma.fields.String(load_default="desc", validate=ma.validate.OneOf(["asc", "desc"]))


AgentMetricsEnvelope = envelope(AgentMetricsSchema)
AgentMetricsArrayEnvelope = envelope(AgentMetricsSchema, many=True)

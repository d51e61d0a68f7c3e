"""Shapes of the performance figures: per agent (/api/support/agents/…/metrics) and the
`advanced` block of /api/chat/stats. Definitions: docs/metrics.md."""

from __future__ import annotations

import marshmallow as ma

from supportapp.analytics.metrics import SORT_KEYS
from supportapp.api.blueprint import envelope

DATE_TIME = {"format": "date-time"}
MINUTES = "Minutes, one decimal; null when there is no data"


class TimeFigureSchema(ma.Schema):
    average = ma.fields.Float(allow_none=True, required=True, metadata={"description": MINUTES})
    median = ma.fields.Float(allow_none=True, required=True, metadata={"description": MINUTES})
    p90 = ma.fields.Float(
        allow_none=True,
        required=True,
        metadata={"description": f"90th percentile (linear interpolation). {MINUTES}"},
    )


class RatingFiguresSchema(ma.Schema):
    averageRating = ma.fields.Float(
        allow_none=True, required=True, metadata={"description": "Mean score, two decimals"}
    )
    ratingsCount = ma.fields.Integer(required=True)
    csat = ma.fields.Float(
        allow_none=True,
        required=True,
        metadata={"description": "% of ratings with score ≥ 4, one decimal; null when none"},
    )


class AgentMetricsSchema(RatingFiguresSchema):
    agentId = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    email = ma.fields.String(required=True)
    isActive = ma.fields.Boolean(required=True)
    chatsHandled = ma.fields.Integer(
        required=True, metadata={"description": "Sessions assigned to the agent (active+closed)"}
    )
    activeChats = ma.fields.Integer(required=True)
    closedChats = ma.fields.Integer(required=True)
    messagesSent = ma.fields.Integer(required=True)
    firstResponseTime = ma.fields.Nested(TimeFigureSchema, required=True)
    responseTime = ma.fields.Nested(TimeFigureSchema, required=True)
    resolutionTime = ma.fields.Nested(TimeFigureSchema, required=True)


class PriorityCountsSchema(ma.Schema):
    low = ma.fields.Integer(required=True)
    medium = ma.fields.Integer(required=True)
    high = ma.fields.Integer(required=True)


class BusyHourSchema(ma.Schema):
    hour = ma.fields.Integer(required=True, metadata={"description": "0–23 in STATS_TIMEZONE"})
    sessions = ma.fields.Integer(required=True)


class AdvancedStatsSchema(RatingFiguresSchema):
    firstResponseTime = ma.fields.Nested(TimeFigureSchema, required=True)
    responseTime = ma.fields.Nested(TimeFigureSchema, required=True)
    resolutionTime = ma.fields.Nested(TimeFigureSchema, required=True)
    byPriority = ma.fields.Nested(PriorityCountsSchema, required=True)
    busiestHours = ma.fields.List(
        ma.fields.Nested(BusyHourSchema),
        required=True,
        metadata={"description": "Hours with sessions, busiest first"},
    )


class MetricsQuerySchema(ma.Schema):
    from_ = ma.fields.String(
        data_key="from",
        metadata={"format": "date-time", "description": "ISO date or date-time (inclusive)"},
    )
    to = ma.fields.String(
        metadata={
            "format": "date-time",
            "description": "ISO date (whole day included) or date-time",
        }
    )


class AgentsMetricsQuerySchema(MetricsQuerySchema):
    sortBy = ma.fields.String(
        load_default="chatsHandled",
        validate=ma.validate.OneOf(SORT_KEYS),
        metadata={
            "description": "A figure; a time figure sorts by its average, "
            "`responseTime.median` by that statistic. Agents without a value go last."
        },
    )
    sortOrder = ma.fields.String(load_default="desc", validate=ma.validate.OneOf(["asc", "desc"]))


AgentMetricsEnvelope = envelope(AgentMetricsSchema, "AgentMetricsEnvelope")
AgentMetricsArrayEnvelope = envelope(
    ma.fields.List(ma.fields.Nested(AgentMetricsSchema)), "AgentMetricsArrayEnvelope"
)

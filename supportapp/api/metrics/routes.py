"""/api/support/agents/metrics and /api/support/agents/:id/metrics — performance per agent."""

from __future__ import annotations

from flask import current_app

from supportapp.analytics import metrics
from supportapp.api.blueprint import Blueprint, ok
from supportapp.api.common import parse_date_range, parse_id
from supportapp.api.metrics.schemas import (
    SORT_KEYS,
    AgentMetricsArrayEnvelope,
    AgentMetricsEnvelope,
    AgentsMetricsQuerySchema,
    MetricsQuerySchema,
)
from supportapp.auth.actor import current_actor
from supportapp.models import ADMIN_ROLES, SUPPORT_ROLES
from supportapp.replicas import replica_reads
from supportapp.services.agents import MSG_AGENT_NOT_FOUND, my_agent

bp = Blueprint(
    "metrics",
    __name__,
    url_prefix="/api/support",
    description="Performance metrics per agent (definitions: docs/metrics.md)",
)
MSG_METRICS = "Métricas obtenidas exitosamente"


def _window(query: dict):
    return parse_date_range(
        query.get("from_"), query.get("to"), current_app.config["STATS_TIMEZONE"]
    )


@bp.get("/agents/metrics")
@bp.auth(ADMIN_ROLES)
@bp.arguments(AgentsMetricsQuerySchema, location="query")
@bp.response(200, AgentMetricsArrayEnvelope)
@replica_reads
def list_agent_metrics(query: dict):
    """Every agent's figures for sessions created between `from` and `to`, sorted."""
    rows = metrics.agent_metrics(_window(query))
    figure, statistic = SORT_KEYS[query["sortBy"]]
    ordered = metrics.sort_metrics(rows, figure, statistic, descending=query["sortOrder"] == "desc")
    return ok(ordered, MSG_METRICS)


@bp.get("/agents/<agent_id>/metrics")
@bp.auth(SUPPORT_ROLES)
@bp.arguments(MetricsQuerySchema, location="query")
@bp.response(200, AgentMetricsEnvelope)
@bp.alt_response(404, response="NOT_FOUND")
@replica_reads
def get_agent_metrics(query: dict, agent_id: str):
    """One agent's figures: admins for any agent, a support user for themself (`me` works)."""
    window = _window(query)
    actor = current_actor()
    found = metrics.metrics_for_agent(
        actor,
        my_agent(actor).id if agent_id == "me" else parse_id(agent_id, MSG_AGENT_NOT_FOUND),
        window,
    )
    return ok(found, MSG_METRICS)

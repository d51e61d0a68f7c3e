"""/api/support/agents/metrics and /api/support/agents/:id/metrics — performance per agent."""

from __future__ import annotations

from supportapp.analytics import metrics
from supportapp.api.blueprint import Blueprint, ok
from supportapp.api.common import query_window
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
from supportapp.services.agents import resolve_agent_id

bp = Blueprint(
    "metrics",
    __name__,
    url_prefix="/api/support",
    description="Performance metrics per agent (definitions: docs/metrics.md)",
)
MSG_METRICS = "Métricas obtenidas exitosamente"


@bp.endpoint(
    "GET /agents/metrics", AgentMetricsArrayEnvelope, ADMIN_ROLES, query=AgentsMetricsQuerySchema
)
@replica_reads
def list_agent_metrics(query: dict):
    """Every agent's figures for sessions created between `from` and `to`, sorted."""
    rows = metrics.agent_metrics(query_window(query))
    figure, statistic = SORT_KEYS[query["sortBy"]]
    ordered = metrics.sort_metrics(rows, figure, statistic, descending=query["sortOrder"] == "desc")
    return ok(ordered, MSG_METRICS)


@bp.endpoint(
    "GET /agents/<agent_id>/metrics", AgentMetricsEnvelope, SUPPORT_ROLES, query=MetricsQuerySchema
)
@replica_reads
def get_agent_metrics(query: dict, agent_id: str):
    """One agent's figures: admins for any agent, a support user for themself (`me` works)."""
    window = query_window(query)
    actor = current_actor()
    found = metrics.metrics_for_agent(actor, resolve_agent_id(actor, agent_id), window)
    return ok(found, MSG_METRICS)

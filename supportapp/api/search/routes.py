"""Finding conversations: message search and a customer's history (staff)."""

from __future__ import annotations

import uuid

from supportapp.api.blueprint import Blueprint, ok
from supportapp.api.common import page_of, query_window
from supportapp.api.search.schemas import (
    CustomerSessionsEnvelope,
    CustomerSessionsQuerySchema,
    SearchEnvelope,
    SearchQuerySchema,
)
from supportapp.models import SUPPORT_ROLES
from supportapp.replicas import replica_reads
from supportapp.representations import search_hit_dict, session_rows
from supportapp.services import search
from supportapp.services.users import MSG_USER_NOT_FOUND

bp = Blueprint(
    "search",
    __name__,
    url_prefix="/api/chat",
    description="Message search and customer history",
    path_ids={"user_id": MSG_USER_NOT_FOUND},
)


@bp.endpoint("GET /search", SearchEnvelope, SUPPORT_ROLES, query=SearchQuerySchema)
@replica_reads
def search_messages(query: dict):
    """Full-text search over messages: best matches first, then newest."""
    window = query_window(query)
    found = search.search_messages(
        query["q"],
        search.SearchFilters(
            status=query.get("status"),
            support_agent_id=query.get("supportAgentId"),
            start=window.start,
            end=window.end,
        ),
        page=query["page"],
        limit=query["limit"],
    )
    results = [search_hit_dict(hit) for hit in found.hits]
    return ok(page_of("results", results, query, found.total), "Resultados obtenidos exitosamente")


@bp.endpoint(
    "GET /users/<user_id>/sessions",
    CustomerSessionsEnvelope,
    SUPPORT_ROLES,
    query=CustomerSessionsQuerySchema,
)
@replica_reads
def list_customer_sessions(query: dict, user_id: uuid.UUID):
    """A customer's sessions, newest first, each with its latest message."""
    page = search.customer_sessions(
        user_id,
        status=query.get("status"),
        page=query["page"],
        limit=query["limit"],
    )
    data = page_of("sessions", session_rows(page.rows), query, page.total)
    return ok(data, "Sesiones obtenidas exitosamente")

"""Finding conversations: message search and a customer's history (staff)."""

from __future__ import annotations

from flask import current_app

from supportapp.api.blueprint import Blueprint, ok
from supportapp.api.common import pagination, parse_date_range, parse_id
from supportapp.api.search.schemas import (
    CustomerSessionsEnvelope,
    CustomerSessionsQuerySchema,
    SearchEnvelope,
    SearchQuerySchema,
)
from supportapp.models import SUPPORT_ROLES
from supportapp.replicas import replica_reads
from supportapp.representations import message_dict, session_dict
from supportapp.services import search
from supportapp.services.users import MSG_USER_NOT_FOUND

bp = Blueprint(
    "search", __name__, url_prefix="/api/chat", description="Message search and customer history"
)


@bp.get("/search")
@bp.auth(SUPPORT_ROLES)
@bp.arguments(SearchQuerySchema, location="query")
@bp.response(200, SearchEnvelope)
@replica_reads
def search_messages(query: dict):
    """Full-text search over messages: best matches first, then newest."""
    window = parse_date_range(
        query.get("from_"), query.get("to"), current_app.config["STATS_TIMEZONE"]
    )
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
    results = [
        {
            "session": session_dict(hit.session, [hit.last_message] if hit.last_message else []),
            "message": message_dict(hit.message),
            "highlight": hit.highlight,
        }
        for hit in found.hits
    ]
    return ok(
        {"results": results, "pagination": pagination(query["page"], query["limit"], found.total)},
        "Resultados obtenidos exitosamente",
    )


@bp.get("/users/<user_id>/sessions")
@bp.auth(SUPPORT_ROLES)
@bp.arguments(CustomerSessionsQuerySchema, location="query")
@bp.response(200, CustomerSessionsEnvelope)
@bp.alt_response(404, response="NOT_FOUND")
@replica_reads
def list_customer_sessions(query: dict, user_id: str):
    """A customer's sessions, newest first, each with its latest message."""
    page = search.customer_sessions(
        parse_id(user_id, MSG_USER_NOT_FOUND),
        status=query.get("status"),
        page=query["page"],
        limit=query["limit"],
    )
    sessions = [session_dict(s, [m] if m else [], include_unread=True) for s, m in page.rows]
    return ok(
        {"sessions": sessions, "pagination": pagination(query["page"], query["limit"], page.total)},
        "Sesiones obtenidas exitosamente",
    )

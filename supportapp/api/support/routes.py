"""/api/support — agents (admin and self-service) and the audit log (docs/contract.md)."""

from __future__ import annotations

from flask import current_app

from supportapp.api.auth.schemas import EmptyEnvelope, UserExportEnvelope
from supportapp.api.blueprint import Blueprint, ok
from supportapp.api.common import pagination, parse_date_range, parse_id
from supportapp.api.support.schemas import (
    AgentArrayEnvelope,
    AgentCreateSchema,
    AgentEnvelope,
    AgentSelfUpdateSchema,
    AgentsQuerySchema,
    AgentUpdateSchema,
    AuditLogPageEnvelope,
    AuditLogQuerySchema,
)
from supportapp.auth.actor import current_actor
from supportapp.models import ADMIN_ROLES, SUPPORT_ROLES, Presence
from supportapp.replicas import replica_reads
from supportapp.representations import agent_dict, audit_dict, export_dict
from supportapp.services import agents, audit, data_rights
from supportapp.services.agents import MSG_AGENT_NOT_FOUND
from supportapp.services.users import MSG_USER_NOT_FOUND

bp = Blueprint(
    "support", __name__, url_prefix="/api/support", description="Support agents and audit log"
)


@bp.get("/agents")
@bp.auth(ADMIN_ROLES)
@bp.arguments(AgentsQuerySchema, location="query")
@bp.response(200, AgentArrayEnvelope)
def list_agents(query: dict):
    """Every support agent, optionally filtered by isActive and presence."""
    presence = query.get("presence")
    found = agents.list_agents(query.get("isActive"), Presence(presence) if presence else None)
    return ok([agent_dict(a) for a in found], "Agentes obtenidos exitosamente")


@bp.post("/agents")
@bp.auth(ADMIN_ROLES)
@bp.arguments(AgentCreateSchema)
@bp.response(201, AgentEnvelope)
@bp.alt_response(409, response="CONFLICT")
def create_agent(body: dict):
    """Give a support/admin user an agent profile."""
    agent = agents.create_agent(
        current_actor(),
        user_id=body["userId"],
        name=body["name"],
        max_concurrent_chats=body["maxConcurrentChats"],
    )
    return ok(agent_dict(agent), "Agente creado exitosamente")


@bp.get("/agents/transfer-targets")
@bp.auth(SUPPORT_ROLES)
@bp.response(200, AgentArrayEnvelope)
def list_transfer_targets():
    """The active agents a chat can be transferred to (every staff role; the caller's own
    profile left out), online first, then the least loaded."""
    found = agents.transfer_targets(current_actor())
    return ok([agent_dict(a) for a in found], "Agentes obtenidos exitosamente")


@bp.get("/agents/me")
@bp.auth(SUPPORT_ROLES)
@bp.response(200, AgentEnvelope)
@bp.alt_response(404, response="NOT_FOUND")
def get_my_agent():
    """The caller's own agent profile."""
    return ok(agent_dict(agents.my_agent(current_actor())), "Agente obtenido exitosamente")


@bp.patch("/agents/me")
@bp.auth(SUPPORT_ROLES)
@bp.arguments(AgentSelfUpdateSchema)
@bp.response(200, AgentEnvelope)
@bp.alt_response(404, response="NOT_FOUND")
def update_my_agent(body: dict):
    """The agent's own switches: `isActive`, and `presence` (`online` | `away`), the
    availability shown while a staff WebSocket of theirs is open (else `offline`)."""
    agent = agents.update_my_agent(current_actor(), body)
    return ok(agent_dict(agent), "Agente actualizado exitosamente")


@bp.patch("/agents/<agent_id>")
@bp.auth(ADMIN_ROLES)
@bp.arguments(AgentUpdateSchema)
@bp.response(200, AgentEnvelope)
@bp.alt_response(404, response="NOT_FOUND")
def update_agent(body: dict, agent_id: str):
    """Change an agent's name, availability or capacity."""
    agent = agents.update_agent(current_actor(), parse_id(agent_id, MSG_AGENT_NOT_FOUND), body)
    return ok(agent_dict(agent), "Agente actualizado exitosamente")


@bp.get("/logs")
@bp.auth(ADMIN_ROLES)
@bp.arguments(AuditLogQuerySchema, location="query")
@bp.response(200, AuditLogPageEnvelope)
@replica_reads
def list_audit_logs(query: dict):
    """The audit trail, newest first."""
    window = parse_date_range(
        query.get("from_"), query.get("to"), current_app.config["STATS_TIMEZONE"]
    )
    logs, total = audit.list_logs(
        actor_id=query.get("actorId"),
        action=query.get("action"),
        session_id=query.get("sessionId"),
        date_from=window.start,
        date_to=window.end,
        page=query["page"],
        limit=query["limit"],
    )
    return ok(
        {
            "logs": [audit_dict(e) for e in logs],
            "pagination": pagination(query["page"], query["limit"], total),
        },
        "Registros obtenidos exitosamente",
    )


@bp.get("/users/<user_id>/export")
@bp.auth(ADMIN_ROLES)
@bp.response(200, UserExportEnvelope)
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(409, response="CONFLICT")
def export_user_data(user_id: str):
    """Everything held about a customer: profile, sessions with their messages, attachments'
    metadata and links, ratings, audit rows about them. The export itself is audited."""
    export = data_rights.export_user(current_actor(), parse_id(user_id, MSG_USER_NOT_FOUND))
    return ok(export_dict(export), "Datos exportados exitosamente")


@bp.delete("/users/<user_id>")
@bp.auth(ADMIN_ROLES)
@bp.response(200, EmptyEnvelope)
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(409, response="CONFLICT")
def erase_user_data(user_id: str):
    """Erase a customer: messages' text and attachments removed, the user anonymised, sessions
    kept as anonymous shells (counters, stats and metrics unchanged); their tokens stop
    working at once. Audited, and staff receive a `user_erased` event."""
    data_rights.erase_user(current_actor(), parse_id(user_id, MSG_USER_NOT_FOUND))
    return ok(None, "Datos eliminados exitosamente")

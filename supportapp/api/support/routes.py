"""/api/support — agents (admin and self-service) and the audit log (docs/contract.md)."""

from __future__ import annotations

import uuid

from supportapp.api.auth.schemas import EmptyEnvelope, UserExportEnvelope
from supportapp.api.blueprint import Blueprint, ok
from supportapp.api.common import page_of, query_window
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
    "support",
    __name__,
    url_prefix="/api/support",
    description="Support agents and audit log",
    path_ids={"agent_id": MSG_AGENT_NOT_FOUND, "user_id": MSG_USER_NOT_FOUND},
)


@bp.endpoint("GET /agents", AgentArrayEnvelope, ADMIN_ROLES, query=AgentsQuerySchema)
def list_agents(query: dict):
    """Every support agent, optionally filtered by isActive and presence."""
    presence = query.get("presence")
    found = agents.list_agents(query.get("isActive"), Presence(presence) if presence else None)
    return ok([agent_dict(a) for a in found], "Agentes obtenidos exitosamente")


@bp.endpoint(
    "POST /agents", AgentEnvelope, ADMIN_ROLES, errors=[409], status=201, body=AgentCreateSchema
)
def create_agent(body: dict):
    """Give a support/admin user an agent profile."""
    agent = agents.create_agent(current_actor(), **body)
    return ok(agent_dict(agent), "Agente creado exitosamente")


@bp.endpoint("GET /agents/transfer-targets", AgentArrayEnvelope, SUPPORT_ROLES)
def list_transfer_targets():
    """The active agents a chat can be transferred to (every staff role; the caller's own
    profile left out), online first, then the least loaded."""
    found = agents.transfer_targets(current_actor())
    return ok([agent_dict(a) for a in found], "Agentes obtenidos exitosamente")


@bp.endpoint("GET /agents/me", AgentEnvelope, SUPPORT_ROLES, errors=[404])
def get_my_agent():
    """The caller's own agent profile."""
    return ok(agent_dict(agents.my_agent(current_actor())), "Agente obtenido exitosamente")


@bp.endpoint(
    "PATCH /agents/me", AgentEnvelope, SUPPORT_ROLES, errors=[404], body=AgentSelfUpdateSchema
)
def update_my_agent(body: dict):
    """The agent's own switches: `isActive`, and `presence` (`online` | `away`), the
    availability shown while a staff WebSocket of theirs is open (else `offline`)."""
    agent = agents.update_my_agent(current_actor(), body)
    return ok(agent_dict(agent), "Agente actualizado exitosamente")


@bp.endpoint("PATCH /agents/<agent_id>", AgentEnvelope, ADMIN_ROLES, body=AgentUpdateSchema)
def update_agent(body: dict, agent_id: uuid.UUID):
    """Change an agent's name, availability or capacity."""
    agent = agents.update_agent(current_actor(), agent_id, body)
    return ok(agent_dict(agent), "Agente actualizado exitosamente")


@bp.endpoint("GET /logs", AuditLogPageEnvelope, ADMIN_ROLES, query=AuditLogQuerySchema)
@replica_reads
def list_audit_logs(query: dict):
    """The audit trail, newest first."""
    window = query_window(query)
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
        page_of("logs", [audit_dict(e) for e in logs], query, total),
        "Registros obtenidos exitosamente",
    )


@bp.endpoint("GET /users/<user_id>/export", UserExportEnvelope, ADMIN_ROLES, errors=[409])
def export_user_data(user_id: uuid.UUID):
    """Everything held about a customer: profile, sessions with their messages, attachments'
    metadata and links, ratings, audit rows about them. The export itself is audited."""
    export = data_rights.export_user(current_actor(), user_id)
    return ok(export_dict(export), "Datos exportados exitosamente")


@bp.endpoint("DELETE /users/<user_id>", EmptyEnvelope, ADMIN_ROLES, errors=[409])
def erase_user_data(user_id: uuid.UUID):
    """Erase a customer: messages' text and attachments removed, the user anonymised, sessions
    kept as anonymous shells (counters, stats and metrics unchanged); their tokens stop
    working at once. Audited, and staff receive a `user_erased` event."""
    data_rights.erase_user(current_actor(), user_id)
    return ok(None, "Datos eliminados exitosamente")

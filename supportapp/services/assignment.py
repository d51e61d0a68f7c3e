"""Giving sessions to agents — the one place that decides capacity.

Every assignment locks the agent rows it touches (in id order, so two moves between the same
agents cannot deadlock) and re-checks the load under that lock; the trigger on chat_sessions
keeps `current_active_chats` exact and refuses any overshoot.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select

from supportapp.auth.actor import Actor
from supportapp.errors import MSG_AGENT_AT_CAPACITY, Conflict, Forbidden, ValidationFailed
from supportapp.extensions import db
from supportapp.models import ChatSession, SessionStatus, SupportAgent
from supportapp.models.base import utcnow
from supportapp.realtime import events
from supportapp.services import audit
from supportapp.services.sessions import ensure_open, get_visible_session
from supportapp.services.unit_of_work import UnitOfWork, unit_of_work

MSG_AGENT_NOT_FOUND = "El agente de soporte no existe"
MSG_AGENT_INACTIVE = "El agente de soporte no está activo"


def assign_session(actor: Actor, session_id: uuid.UUID, agent_id: uuid.UUID) -> ChatSession:
    """PATCH /api/chat/session/:id/assign. `support` may assign only to their own profile."""
    with unit_of_work() as uow:
        agent = db.session.get(SupportAgent, agent_id)
        if agent is None:
            raise ValidationFailed.field("supportAgentId", MSG_AGENT_NOT_FOUND)
        if not agent.is_active:
            raise ValidationFailed.field("supportAgentId", MSG_AGENT_INACTIVE)
        if not actor.is_admin and agent.user_id != actor.user_id:
            raise Forbidden()
        session = get_visible_session(actor, session_id, lock=True)
        ensure_open(session)
        if session.support_agent_id == agent.id and session.status == SessionStatus.ACTIVE:
            return session
        give_to_agent(uow, actor, session, agent.id)
    return session


def give_to_agent(
    uow: UnitOfWork, actor: Actor, session: ChatSession, agent_id: uuid.UUID
) -> SupportAgent:
    """Assign a locked, open session to an agent inside the caller's transaction."""
    agent = _lock_agents(session.support_agent_id, agent_id)
    if not agent.is_active:
        raise ValidationFailed.field("supportAgentId", MSG_AGENT_INACTIVE)
    if agent.current_active_chats >= agent.max_concurrent_chats:
        raise Conflict(MSG_AGENT_AT_CAPACITY)
    now = utcnow()
    previous_agent = session.support_agent_id
    previous_status = session.status
    session.support_agent_id = agent.id
    session.status = SessionStatus.ACTIVE
    session.assigned_at = now
    agent.last_assigned_at = now
    uow.session.flush()
    audit.record(
        uow,
        actor,
        "session.assigned",
        target_type="chat_session",
        target_id=session.id,
        session_id=session.id,
        before={
            "supportAgentId": str(previous_agent) if previous_agent else None,
            "status": str(previous_status),
        },
        after={"supportAgentId": str(agent.id), "status": "active"},
    )
    uow.emit(events.chat_assigned(session, agent, str(previous_agent) if previous_agent else None))
    if previous_status != SessionStatus.ACTIVE:
        uow.emit(events.chat_status_changed(session, previous_status))
    return agent


def _lock_agents(previous_id: uuid.UUID | None, agent_id: uuid.UUID) -> SupportAgent:
    ids = sorted({agent_id, previous_id} - {None}, key=str)
    locked = {
        a.id: a
        for a in db.session.scalars(
            select(SupportAgent)
            .where(SupportAgent.id.in_(ids))
            .order_by(SupportAgent.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    }
    return locked[agent_id]

"""Support agent profiles: creation, changes, and the lookups other rules need."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import case, select

from supportapp.auth.actor import Actor
from supportapp.errors import Conflict, NotFound, ValidationFailed
from supportapp.extensions import db
from supportapp.jobs import request_auto_assignment
from supportapp.models import SUPPORT_ROLES, Presence, SupportAgent, User
from supportapp.realtime import events
from supportapp.representations import agent_dict
from supportapp.services import access, audit
from supportapp.services.presence import presence_of, set_presence
from supportapp.services.unit_of_work import unit_of_work
from supportapp.services.users import revoke_tokens_of

MSG_AGENT_NOT_FOUND = "Agente de soporte no encontrado"
MSG_USER_NOT_FOUND = "El usuario no existe"
MSG_USER_NOT_STAFF = "El usuario debe tener rol support, admin o superadmin"
MSG_ALREADY_AGENT = "El usuario ya es un agente de soporte"

EDITABLE = {"name": "name", "isActive": "is_active", "maxConcurrentChats": "max_concurrent_chats"}
# The agent's own choices: `presence` in the API is the availability they pick.
SELF_EDITABLE = {"isActive": "is_active", "presence": "availability"}


def list_agents(
    is_active: bool | None = None, presence: Presence | None = None
) -> list[SupportAgent]:
    query = select(SupportAgent).order_by(SupportAgent.created_at, SupportAgent.id)
    if is_active is not None:
        query = query.where(SupportAgent.is_active.is_(is_active))
    if presence is not None:
        query = query.where(SupportAgent.presence == presence)
    return list(db.session.scalars(query))


def transfer_targets(actor: Actor) -> list[SupportAgent]:
    """GET /api/support/agents/transfer-targets: the active agents a chat may be handed to by
    any staff member (the admin-only agent list is not theirs to read) — everyone but the
    caller's own profile, online first, then the least loaded."""
    query = select(SupportAgent).where(
        SupportAgent.is_active.is_(True), SupportAgent.user_id != actor.user_id
    )
    return list(
        db.session.scalars(
            query.order_by(
                case((SupportAgent.presence == Presence.ONLINE, 0), else_=1),
                SupportAgent.current_active_chats * 1.0 / SupportAgent.max_concurrent_chats,
                SupportAgent.name,
                SupportAgent.id,
            )
        )
    )


def get_agent(agent_id: uuid.UUID) -> SupportAgent:
    agent = db.session.get(SupportAgent, agent_id)
    if agent is None:
        raise NotFound(MSG_AGENT_NOT_FOUND)
    return agent


def agent_of_user(user_id: uuid.UUID | None, *, lock: bool = False) -> SupportAgent | None:
    if user_id is None:
        return None
    query = select(SupportAgent).where(SupportAgent.user_id == user_id)
    if lock:
        query = query.with_for_update()
    return db.session.scalar(query)


def my_agent(actor: Actor) -> SupportAgent:
    agent = agent_of_user(actor.user_id)
    if agent is None:
        raise NotFound(MSG_AGENT_NOT_FOUND)
    return agent


ME = "me"


def resolve_agent_id(actor: Actor, value: uuid.UUID | str) -> uuid.UUID:
    """An agent id as the API names one: an id, or `me` for the caller's own profile (404 when
    they have none, or when the text names no agent)."""
    if value == ME:
        return my_agent(actor).id
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(value)
    except ValueError as exc:
        raise NotFound(MSG_AGENT_NOT_FOUND) from exc


def create_agent(
    actor: Actor, *, user_id: uuid.UUID, name: str, max_concurrent_chats: int = 5
) -> SupportAgent:
    with unit_of_work() as uow:
        user = db.session.get(User, user_id)
        if user is None:
            raise ValidationFailed.field("userId", MSG_USER_NOT_FOUND)
        if user.role not in SUPPORT_ROLES:
            raise ValidationFailed.field("userId", MSG_USER_NOT_STAFF)
        if agent_of_user(user.id, lock=True) is not None:
            raise Conflict(MSG_ALREADY_AGENT)
        agent = SupportAgent(
            id=uuid.uuid4(),
            user_id=user.id,
            name=name,
            email=user.email or "",  # staff provisioned by an external issuer may have none
            max_concurrent_chats=max_concurrent_chats,
        )
        uow.db.add(agent)
        uow.db.flush()
        uow.db.refresh(agent)
        audit.record(
            uow,
            actor,
            "agent.created",
            target_type="support_agent",
            target_id=agent.id,
            after=agent_dict(agent),
        )
        uow.emit(events.agent_status_changed(agent))
    return agent


def update_agent(actor: Actor, agent_id: uuid.UUID, changes: dict[str, Any]) -> SupportAgent:
    """Change name, isActive or maxConcurrentChats. Lowering the capacity below the current
    load is allowed: it only stops new chats until the load drops."""
    with unit_of_work() as uow:
        agent = db.session.scalar(
            select(SupportAgent).where(SupportAgent.id == agent_id).with_for_update()
        )
        if agent is None:
            raise NotFound(MSG_AGENT_NOT_FOUND)
        _apply(uow, actor, agent, changes, EDITABLE)
    return agent


def update_my_agent(actor: Actor, changes: dict[str, Any]) -> SupportAgent:
    """The agent's own switches: `isActive` and `presence` (availability online | away; what
    others see also depends on an open socket, services/presence.py)."""
    with unit_of_work() as uow:
        agent = agent_of_user(actor.user_id, lock=True)
        if agent is None:
            raise NotFound(MSG_AGENT_NOT_FOUND)
        _apply(uow, actor, agent, changes, SELF_EDITABLE)
    return agent


def _settle_activation(
    uow, actor: Actor, agent: SupportAgent, was: bool | None, becomes: bool | None
) -> None:
    """Who may switch an agent on and off. An agent who went away by themselves comes back by
    themselves; one an admin deactivated comes back only through an admin (403 otherwise).
    An admin deactivating someone else's profile changes what that user may do (take chats,
    come back), so the user's tokens issued before are revoked and their sockets closed."""
    if was is None or becomes is None or was == becomes:
        return
    by_admin = access.deactivates_someone_else(actor, agent)
    if becomes:
        access.ensure_may_reactivate(actor, agent)
        agent.deactivated_by_admin = False
        return
    agent.deactivated_by_admin = by_admin
    if by_admin:
        user_id = agent.user_id
        uow.after_commit(lambda: revoke_tokens_of(user_id, "agent deactivated by an admin"))


def _apply(
    uow, actor: Actor, agent: SupportAgent, changes: dict[str, Any], editable: dict[str, str]
) -> None:
    before = {key: getattr(agent, column) for key, column in editable.items() if key in changes}
    after = {key: changes[key] for key in before}
    if before == after:
        return
    _settle_activation(uow, actor, agent, before.get("isActive"), after.get("isActive"))
    for key, value in after.items():
        setattr(agent, editable[key], value)
    # The stored presence reflects the sockets; only the availability part can change here.
    set_presence(uow, agent, presence_of(agent.availability, agent.presence != Presence.OFFLINE))
    uow.db.flush()
    uow.db.refresh(agent)
    audit.record(
        uow,
        actor,
        "agent.updated",
        target_type="support_agent",
        target_id=agent.id,
        before=before,
        after=after,
    )
    uow.emit(events.agent_status_changed(agent))
    # More room (active again, a higher limit, back from away) may drain the queue at once.
    request_auto_assignment(uow)

"""Who may see and do what — the one access policy of chats, templates and agents.

Each rule is a predicate over the caller and the facts it needs (the chat, the user id of its
assigned agent), so tests/test_rule_homes.py can check every role against every action. Where a
list needs the rule in SQL, its SQL form sits next to the Python one (`visible_sessions`,
`visible_templates`). The `ensure_*` functions turn a refusal into the API's answer: 404 when
the caller may not even see the chat (exactly as if it did not exist), 403 when they see it but
may not act. Roles themselves (who reaches an endpoint at all) are the routes' `bp.auth`.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ColumnElement, or_, select, true

from supportapp.auth.actor import Actor
from supportapp.errors import MSG_SESSION_NOT_FOUND, Forbidden, NotFound
from supportapp.extensions import db
from supportapp.models import ChatSession, ResponseTemplate, Sender, SessionStatus, SupportAgent

MSG_TAKEN_BY_OTHER = (
    "La sesión ya está atendida por otro agente; solo un administrador puede reasignarla"
)
MSG_REACTIVATION_FORBIDDEN = (
    "Un administrador desactivó tu perfil de agente; solo un administrador puede reactivarlo"
)

# --- seeing a chat ------------------------------------------------------------------------------


def may_see(actor: Actor, chat: Any) -> bool:
    """Staff see every chat; anyone else only their own."""
    return actor.is_support or chat.user_id == actor.user_id


def visible_sessions(actor: Actor) -> ColumnElement[bool]:
    """`may_see` in SQL, for a query over chat_sessions."""
    return true() if actor.is_support else ChatSession.user_id == actor.user_id


def may_receive(socket: Any, event: Any) -> bool:
    """`may_see` for a stream event or signal on a socket (`socket.is_support`,
    `socket.user_id`; realtime/hub.py's Subscriber uses it as its `may_see` method): staff
    get what is meant for staff (`to_support`), a user what names them; staff-only events
    (notes, transfers, agents) name no user."""
    return (socket.is_support and event.to_support) or event.user_id == socket.user_id


def ensure_visible(actor: Actor, chat: ChatSession | None) -> None:
    if chat is None or not may_see(actor, chat):
        raise NotFound(MSG_SESSION_NOT_FOUND)


def side_of(actor: Actor) -> Sender:
    """The side a caller who sees a chat writes and reads on: staff as support (also in a chat
    they opened themselves), everyone else as its user."""
    return Sender.SUPPORT if actor.is_support else Sender.USER


def may_see_notes(actor: Actor) -> bool:
    """Internal notes are for staff only; the chat's own user gets 404 for them."""
    return actor.is_support


def ensure_may_see_notes(actor: Actor, chat: ChatSession | None) -> None:
    if not may_see_notes(actor):
        raise NotFound(MSG_SESSION_NOT_FOUND)
    ensure_visible(actor, chat)


# --- acting on a chat ---------------------------------------------------------------------------


def may_write_as_customer(actor: Actor, chat: Any) -> bool:
    """Only the chat's owner writes on the user side (anyone else: 404)."""
    return chat.user_id == actor.user_id


def ensure_may_write_as_customer(actor: Actor, chat: ChatSession) -> None:
    if not may_write_as_customer(actor, chat):
        raise NotFound(MSG_SESSION_NOT_FOUND)


def is_handler(actor: Actor, agent_user_id: uuid.UUID | None) -> bool:
    """Whether the caller is the staff member whose agent profile has the chat."""
    return actor.is_support and agent_user_id is not None and agent_user_id == actor.user_id


def may_close(actor: Actor, chat: Any, agent_user_id: uuid.UUID | None) -> bool:
    """Its owner, the agent who has it, or an admin."""
    return actor.is_admin or chat.user_id == actor.user_id or is_handler(actor, agent_user_id)


def may_transfer(actor: Actor, agent_user_id: uuid.UUID | None) -> bool:
    """The agent who has the chat, or an admin (an unassigned chat: admins only)."""
    return actor.is_admin or (agent_user_id is not None and agent_user_id == actor.user_id)


def may_assign_to(actor: Actor, agent_user_id: uuid.UUID) -> bool:
    """Admins give chats to anyone; `support` only to their own profile."""
    return actor.is_admin or agent_user_id == actor.user_id


def takes_over(chat: Any, agent_id: uuid.UUID) -> bool:
    """Giving `chat` to `agent_id` would take it from another agent who is serving it."""
    return (
        chat.status == SessionStatus.ACTIVE
        and chat.support_agent_id is not None
        and chat.support_agent_id != agent_id
    )


def may_rate(actor: Actor, chat: Any, agent_user_id: uuid.UUID | None) -> bool:
    """Only the owner, and not as the agent who handled it (staff who opened a chat as a user
    and took it themselves do not rate their own work)."""
    return chat.user_id == actor.user_id and not is_handler(actor, agent_user_id)


def assigned_user_id(chat: ChatSession) -> uuid.UUID | None:
    """The user id behind the chat's agent profile (None when unassigned)."""
    if chat.support_agent_id is None:
        return None
    return db.session.scalar(
        select(SupportAgent.user_id).where(SupportAgent.id == chat.support_agent_id)
    )


def ensure_may_close(actor: Actor, chat: ChatSession) -> None:
    if actor.is_admin or chat.user_id == actor.user_id:  # no lookup needed
        return
    if not may_close(actor, chat, assigned_user_id(chat) if actor.is_support else None):
        raise Forbidden()


def ensure_may_transfer(actor: Actor, current_agent: SupportAgent | None) -> None:
    if not may_transfer(actor, current_agent.user_id if current_agent else None):
        raise Forbidden()


def ensure_may_assign_to(actor: Actor, agent: SupportAgent) -> None:
    if not may_assign_to(actor, agent.user_id):
        raise Forbidden()


def ensure_may_take(actor: Actor, chat: ChatSession, agent: SupportAgent) -> None:
    """Who may give a chat to an agent: admins, anyone; `support`, only to their own profile,
    and only a pending chat or one already theirs — not another agent's."""
    if actor.is_admin:
        return
    ensure_may_assign_to(actor, agent)
    if takes_over(chat, agent.id):
        raise Forbidden(MSG_TAKEN_BY_OTHER)


def ensure_may_rate(actor: Actor, chat: ChatSession) -> None:
    agent_user_id = assigned_user_id(chat) if actor.is_support else None
    if not may_rate(actor, chat, agent_user_id):
        raise Forbidden()


# --- agents and figures -------------------------------------------------------------------------


def may_reactivate(actor: Actor, agent: Any) -> bool:
    """An agent who went inactive by themselves comes back by themselves; one an admin made
    inactive comes back only through an admin."""
    return actor.is_admin or not agent.deactivated_by_admin


def deactivates_someone_else(actor: Actor, agent: Any) -> bool:
    """An admin switching off another user's profile (their tokens are then revoked)."""
    return actor.is_admin and actor.user_id != agent.user_id


def ensure_may_reactivate(actor: Actor, agent: SupportAgent) -> None:
    if not may_reactivate(actor, agent):
        raise Forbidden(MSG_REACTIVATION_FORBIDDEN)


def sees_team_figures(actor: Actor) -> bool:
    """The `advanced` block of the dashboard (whole-team times, ratings): admins only."""
    return actor.is_admin


# --- response templates ---------------------------------------------------------------------------


def may_see_template(actor: Actor, template: Any) -> bool:
    """Admins see every template; support users the shared ones and their own."""
    return actor.is_admin or template.is_shared or template.created_by == actor.user_id


def visible_templates(actor: Actor) -> ColumnElement[bool]:
    """`may_see_template` in SQL."""
    if actor.is_admin:
        return true()
    return or_(ResponseTemplate.is_shared.is_(True), ResponseTemplate.created_by == actor.user_id)


def may_manage_template(actor: Actor, template: Any) -> bool:
    """A visible template someone else owns (a shared one) can be read but not changed."""
    return actor.is_admin or template.created_by == actor.user_id


def ensure_may_manage_template(actor: Actor, template: ResponseTemplate) -> None:
    if not may_manage_template(actor, template):
        raise Forbidden()

"""Who may send a typing signal in a session, and as which side.

The session's user types to staff; the assigned agent, or an admin (who may reply to any
session), types to the session's user. Anyone else's signal is dropped, as are signals for a
closed or unknown session.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import aliased

from supportapp.extensions import db
from supportapp.models import ADMIN_ROLES, ChatSession, Role, SessionStatus, SupportAgent, User


@dataclass(frozen=True)
class TypingRoute:
    sender: str  # "user" (reaches staff) | "support" (reaches the session's user)
    owner_id: str
    agent_name: str | None = None


def typing_route(user_id: uuid.UUID, role: Role, session_id: uuid.UUID) -> TypingRoute | None:
    """Where a typing signal of `user_id` in `session_id` goes, or None to drop it. Reads in
    one statement and ends its transaction (a socket must not hold a pooled connection)."""
    own_agent = aliased(SupportAgent)
    assigned = aliased(SupportAgent)
    try:
        row = db.session.execute(
            select(
                ChatSession.user_id,
                ChatSession.status,
                assigned.user_id.label("assigned_user_id"),
                own_agent.name.label("own_agent_name"),
                User.name.label("own_name"),
            )
            .outerjoin(assigned, assigned.id == ChatSession.support_agent_id)
            .outerjoin(own_agent, own_agent.user_id == user_id)
            .outerjoin(User, User.id == user_id)
            .where(ChatSession.id == session_id)
        ).first()
    finally:
        db.session.rollback()
    if row is None or row.status == SessionStatus.CLOSED:
        return None
    if row.user_id == user_id:
        return TypingRoute(sender="user", owner_id=str(row.user_id))
    if role in ADMIN_ROLES or (
        row.assigned_user_id is not None and row.assigned_user_id == user_id
    ):
        name = row.own_agent_name or row.own_name
        return TypingRoute(sender="support", owner_id=str(row.user_id), agent_name=name)
    return None

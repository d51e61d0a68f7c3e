"""Post-chat ratings: the session's user rates it once, after it is closed."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from supportapp.auth.actor import Actor
from supportapp.errors import Conflict
from supportapp.extensions import db
from supportapp.models import SessionRating, SessionStatus
from supportapp.realtime import events
from supportapp.services import access
from supportapp.services.sessions import get_visible_session
from supportapp.services.unit_of_work import unit_of_work

MSG_NOT_CLOSED = "Solo se puede calificar una sesión cerrada"
MSG_ALREADY_RATED = "La sesión ya fue calificada"


def rating_of(session_id: uuid.UUID) -> SessionRating | None:
    return db.session.scalar(select(SessionRating).where(SessionRating.session_id == session_id))


def rate_session(
    actor: Actor, session_id: uuid.UUID, score: int, comment: str | None
) -> SessionRating:
    """Only the session's owner rates it (another user: 404 as for any session they cannot see;
    support staff: 403, also when they own it but handled it as its agent), only once it is
    closed and only once (409). The rating is credited to
    the agent who had the session when it was closed."""
    with unit_of_work() as uow:
        chat = get_visible_session(actor, session_id, lock=True)
        access.ensure_may_rate(actor, chat)
        if chat.status != SessionStatus.CLOSED:
            raise Conflict(MSG_NOT_CLOSED)
        if rating_of(chat.id) is not None:
            raise Conflict(MSG_ALREADY_RATED)
        rating = SessionRating(
            id=uuid.uuid4(),
            session_id=chat.id,
            user_id=actor.user_id,
            agent_id=chat.support_agent_id,
            score=score,
            comment=comment or None,
        )
        uow.db.add(rating)
        try:
            uow.db.flush()
        except IntegrityError as exc:  # a concurrent rating of the same session won the race
            raise Conflict(MSG_ALREADY_RATED) from exc
        uow.db.refresh(rating)
        uow.emit(events.chat_rated(chat, rating))
    return rating

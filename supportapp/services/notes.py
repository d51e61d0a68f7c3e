"""Internal notes: staff talking to each other inside a chat, never shown to its user.

Notes are not messages: they are not in `messages`, unread counts, first-response times or
any metric, and their event (`chat_note_added`) carries no user id, so no user's socket or
replay can receive it.
"""

from __future__ import annotations

import uuid

from sqlalchemy import func, select

from supportapp.auth.actor import Actor
from supportapp.extensions import db
from supportapp.models import ChatNote, ChatSession, User
from supportapp.models.base import utcnow
from supportapp.realtime import events
from supportapp.services import access, audit
from supportapp.services.unit_of_work import unit_of_work


def _staff_session(actor: Actor, session_id: uuid.UUID) -> ChatSession:
    """The session, for staff who may see it; anyone else (its own user included) gets 404,
    as if neither the notes nor the session existed."""
    chat = db.session.get(ChatSession, session_id) if access.may_see_notes(actor) else None
    access.ensure_may_see_notes(actor, chat)
    return chat


def add_note(actor: Actor, session_id: uuid.UUID, text: str) -> ChatNote:
    """A staff member annotates a session (open or closed)."""
    with unit_of_work() as uow:
        chat = _staff_session(actor, session_id)
        author = db.session.get(User, actor.user_id)
        note = ChatNote(
            id=uuid.uuid4(),
            session_id=chat.id,
            author_id=actor.user_id,
            author_name=author.name if author else "",
            note=text,
            created_at=utcnow(),
        )
        uow.db.add(note)
        uow.db.flush()
        audit.record(
            uow,
            actor,
            "session.note_added",
            target_type="chat_note",
            target_id=note.id,
            session_id=chat.id,
            after={"length": len(text)},
        )
        uow.emit(events.chat_note_added(note))
    return note


def list_notes(
    actor: Actor, session_id: uuid.UUID, page: int, limit: int
) -> tuple[list[ChatNote], int]:
    """One page of a session's notes, oldest first, and their total."""
    chat = _staff_session(actor, session_id)
    notes = db.session.scalars(
        select(ChatNote)
        .where(ChatNote.session_id == chat.id)
        .order_by(ChatNote.created_at, ChatNote.id)
        .limit(limit)
        .offset((page - 1) * limit)
    ).all()
    total = db.session.scalar(select(func.count(ChatNote.id)).where(ChatNote.session_id == chat.id))
    return list(notes), int(total or 0)

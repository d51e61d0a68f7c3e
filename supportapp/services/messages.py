"""Sending messages from either side of a chat."""

from __future__ import annotations

import contextlib
import functools
import uuid
from typing import Any

from sqlalchemy import Select, bindparam, select, update
from sqlalchemy.orm.attributes import set_committed_value

from supportapp.auth.actor import Actor
from supportapp.errors import Conflict
from supportapp.extensions import db
from supportapp.models import ChatMessage, ChatSession, Sender, SessionStatus, SupportAgent
from supportapp.models.base import utcnow
from supportapp.realtime import events
from supportapp.services import access, attachments, audit, templates
from supportapp.services.assignment import give_to_agent
from supportapp.services.sessions import ensure_open, get_visible_session, messages_of
from supportapp.services.unit_of_work import unit_of_work

MESSAGE_COLUMNS = tuple(
    column.key for column in ChatMessage.__table__.columns if column.computed is None
)


def list_messages(actor: Actor, session_id: uuid.UUID) -> list[ChatMessage]:
    """The conversation, oldest first: for the owner or any support role."""
    session = get_visible_session(actor, session_id)
    return messages_of(session.id)


def send_attachment(
    actor: Actor, session_id: uuid.UUID, upload: attachments.Upload, caption: str
) -> ChatMessage:
    """A file sent as a message (with `caption` as its text, possibly empty): by the session's
    user, or by staff who may reply to it — the sender is decided by role. Everything a text
    message does follows (budget spent by the route, waits, first response, events)."""
    chat = get_visible_session(actor, session_id)  # refuse early: before reading the file
    ensure_open(chat)
    checked = attachments.check_upload(upload)
    try:
        if access.side_of(actor) == Sender.SUPPORT:
            return send_support_message(actor, session_id, caption, attachment=checked)
        return send_user_message(actor, session_id, caption, attachment=checked)
    except BaseException:
        attachments.discard_uncommitted(checked)
        raise


def send_user_message(
    actor: Actor,
    session_id: uuid.UUID,
    text: str,
    *,
    attachment: attachments.CheckedAttachment | None = None,
) -> ChatMessage:
    """The owner writes; a user message starts a wait for a support reply unless one runs."""
    with unit_of_work() as uow:
        session = get_visible_session(actor, session_id, lock=True)
        access.ensure_may_write_as_customer(actor, session)
        ensure_open(session)
        now = utcnow()
        message = ChatMessage(
            id=uuid.uuid4(),
            session_id=session.id,
            message=text,
            sender=Sender.USER,
            sender_user_id=actor.user_id,
            timestamp=now,
            is_read=False,
            attachments=[attachment.summary()] if attachment else [],
        )
        changes: dict[str, Any] = {
            "last_message_at": now,
            "unread_user_count": session.unread_user_count + 1,
        }
        if session.waiting_since is None:
            changes["waiting_since"] = now
        _write(session, message, changes, attachment)
        uow.emit(events.chat_message_received(session, message))
    return message


def send_support_message(
    actor: Actor,
    session_id: uuid.UUID,
    text: str | None,
    *,
    template_id: uuid.UUID | None = None,
    attachment: attachments.CheckedAttachment | None = None,
) -> ChatMessage:
    """A support reply. It ends the user's current wait (recording the response time), and the
    sender's first reply to an unassigned session takes it when they have free capacity.
    With `template_id` the text is that response template rendered for this session."""
    with unit_of_work() as uow:
        session, agent = _lock_with_agent_of(actor, session_id)
        ensure_open(session)
        if template_id is not None:
            text = templates.render_for_session(actor, template_id, session, agent)
        if session.status == SessionStatus.PENDING and agent is not None and agent.can_take_chats:
            # Under the agent lock the slot may be gone; then the reply is sent unassigned.
            with contextlib.suppress(Conflict):
                give_to_agent(uow, actor, session, agent.id)
        now = utcnow()
        message = ChatMessage(
            id=uuid.uuid4(),
            session_id=session.id,
            message=text,
            sender=Sender.SUPPORT,
            sender_user_id=actor.user_id,
            agent_id=agent.id if agent else None,
            timestamp=now,
            response_seconds=_ends_wait(session, now),
            first_response_seconds=_first_response(session, now),
            is_read=False,
            attachments=[attachment.summary()] if attachment else [],
        )
        changes = {
            "last_message_at": now,
            "unread_support_count": session.unread_support_count + 1,
        }
        if session.waiting_since is not None:
            changes["waiting_since"] = None
        if session.first_response_at is None:
            changes["first_response_at"] = now
        _write(session, message, changes, attachment)
        after: dict[str, Any] = {"length": len(text)}
        if template_id:
            after["templateId"] = str(template_id)
        if attachment:
            after["attachmentId"] = str(attachment.id)
        audit.record(
            uow,
            actor,
            "session.support_message",
            target_type="chat_message",
            target_id=message.id,
            session_id=session.id,
            after=after,
        )
        uow.emit(events.chat_message_received(session, message))
    return message


def _lock_with_agent_of(
    actor: Actor, session_id: uuid.UUID
) -> tuple[ChatSession, SupportAgent | None]:
    """`get_visible_session(lock=True)` and `agent_of_user(actor.user_id)` in one statement.
    The agent row is read, not locked, as before: giving the session to the agent locks and
    re-reads it (`give_to_agent`), so a stale capacity only decides whether to try."""
    row = db.session.execute(
        _lock_with_agent_statement(), {"session_id": session_id, "user_id": actor.user_id}
    ).first()
    chat, agent = row if row else (None, None)
    access.ensure_visible(actor, chat)
    return chat, agent


@functools.cache
def _lock_with_agent_statement() -> Select:
    return (
        select(ChatSession, SupportAgent)
        .outerjoin(SupportAgent, SupportAgent.user_id == bindparam("user_id"))
        .where(ChatSession.id == bindparam("session_id"))
        .with_for_update(of=ChatSession)
    )


def _write(
    chat: ChatSession,
    message: ChatMessage,
    changes: dict[str, Any],
    attachment: attachments.CheckedAttachment | None = None,
) -> None:
    """Insert `message` and apply `changes` to its locked session in one statement (one round
    trip, no ORM unit of work), then record both as the loaded objects' committed state: the
    message stays out of the ORM session and the session object has nothing left to flush.
    `changes` holds the new values, computed from the locked row. An `attachment` is stored
    right after its message, in the same transaction."""
    params = {f"m_{column}": getattr(message, column) for column in MESSAGE_COLUMNS}
    params.update({f"s_{name}": value for name, value in changes.items()})
    params["session_id"] = chat.id
    db.session.execute(_write_statement(tuple(changes)), params)
    for name, value in changes.items():
        set_committed_value(chat, name, value)
    if attachment is not None:
        attachments.store(message, attachment, message.sender_user_id)


@functools.cache
def _write_statement(changed: tuple[str, ...]):
    """The message INSERT (in a CTE) and the UPDATE of the session's `changed` columns, built
    once per set of columns; the values are bound per request."""
    messages, sessions = ChatMessage.__table__, ChatSession.__table__
    inserted = (
        messages.insert()
        .values(
            {
                column: bindparam(f"m_{column}", type_=messages.c[column].type)
                for column in MESSAGE_COLUMNS
            }
        )
        .cte("new_message")
    )
    return (
        update(sessions)
        .where(sessions.c.id == bindparam("session_id", type_=sessions.c.id.type))
        .values({name: bindparam(f"s_{name}", type_=sessions.c[name].type) for name in changed})
        .add_cte(inserted)
    )


def _first_response(session: ChatSession, now) -> float | None:
    """The first support reply since the session was created (or last requeued)."""
    if session.first_response_at is not None:
        return None
    started = session.requeued_at or session.created_at
    return max((now - started).total_seconds(), 0.0)


def _ends_wait(session: ChatSession, now) -> float | None:
    if session.waiting_since is None:
        return None
    return max((now - session.waiting_since).total_seconds(), 0.0)

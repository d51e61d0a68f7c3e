"""A customer's data rights and the retention rules: export everything held about a user,
erase a user, erase old sessions' content, remove inactive guests.

Erasing keeps every row the counters, stats rollups and metrics are built from: sessions stay
(status, agent, times) as anonymous shells, messages stay with their sender, times and response
figures but no text, ratings keep their score but no comment, the user row stays with no name,
email, password or host-site link. So no trigger-maintained counter or rollup changes, except
that a customer's open sessions are closed first (as any close would).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, exists, func, or_, select, update

from supportapp.auth import blocklist
from supportapp.auth.actor import SYSTEM_ACTOR, Actor
from supportapp.auth.passwords import verify_password
from supportapp.errors import Conflict, NotFound, Unauthorized, ValidationFailed
from supportapp.extensions import db
from supportapp.jobs import request_auto_assignment
from supportapp.models import (
    AuditLog,
    ChatMessage,
    ChatSession,
    PushSubscription,
    Role,
    SessionRating,
    SessionStatus,
    User,
)
from supportapp.models.base import utcnow
from supportapp.realtime import events
from supportapp.services import attachments, audit
from supportapp.services.sessions import close_recorded
from supportapp.services.unit_of_work import UnitOfWork, in_batches, unit_of_work
from supportapp.services.users import MSG_USER_NOT_FOUND

MSG_ONLY_CUSTOMERS = "Solo se pueden exportar o borrar los datos de clientes (rol user)"
MSG_PASSWORD_REQUIRED = "La contraseña es obligatoria para borrar la cuenta"
MSG_WRONG_PASSWORD = "Contraseña incorrecta"
ERASED_NAME = "Usuario eliminado"
BATCH = 500

# Erasers of content stored beside the messages (attachments' files): each is called with the
# unit of work and the ids of the sessions being erased, inside the erasing transaction (and
# may register after-commit deletions of stored bytes with uow.after_commit).
SESSION_CONTENT_ERASERS: list[Callable[[UnitOfWork, list[uuid.UUID]], Any]] = [
    attachments.delete_session_attachments
]
# Collectors of the export's "attachments" section: function(user_id, session ids) returning
# each attachment's metadata and download link, JSON-ready.
ATTACHMENT_EXPORTERS: list[Callable[[uuid.UUID, list[uuid.UUID]], list[dict]]] = [
    attachments.export_rows
]


@dataclass
class UserExport:
    user: User
    sessions: list[ChatSession]
    messages: dict[uuid.UUID, list[ChatMessage]]
    ratings: list[SessionRating]
    audit_rows: list[AuditLog]
    attachments: list[dict] = field(default_factory=list)


# --- export ------------------------------------------------------------------------------------


def export_user(actor: Actor, user_id: uuid.UUID) -> UserExport:
    """Everything held about a customer. An admin's export is audited."""
    user = _customer(user_id)
    sessions = list(
        db.session.scalars(
            select(ChatSession)
            .where(ChatSession.user_id == user.id)
            .order_by(ChatSession.created_at, ChatSession.id)
        )
    )
    session_ids = [s.id for s in sessions]
    messages: dict[uuid.UUID, list[ChatMessage]] = {sid: [] for sid in session_ids}
    if session_ids:
        for message in db.session.scalars(
            select(ChatMessage)
            .where(ChatMessage.session_id.in_(session_ids))
            .order_by(ChatMessage.timestamp, ChatMessage.id)
        ):
            messages[message.session_id].append(message)
    ratings = list(
        db.session.scalars(
            select(SessionRating)
            .where(SessionRating.user_id == user.id)
            .order_by(SessionRating.created_at)
        )
    )
    about_user = and_(AuditLog.target_type == "user", AuditLog.target_id == str(user.id))
    conditions = [about_user, AuditLog.actor_id == user.id]
    if session_ids:
        conditions.append(AuditLog.session_id.in_(session_ids))
    audit_rows = list(
        db.session.scalars(
            select(AuditLog).where(or_(*conditions)).order_by(AuditLog.created_at, AuditLog.id)
        )
    )
    attachments = [row for collect in ATTACHMENT_EXPORTERS for row in collect(user.id, session_ids)]
    if actor.user_id != user.id:
        with unit_of_work() as uow:
            audit.record(uow, actor, "user.exported", target_type="user", target_id=user.id)
    return UserExport(user, sessions, messages, ratings, audit_rows, attachments)


def _customer(user_id: uuid.UUID, *, lock: bool = False) -> User:
    query = select(User).where(User.id == user_id)
    user = db.session.scalar(query.with_for_update() if lock else query)
    if user is None or user.erased_at is not None:
        raise NotFound(MSG_USER_NOT_FOUND)
    if user.role != Role.USER:
        raise Conflict(MSG_ONLY_CUSTOMERS)
    return user


# --- erasure -----------------------------------------------------------------------------------


def erase_user(actor: Actor, user_id: uuid.UUID, *, password: str | None = None) -> None:
    """Erase a customer: by an admin, or by the customer (password when the account has one;
    a guest's or host-site identity's token alone suffices). Their tokens stop working."""
    with unit_of_work() as uow:
        user = _customer(user_id, lock=True)
        if actor.user_id == user.id:
            _check_own_password(user, password)
        _erase(uow, actor, user, "self" if actor.user_id == user.id else "request")


def _check_own_password(user: User, password: str | None) -> None:
    if user.password_hash is None:
        return
    if not password:
        raise ValidationFailed.field("password", MSG_PASSWORD_REQUIRED)
    if not verify_password(user.password_hash, password):
        raise Unauthorized(MSG_WRONG_PASSWORD)


def _erase(uow: UnitOfWork, actor: Actor, user: User, reason: str) -> None:
    """Erase a locked user inside the caller's transaction; their tokens (this service's, whose
    `sub` is the user id, and an external issuer's, whose `sub` is the host-site id) are
    revoked once it commits."""
    now = utcnow()
    open_sessions = list(
        db.session.scalars(
            select(ChatSession)
            .where(
                ChatSession.user_id == user.id,
                ChatSession.status != SessionStatus.CLOSED,
            )
            .order_by(ChatSession.id)
            .with_for_update()
        )
    )
    for chat in open_sessions:
        close_recorded(uow, actor, chat, "session.closed_by_erasure", now)
    if any(s.support_agent_id for s in open_sessions):
        request_auto_assignment(uow)
    session_ids = list(
        db.session.scalars(select(ChatSession.id).where(ChatSession.user_id == user.id))
    )
    erase_session_content(uow, session_ids, now)
    db.session.execute(delete(PushSubscription).where(PushSubscription.user_id == user.id))
    subjects = [str(user.id)] + ([user.external_id] if user.external_id else [])
    audit.record(
        uow,
        actor,
        "user.erased",
        target_type="user",
        target_id=user.id,
        before={"isGuest": user.is_guest, "sessions": len(session_ids)},
        after={"reason": reason},
    )
    user.name = ERASED_NAME
    user.email = None
    user.password_hash = None
    user.external_id = None
    user.erased_at = now
    uow.db.flush()
    uow.emit(events.user_erased(str(user.id), [str(i) for i in session_ids], reason))
    uow.after_commit(lambda: blocklist.revoke_subjects(subjects))


def erase_session_content(
    uow: UnitOfWork, session_ids: list[uuid.UUID], at: datetime | None = None
) -> None:
    """Remove what was said in these sessions, keep what the figures are made of."""
    if not session_ids:
        return
    db.session.execute(
        update(ChatMessage)
        .where(ChatMessage.session_id.in_(session_ids), ChatMessage.message != "")
        .values(message="")
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        update(SessionRating)
        .where(SessionRating.session_id.in_(session_ids), SessionRating.comment.is_not(None))
        .values(comment=None)
        .execution_options(synchronize_session=False)
    )
    for eraser in SESSION_CONTENT_ERASERS:
        eraser(uow, session_ids)
    db.session.execute(
        update(ChatSession)
        .where(ChatSession.id.in_(session_ids), ChatSession.content_erased_at.is_(None))
        .values(content_erased_at=at or utcnow())
        .execution_options(synchronize_session=False)
    )


# --- retention (beat) --------------------------------------------------------------------------


def erase_expired_content(days: int, now: datetime | None = None) -> int:
    """RETENTION_DAYS: sessions closed more than `days` ago lose their content, oldest first,
    in batches of BATCH sessions."""
    if days <= 0:
        return 0
    cutoff = (now or utcnow()) - timedelta(days=days)

    def erase(uow: UnitOfWork, ids: list[uuid.UUID]) -> None:
        erase_session_content(uow, ids)
        audit.record(
            uow,
            SYSTEM_ACTOR,
            "retention.content_erased",
            target_type="chat_session",
            target_id=None,
            after={"sessions": len(ids), "closedBefore": cutoff.isoformat()},
        )

    query = (
        select(ChatSession.id)
        .where(
            ChatSession.status == SessionStatus.CLOSED,
            ChatSession.content_erased_at.is_(None),
            ChatSession.closed_at < cutoff,
        )
        .order_by(ChatSession.closed_at)
    )
    return in_batches(query, erase, BATCH)


def remove_inactive_guests(days: int, now: datetime | None = None) -> int:
    """GUEST_RETENTION_DAYS: guests with no activity (tokens issued, messages) for `days` and no
    open session go, in batches of BATCH. One with no session at all is deleted; one with closed
    sessions is erased like a data-erasure request, so the stats built on them stay exact."""
    if days <= 0:
        return 0
    cutoff = (now or utcnow()) - timedelta(days=days)

    def remove(uow: UnitOfWork, guests: list[User]) -> None:
        with_sessions = set(
            db.session.scalars(
                select(ChatSession.user_id)
                .where(ChatSession.user_id.in_([g.id for g in guests]))
                .distinct()
            )
        )
        deleted = [str(g.id) for g in guests if g.id not in with_sessions]
        for guest in guests:
            if guest.id in with_sessions:
                _erase(uow, SYSTEM_ACTOR, guest, "guest_cleanup")
            else:
                db.session.delete(guest)
        if deleted:
            uow.after_commit(lambda: blocklist.revoke_subjects(deleted))
        audit.record(
            uow,
            SYSTEM_ACTOR,
            "retention.guests_removed",
            target_type="user",
            target_id=None,
            after={
                "deleted": len(deleted),
                "erased": len(with_sessions),
                "inactiveSince": cutoff.isoformat(),
            },
        )

    recent_or_open = exists().where(
        ChatSession.user_id == User.id,
        or_(ChatSession.status != SessionStatus.CLOSED, ChatSession.last_message_at >= cutoff),
    )
    query = (
        select(User)
        .where(
            User.is_guest,
            User.erased_at.is_(None),
            func.coalesce(User.last_active_at, User.created_at) < cutoff,
            ~recent_or_open,
        )
        .order_by(User.last_active_at)
    )
    return in_batches(query, remove, BATCH)

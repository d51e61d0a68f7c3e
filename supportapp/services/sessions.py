"""Chat sessions: opening, listing, details, priority and closing (who may do which:
services/access.py)."""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Select, and_, bindparam, func, select, true, update
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import aliased
from sqlalchemy.orm.attributes import set_committed_value

from supportapp import texts
from supportapp.auth.actor import Actor
from supportapp.errors import Conflict
from supportapp.extensions import db
from supportapp.jobs import notify_queued, request_auto_assignment
from supportapp.models import (
    ChatMessage,
    ChatSession,
    ChatTransfer,
    Priority,
    Sender,
    SessionRating,
    SessionStatsHourly,
    SessionStatus,
    SupportAgent,
    Team,
    User,
)
from supportapp.models.base import utcnow
from supportapp.realtime import events
from supportapp.services import access, audit, sla, teams
from supportapp.services.business_hours import is_open, next_open_at, schedule_of
from supportapp.services.unit_of_work import UnitOfWork, unit_of_work

MSG_SESSION_CLOSED = "La sesión de chat está cerrada"
MSG_ALREADY_CLOSED = "La sesión de chat ya está cerrada"
MSG_TOO_MANY_OPEN = (
    "Ya tienes {max_open} sesiones de chat abiertas; cierra alguna antes de abrir otra"
)

SORT_COLUMNS = {
    "createdAt": ChatSession.created_at,
    "lastMessageAt": ChatSession.last_message_at,
    "assignedAt": ChatSession.assigned_at,
    "priority": ChatSession.priority_rank,
    "status": ChatSession.status,
}


@dataclass(frozen=True)
class SessionFilters:
    status: SessionStatus | None = None
    priority: Priority | None = None
    support_agent_id: uuid.UUID | None = None
    user_id: uuid.UUID | None = None
    team_id: uuid.UUID | None = None


@dataclass(frozen=True)
class SessionPage:
    # (session, its last message): ORM objects or column tuples with the same attributes.
    rows: list[tuple[Any, Any]]
    total: int


# --- reading -------------------------------------------------------------------------------


def get_visible_session(actor: Actor, session_id: uuid.UUID, *, lock: bool = False) -> ChatSession:
    """The session, if the actor may see it: its owner or any support role. Otherwise 404,
    exactly as if it did not exist."""
    chat = db.session.scalar(_session_statement(lock), {"session_id": session_id})
    access.ensure_visible(actor, chat)
    return chat


def lock_with_last_message(
    session_id: uuid.UUID,
) -> tuple[ChatSession | None, ChatMessage | None]:
    """The session locked FOR UPDATE and its most recent message, usually in one statement.
    No visibility check: the caller checks in the order its API promises.

    New messages wait for this lock, but a statement that waited for it re-reads only the
    locked row: the message joined to it is the one of the statement's start. Every message
    write sets `last_message_at` to its message's timestamp (and a session without messages
    keeps its `created_at` there), so a message that does not match the locked row was
    written meanwhile: then the message is read again, after the lock (`last_message_of`)."""
    row = db.session.execute(_locked_with_last_statement(), {"session_id": session_id}).first()
    if row is None:
        return None, None
    chat, last = row
    shown = last.timestamp if last is not None else chat.created_at
    if shown != chat.last_message_at:
        last = last_message_of(chat.id)
    return chat, last


def get_visible_locked_with_last(
    actor: Actor, session_id: uuid.UUID
) -> tuple[ChatSession, ChatMessage | None]:
    """`get_visible_session(lock=True)` with the session's most recent message."""
    chat, last = lock_with_last_message(session_id)
    access.ensure_visible(actor, chat)
    return chat, last


@functools.cache
def _session_statement(lock: bool) -> Select:
    query = select(ChatSession).where(ChatSession.id == bindparam("session_id"))
    return query.with_for_update() if lock else query


@functools.cache
def _locked_with_last_statement() -> Select:
    last = (
        select(ChatMessage)
        .where(ChatMessage.session_id == ChatSession.id)
        .order_by(ChatMessage.timestamp.desc(), ChatMessage.id.desc())
        .limit(1)
        .lateral("last_message")
    )
    return (
        select(ChatSession, aliased(ChatMessage, last))
        .outerjoin(last, true())
        .where(ChatSession.id == bindparam("session_id"))
        .with_for_update(of=ChatSession)
    )


def ensure_open(session: ChatSession) -> None:
    if session.status == SessionStatus.CLOSED:
        raise Conflict(MSG_SESSION_CLOSED)


def last_message_of(session_id: uuid.UUID) -> ChatMessage | None:
    return db.session.scalar(
        select(ChatMessage)
        .where(ChatMessage.session_id == session_id)
        .order_by(ChatMessage.timestamp.desc(), ChatMessage.id.desc())
        .limit(1)
    )


def last_messages_of(session_ids: list[uuid.UUID]) -> dict[uuid.UUID, ChatMessage]:
    """The most recent message of each session, in one query."""
    if not session_ids:
        return {}
    ids = select(
        func.unnest(func.cast(session_ids, ARRAY(UUID(as_uuid=True)))).label("id")
    ).subquery("ids")
    last = (
        select(ChatMessage)
        .where(ChatMessage.session_id == ids.c.id)
        .order_by(ChatMessage.timestamp.desc(), ChatMessage.id.desc())
        .limit(1)
        .lateral("last_message")
    )
    message = aliased(ChatMessage, last)
    return {
        m.session_id: m
        for m in db.session.scalars(select(message).select_from(ids).join(last, true()))
    }


def messages_of(session_id: uuid.UUID) -> list[ChatMessage]:
    """The whole conversation, oldest first."""
    return list(db.session.scalars(_messages_statement(), {"session_id": session_id}))


@functools.cache
def _messages_statement() -> Select:
    return (
        select(ChatMessage)
        .where(ChatMessage.session_id == bindparam("session_id"))
        .order_by(ChatMessage.timestamp, ChatMessage.id)
    )


def list_sessions(
    filters: SessionFilters,
    *,
    sort_by: str = "lastMessageAt",
    sort_order: str = "desc",
    page: int = 1,
    limit: int = 20,
) -> SessionPage:
    """One page of sessions, each with its most recent message (a LATERAL join) and the
    total, in one statement whatever the page size. Rows are plain column tuples (what
    representations.session_dict / message_dict read), not ORM objects: lists are the hottest
    read, and identity-map bookkeeping for 20 sessions and 20 messages costs more than the SQL."""
    params = {name: value for name, value in _filter_values(filters).items() if value is not None}
    statement = _list_statement(sort_by, sort_order, frozenset(params))
    rows = db.session.execute(
        statement, {**params, "limit": limit, "offset": (page - 1) * limit}
    ).all()
    if not rows:  # past the last page: the total still counts
        return SessionPage(rows=[], total=count_sessions(filters))
    return SessionPage(
        rows=[(row, _last_message(row)) for row in rows], total=int(rows[0].total or 0)
    )


def _filter_values(filters: SessionFilters) -> dict[str, Any]:
    return {
        "status": filters.status,
        "priority": filters.priority,
        "support_agent_id": filters.support_agent_id,
        "user_id": filters.user_id,
        "team_id": filters.team_id,
    }


@functools.lru_cache(maxsize=256)
def _list_statement(sort_by: str, sort_order: str, filtered_by: frozenset[str]) -> Select:
    """The list statement for one sort and one set of filters, built once: filter values,
    limit and offset are bound parameters, so SQLAlchemy's cache key is computed once too."""
    column = SORT_COLUMNS[sort_by]
    descending = sort_order == "desc"

    def ordered(key, tie):
        return [key.desc(), tie.desc()] if descending else [key.asc(), tie.asc()]

    conditions = [getattr(ChatSession, name) == bindparam(name) for name in sorted(filtered_by)]
    page = (
        select(*(getattr(ChatSession, name) for name in LISTED_SESSION))
        .add_columns(*([] if column.key in LISTED_SESSION else [column]))
        .where(*conditions)
        .order_by(*ordered(column, ChatSession.id))
        .limit(bindparam("limit"))
        .offset(bindparam("offset"))
        .subquery("page")
    )
    last = (
        select(*(getattr(ChatMessage, name).label(f"m_{name}") for name in LISTED_MESSAGE))
        .where(ChatMessage.session_id == page.c.id)
        .order_by(ChatMessage.timestamp.desc(), ChatMessage.id.desc())
        .limit(1)
        .lateral("last_message")
    )
    total = _count_statement(filtered_by)
    return (
        select(
            *(page.c[name] for name in LISTED_SESSION),
            *last.c,
            total.correlate(None).scalar_subquery().label("total"),
        )
        .outerjoin(last, true())
        .order_by(*ordered(page.c[column.key], page.c.id))
    )


# The columns a listed session and its last message are shown with (representations.py).
LISTED_SESSION = (
    "id",
    "user_id",
    "support_agent_id",
    "status",
    "priority",
    "assigned_at",
    "created_at",
    "last_message_at",
    "closed_at",
    "unread_user_count",
    "team_id",
    "outside_business_hours",
    "first_response_at",
    "first_response_due_at",
    "resolution_due_at",
)
LISTED_MESSAGE = ("id", "session_id", "message", "sender", "timestamp", "is_read", "attachments")


class ListedMessage(NamedTuple):
    id: uuid.UUID
    session_id: uuid.UUID
    message: str
    sender: Sender
    timestamp: datetime
    is_read: bool
    attachments: list[dict]


def _last_message(row: Any) -> ListedMessage | None:
    if row.m_id is None:
        return None
    return ListedMessage(*(getattr(row, f"m_{name}") for name in LISTED_MESSAGE))


def count_sessions(filters: SessionFilters) -> int:
    params = {name: value for name, value in _filter_values(filters).items() if value is not None}
    return int(db.session.scalar(_count_statement(frozenset(params)), params) or 0)


@functools.lru_cache(maxsize=64)
def _count_statement(filtered_by: frozenset[str]) -> Select:
    """Status/priority-only filters read the trigger-kept counters; agent and user filters
    are narrow enough to count through their indexes."""
    if filtered_by <= {"status", "priority"}:
        return select(func.coalesce(func.sum(SessionStatsHourly.sessions), 0)).where(
            *(getattr(SessionStatsHourly, name) == bindparam(name) for name in sorted(filtered_by))
        )
    return select(func.count(ChatSession.id)).where(
        *(getattr(ChatSession, name) == bindparam(name) for name in sorted(filtered_by))
    )


@functools.cache
def _details_statement() -> Select:
    customer = aliased(ChatSession, name="customer_session")
    of_customer = customer.user_id == ChatSession.user_id
    return (
        select(
            ChatSession,
            User,
            SupportAgent,
            SessionRating,
            # The customer's history at a glance: how many sessions, the newest one's start.
            select(func.count(customer.id)).where(of_customer).scalar_subquery(),
            select(func.max(customer.created_at)).where(of_customer).scalar_subquery(),
        )
        .outerjoin(User, User.id == ChatSession.user_id)
        .outerjoin(SupportAgent, SupportAgent.id == ChatSession.support_agent_id)
        .outerjoin(SessionRating, SessionRating.session_id == ChatSession.id)
        .where(ChatSession.id == bindparam("session_id"))
    )


@dataclass(frozen=True)
class SessionDetails:
    session: ChatSession
    messages: list[ChatMessage]
    user: User | None
    agent: SupportAgent | None
    rating: SessionRating | None = None
    # Staff only (empty for anyone else): hand-overs between agents, oldest first.
    transfers: list[ChatTransfer] = field(default_factory=list)
    user_sessions_count: int = 0
    user_last_session_at: datetime | None = None


def session_details(actor: Actor, session_id: uuid.UUID) -> SessionDetails:
    """The session with its user, agent and rating (one statement), its messages and, for
    staff, its transfers."""
    found = db.session.execute(_details_statement(), {"session_id": session_id}).first()
    access.ensure_visible(actor, found[0] if found else None)
    chat, user, agent, rating, sessions_count, last_session_at = found
    return SessionDetails(
        session=chat,
        messages=messages_of(chat.id),
        user=user,
        agent=agent,
        rating=rating,
        transfers=transfers_of(chat.id) if actor.is_support else [],
        user_sessions_count=sessions_count,
        user_last_session_at=last_session_at,
    )


def transfers_of(session_id: uuid.UUID) -> list[ChatTransfer]:
    return list(
        db.session.scalars(
            select(ChatTransfer)
            .where(ChatTransfer.session_id == session_id)
            .order_by(ChatTransfer.created_at, ChatTransfer.id)
        )
    )


# --- opening -------------------------------------------------------------------------------


def open_session(
    actor: Actor,
    first_message: str | None,
    team_id: uuid.UUID | None = None,
    *,
    max_open: int,
) -> tuple[ChatSession, list[ChatMessage]]:
    """A user opens a `pending` session, optionally with its first message and for a public
    team; it enters the queue. Opened while the team is closed, it waits with
    `outside_business_hours` and the agents' push goes out when the team opens. A user holds
    at most `max_open` sessions that are not closed (409 beyond)."""
    now = utcnow()
    team = teams.public_team(team_id) if team_id is not None else None
    schedule = schedule_of(team)
    open_now = is_open(schedule, now)
    with unit_of_work() as uow:
        ensure_may_open(actor.user_id, max_open)
        chat = ChatSession(
            id=uuid.uuid4(),
            user_id=actor.user_id,
            status=SessionStatus.PENDING,
            priority=Priority.MEDIUM,
            created_at=now,
            last_message_at=now,
            queued_at=now,
            team_id=team.id if team else None,
            outside_business_hours=not open_now,
            deferred_notice_at=None if open_now else next_open_at(schedule, now),
            sla_notices=0,
        )
        sla.apply_due_times(chat, team, now=now)
        messages: list[ChatMessage] = []
        if first_message:
            chat.waiting_since = now
            chat.unread_user_count = 1
            messages.append(
                ChatMessage(
                    id=uuid.uuid4(),
                    session_id=chat.id,
                    message=first_message,
                    sender="user",
                    sender_user_id=actor.user_id,
                    timestamp=now,
                )
            )
        uow.db.add(chat)
        uow.db.flush()
        uow.db.add_all(messages)
        uow.db.flush()
        uow.emit(events.chat_created(chat, messages))
        for message in messages:
            uow.emit(events.chat_message_received(chat, message))
        request_auto_assignment(uow)
        if open_now:
            notify_queued(uow, [chat.id], "created")
    return chat, messages


def opening_message_cost(message: object) -> int:
    """What opening a session spends of the sender's message budget (MESSAGE_RATE_LIMIT): a
    first message counts as one message; none, or a blank one (refused), costs nothing."""
    return 0 if not isinstance(message, str) or texts.blank(message) else 1


def ensure_may_open(user_id: uuid.UUID, max_open: int) -> None:
    """The open-sessions cap. The user's row is locked first, so two concurrent openings by
    the same user (any process) are counted one after the other and cannot both pass."""
    db.session.execute(select(User.id).where(User.id == user_id).with_for_update())
    open_count = db.session.scalar(
        select(func.count())
        .select_from(ChatSession)
        .where(ChatSession.user_id == user_id, ChatSession.status != SessionStatus.CLOSED)
    )
    if open_count >= max_open:
        raise Conflict(MSG_TOO_MANY_OPEN.format(max_open=max_open))


# --- changing ------------------------------------------------------------------------------


def change_priority(
    actor: Actor, session_id: uuid.UUID, priority: Priority
) -> tuple[ChatSession, ChatMessage | None]:
    """The session and its most recent message (read with the lock, before COMMIT)."""
    with unit_of_work() as uow:
        chat, last = get_visible_locked_with_last(actor, session_id)
        ensure_open(chat)
        previous = chat.priority
        if previous != priority:
            # The new priority and its due times in one statement that also brings back the
            # database-computed rank; the loaded object takes them as committed values
            # (nothing left for the ORM to flush).
            set_committed_value(chat, "priority", priority)
            team = uow.db.get(Team, chat.team_id) if chat.team_id else None
            with uow.db.no_autoflush:
                due = sla.apply_due_times(chat, team)
                values = {f"new_{name}": value for name, value in due.items()}
                rank = uow.db.scalar(
                    _priority_statement(tuple(due)),
                    {"session_id": chat.id, "new_priority": priority, **values},
                )
            for name, value in due.items():
                set_committed_value(chat, name, value)
            set_committed_value(chat, "priority_rank", rank)
            audit.record(
                uow,
                actor,
                "session.priority_changed",
                target_type="chat_session",
                target_id=chat.id,
                session_id=chat.id,
                before={"priority": str(previous)},
                after={"priority": str(priority)},
            )
            uow.emit(events.chat_priority_changed(chat, previous))
    return chat, last


@functools.cache
def _priority_statement(due_columns: tuple[str, ...]):
    """UPDATE of a session's priority and the due-time columns named, returning its rank."""
    table = ChatSession.__table__
    return (
        update(table)
        .where(table.c.id == bindparam("session_id"))
        .values(
            priority=bindparam("new_priority", type_=table.c.priority.type),
            **{name: bindparam(f"new_{name}", type_=table.c[name].type) for name in due_columns},
        )
        .returning(table.c.priority_rank)
    )


def close_session(actor: Actor, session_id: uuid.UUID) -> tuple[ChatSession, ChatMessage | None]:
    """The owner, the assigned agent or an admin closes a session; the agent's load drops at
    once (trigger) and a freed slot may pull the next session from the queue. Returns the
    session and its most recent message (read with the lock, before COMMIT)."""
    with unit_of_work() as uow:
        session, last = get_visible_locked_with_last(actor, session_id)
        access.ensure_may_close(actor, session)
        if session.status == SessionStatus.CLOSED:
            raise Conflict(MSG_ALREADY_CLOSED)
        previous = close_recorded(uow, actor, session, "session.closed", audited=actor.is_support)
        if previous == SessionStatus.ACTIVE:
            request_auto_assignment(uow)
    return session, last


def close_recorded(
    uow: UnitOfWork,
    actor: Actor,
    session: ChatSession,
    action: str,
    at: datetime | None = None,
    *,
    audited: bool = True,
) -> SessionStatus:
    """Close a locked session with its audit row (`action`, when `audited`) and its
    chat_status_changed event; returns the status it had."""
    previous = session.status
    mark_closed(uow, session, at)
    if audited:
        audit.record(
            uow,
            actor,
            action,
            target_type="chat_session",
            target_id=session.id,
            session_id=session.id,
            before={"status": str(previous)},
            after={"status": "closed"},
        )
    uow.emit(events.chat_status_changed(session, previous))
    return previous


def mark_closed(uow: UnitOfWork, chat: ChatSession, at: datetime | None = None) -> None:
    """Close a locked session inside the caller's transaction (the trigger frees the slot)."""
    chat.status = SessionStatus.CLOSED
    chat.closed_at = at or utcnow()
    chat.waiting_since = None
    uow.db.flush()


def mark_read(actor: Actor, session_id: uuid.UUID) -> int:
    """Mark the other side's messages read: support marks the user's, the owner the agents'."""
    with unit_of_work() as uow:
        chat = get_visible_session(actor, session_id, lock=True)
        reading_as_owner = access.side_of(actor) == Sender.USER
        other_side = "support" if reading_as_owner else "user"
        result = uow.db.execute(
            ChatMessage.__table__.update()
            .where(
                and_(
                    ChatMessage.session_id == chat.id,
                    ChatMessage.sender == other_side,
                    ChatMessage.is_read.is_(False),
                )
            )
            .values(is_read=True)
        )
        if reading_as_owner:
            chat.unread_support_count = 0
        else:
            chat.unread_user_count = 0
        if result.rowcount:
            uow.emit(events.messages_read(chat, other_side, result.rowcount))
    return result.rowcount

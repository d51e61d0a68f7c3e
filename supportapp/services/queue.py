"""The pending queue: priority first (high → low), then oldest first."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update

from supportapp.auth.actor import Actor
from supportapp.extensions import db
from supportapp.jobs import notify_queued
from supportapp.models import ChatMessage, ChatSession, SessionStatus
from supportapp.models.base import utcnow
from supportapp.services.queue_order import QUEUE_ORDER, ahead_of
from supportapp.services.sessions import (
    SessionFilters,
    count_sessions,
    get_visible_session,
    last_messages_of,
)
from supportapp.services.unit_of_work import unit_of_work

RECENT_ASSIGNMENTS = 50
THROUGHPUT_WINDOW = timedelta(hours=1)


def pending_query(team_id: uuid.UUID | None = None):
    query = select(ChatSession).where(ChatSession.status == SessionStatus.PENDING)
    if team_id is not None:
        query = query.where(ChatSession.team_id == team_id)
    return query


def queue_page(
    page: int, limit: int, team_id: uuid.UUID | None = None
) -> tuple[list[tuple[int, ChatSession, ChatMessage | None]], int]:
    """Pending sessions (of one team, when given) in assignment order, each with its 1-based
    position."""
    offset = (page - 1) * limit
    sessions = list(
        db.session.scalars(
            pending_query(team_id).order_by(*QUEUE_ORDER).limit(limit).offset(offset)
        )
    )
    last = last_messages_of([s.id for s in sessions])
    rows = [(offset + i + 1, s, last.get(s.id)) for i, s in enumerate(sessions)]
    return rows, count_sessions(SessionFilters(status=SessionStatus.PENDING, team_id=team_id))


@dataclass(frozen=True)
class QueuePosition:
    position: int | None
    total: int
    estimated_wait_minutes: float | None


def position_of(actor: Actor, session_id: uuid.UUID) -> QueuePosition:
    """Where a session stands in its queue (its team's, for a team's session); `position` is
    null once it has left the queue."""
    chat = get_visible_session(actor, session_id)
    same_queue = (
        ChatSession.team_id.is_(None)
        if chat.team_id is None
        else ChatSession.team_id == chat.team_id
    )
    total = db.session.scalar(
        select(func.count(ChatSession.id)).where(
            ChatSession.status == SessionStatus.PENDING, same_queue
        )
    )
    if chat.status != SessionStatus.PENDING:
        return QueuePosition(position=None, total=total, estimated_wait_minutes=None)
    ahead = db.session.scalar(
        select(func.count(ChatSession.id)).where(
            ChatSession.status == SessionStatus.PENDING,
            same_queue,
            ahead_of(chat),
        )
    )
    position = int(ahead or 0) + 1
    return QueuePosition(
        position=position,
        total=total,
        estimated_wait_minutes=estimate_wait(position, chat.team_id),
    )


def estimate_wait(position: int, team_id: uuid.UUID | None = None) -> float | None:
    """Minutes until a session at `position` is taken, from recent history (of the team's
    sessions, for a team): the queue's throughput over the last hour when there is one, else
    the mean wait of the last assignments; null when nothing was ever assigned."""
    now = utcnow()
    recent = (
        select(ChatSession.assigned_at, ChatSession.queued_at)
        .where(
            ChatSession.assigned_at.is_not(None),
            ChatSession.queued_at.is_not(None),
            *([ChatSession.team_id == team_id] if team_id is not None else []),
        )
        .order_by(ChatSession.assigned_at.desc())
        .limit(RECENT_ASSIGNMENTS)
        .subquery()
    )
    count, mean_wait, in_window = db.session.execute(
        select(
            func.count(),
            func.avg(func.extract("epoch", recent.c.assigned_at - recent.c.queued_at)),
            func.count().filter(recent.c.assigned_at >= now - THROUGHPUT_WINDOW),
        )
    ).one()
    if not count:
        return None
    if in_window and in_window < RECENT_ASSIGNMENTS:
        per_minute = in_window / (THROUGHPUT_WINDOW.total_seconds() / 60)
        return round(position / per_minute, 1)
    if in_window:
        oldest = db.session.scalar(select(func.min(recent.c.assigned_at)))
        span_minutes = max((now - oldest).total_seconds() / 60, 1.0)
        return round(position / (in_window / span_minutes), 1)
    return round(max(float(mean_wait or 0), 0.0) / 60 * position, 1)


def release_deferred_notices(now: datetime | None = None) -> int:
    """Sessions opened while their team was closed whose team has opened: the agents' push
    (services/notifications.py) goes out now, once."""
    now = now or utcnow()
    with unit_of_work() as uow:
        released = uow.db.execute(
            update(ChatSession)
            .where(ChatSession.deferred_notice_at <= now)
            .values(deferred_notice_at=None)
            .returning(ChatSession.id, ChatSession.status)
        ).all()
        pending = [row.id for row in released if row.status == SessionStatus.PENDING]
        if pending:
            notify_queued(uow, pending, "created")
    return len(pending)

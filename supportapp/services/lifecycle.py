"""Time-based rules: unanswered sessions go back to the queue, idle sessions are closed."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from supportapp.auth.actor import SYSTEM_ACTOR
from supportapp.extensions import db
from supportapp.jobs import notify_queued, request_auto_assignment
from supportapp.models import ChatSession, SessionStatus
from supportapp.models.base import utcnow
from supportapp.realtime import events
from supportapp.services import audit
from supportapp.services.sessions import mark_closed
from supportapp.services.unit_of_work import unit_of_work

BATCH = 200


def requeue_unanswered(minutes: int, now: datetime | None = None) -> int:
    """Assigned sessions whose user has waited longer than `minutes` for a support reply lose
    their agent and go back to the queue, keeping their place by the time the wait began."""
    if minutes <= 0:
        return 0
    deadline = (now or utcnow()) - timedelta(minutes=minutes)
    total = 0
    while True:
        with unit_of_work() as uow:
            stale = list(
                db.session.scalars(
                    select(ChatSession)
                    .where(
                        ChatSession.status == SessionStatus.ACTIVE,
                        ChatSession.waiting_since.is_not(None),
                        ChatSession.waiting_since < deadline,
                    )
                    .order_by(ChatSession.waiting_since)
                    .limit(BATCH)
                    .with_for_update(skip_locked=True)
                )
            )
            for session in stale:
                previous_agent = session.support_agent_id
                session.status = SessionStatus.PENDING
                session.support_agent_id = None
                session.assigned_at = None
                session.queued_at = session.waiting_since
                session.requeued_at = deadline + timedelta(minutes=minutes)
                session.first_response_at = None
                uow.session.flush()
                audit.record(
                    uow,
                    SYSTEM_ACTOR,
                    "session.requeued",
                    target_type="chat_session",
                    target_id=session.id,
                    session_id=session.id,
                    before={"status": "active", "supportAgentId": str(previous_agent)},
                    after={"status": "pending", "supportAgentId": None},
                )
                uow.emit(events.chat_status_changed(session, SessionStatus.ACTIVE))
            if stale:
                uow.after_commit(request_auto_assignment)
                uow.after_commit(lambda ids=[s.id for s in stale]: notify_queued(ids, "requeued"))
        total += len(stale)
        if len(stale) < BATCH:
            return total


def close_inactive(hours: int, now: datetime | None = None) -> int:
    """Open sessions with no message for `hours` are closed by the system."""
    if hours <= 0:
        return 0
    moment = now or utcnow()
    deadline = moment - timedelta(hours=hours)
    total = 0
    while True:
        with unit_of_work() as uow:
            idle = list(
                db.session.scalars(
                    select(ChatSession)
                    .where(
                        ChatSession.status.in_([SessionStatus.ACTIVE, SessionStatus.PENDING]),
                        ChatSession.last_message_at < deadline,
                    )
                    .order_by(ChatSession.last_message_at)
                    .limit(BATCH)
                    .with_for_update(skip_locked=True)
                )
            )
            freed = False
            for session in idle:
                previous = session.status
                freed = freed or previous == SessionStatus.ACTIVE
                mark_closed(uow, session, moment)
                audit.record(
                    uow,
                    SYSTEM_ACTOR,
                    "session.auto_closed",
                    target_type="chat_session",
                    target_id=session.id,
                    session_id=session.id,
                    before={"status": str(previous)},
                    after={"status": "closed"},
                )
                uow.emit(events.chat_status_changed(session, previous))
            if freed:
                uow.after_commit(request_auto_assignment)
        total += len(idle)
        if len(idle) < BATCH:
            return total

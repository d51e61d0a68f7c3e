"""Time-based rules: unanswered sessions and those of offline agents go back to the queue,
idle sessions are closed."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from supportapp.auth.actor import SYSTEM_ACTOR
from supportapp.jobs import notify_queued, request_auto_assignment
from supportapp.models import ChatSession, Presence, SessionStatus, SupportAgent
from supportapp.models.base import utcnow
from supportapp.realtime import events
from supportapp.services import audit
from supportapp.services.queue_order import QUEUE_ORDER
from supportapp.services.sessions import close_recorded
from supportapp.services.unit_of_work import UnitOfWork, in_batches

BATCH = 200


def requeue_unanswered(minutes: int, now: datetime | None = None) -> int:
    """Assigned sessions whose user has waited longer than `minutes` for a support reply lose
    their agent and go back to the queue, keeping their place by the time the wait began."""
    if minutes <= 0:
        return 0
    deadline = (now or utcnow()) - timedelta(minutes=minutes)

    def requeue(uow: UnitOfWork, stale: list[ChatSession]) -> None:
        for session in stale:
            _requeue(
                uow,
                session,
                queued_at=session.waiting_since,
                at=deadline + timedelta(minutes=minutes),
                reason="unanswered",
            )
        _after_requeue(uow, stale)

    query = (
        select(ChatSession)
        .where(
            ChatSession.status == SessionStatus.ACTIVE,
            ChatSession.waiting_since.is_not(None),
            ChatSession.waiting_since < deadline,
        )
        .order_by(ChatSession.waiting_since)
    )
    return in_batches(query, requeue, BATCH)


def requeue_offline(seconds: int, now: datetime | None = None) -> int:
    """Active sessions of agents offline for longer than `seconds` go back to the queue,
    keeping their place (their original `queued_at`)."""
    if seconds <= 0:
        return 0
    moment = now or utcnow()

    def requeue(uow: UnitOfWork, orphaned: list[ChatSession]) -> None:
        for session in orphaned:
            _requeue(uow, session, queued_at=session.queued_at, at=moment, reason="offline")
        _after_requeue(uow, orphaned)

    # A subquery, not a join: only the sessions are locked, never the agents' rows.
    gone = select(SupportAgent.id).where(
        SupportAgent.presence == Presence.OFFLINE,
        SupportAgent.presence_changed_at < moment - timedelta(seconds=seconds),
    )
    query = (
        select(ChatSession)
        .where(ChatSession.status == SessionStatus.ACTIVE, ChatSession.support_agent_id.in_(gone))
        .order_by(*QUEUE_ORDER)
    )
    return in_batches(query, requeue, BATCH)


def _requeue(
    uow: UnitOfWork, chat: ChatSession, *, queued_at: datetime | None, at: datetime, reason: str
) -> None:
    """A locked active session loses its agent and waits in the queue again from `queued_at`;
    its first-response clock restarts at `at`."""
    previous_agent = chat.support_agent_id
    chat.status = SessionStatus.PENDING
    chat.support_agent_id = None
    chat.assigned_at = None
    chat.queued_at = queued_at
    chat.requeued_at = at
    chat.first_response_at = None
    uow.db.flush()
    audit.record(
        uow,
        SYSTEM_ACTOR,
        "session.requeued",
        target_type="chat_session",
        target_id=chat.id,
        session_id=chat.id,
        before={"status": "active", "supportAgentId": str(previous_agent)},
        after={"status": "pending", "supportAgentId": None, "reason": reason},
    )
    uow.emit(events.chat_status_changed(chat, SessionStatus.ACTIVE))


def _after_requeue(uow: UnitOfWork, sessions: list[ChatSession]) -> None:
    request_auto_assignment(uow)
    notify_queued(uow, [s.id for s in sessions], "requeued")


def close_inactive(hours: int, now: datetime | None = None) -> int:
    """Open sessions with no message for `hours` are closed by the system."""
    if hours <= 0:
        return 0
    moment = now or utcnow()
    deadline = moment - timedelta(hours=hours)

    def close(uow: UnitOfWork, idle: list[ChatSession]) -> None:
        freed = False
        for session in idle:
            previous = close_recorded(uow, SYSTEM_ACTOR, session, "session.auto_closed", moment)
            freed = freed or previous == SessionStatus.ACTIVE
        if freed:
            request_auto_assignment(uow)

    query = (
        select(ChatSession)
        .where(
            ChatSession.status.in_([SessionStatus.ACTIVE, SessionStatus.PENDING]),
            ChatSession.last_message_at < deadline,
        )
        .order_by(ChatSession.last_message_at)
    )
    return in_batches(query, close, BATCH)

"""The service's state as operators watch it (read at each /metrics scrape)."""

from __future__ import annotations

from sqlalchemy import func, select, text

from supportapp.extensions import db
from supportapp.models import ChatSession, SessionStatus
from supportapp.models.base import utcnow
from supportapp.services.availability import online_agents
from supportapp.services.sessions import SessionFilters, count_sessions

# The oldest row by id (the primary key's index), not min(created_at): no scan for the age.
OUTBOX_BACKLOG = text(
    "SELECT count(*), COALESCE(EXTRACT(EPOCH FROM clock_timestamp() - "
    "(SELECT created_at FROM event_outbox ORDER BY id LIMIT 1)), 0) FROM event_outbox"
)


def current_state() -> list[tuple[str, str, float]]:
    """(metric name, help, value) of each state gauge, read in one short transaction."""
    try:
        waiting = count_sessions(SessionFilters(status=SessionStatus.PENDING))
        online = online_agents(None)
        oldest = db.session.scalar(
            select(func.min(ChatSession.queued_at)).where(
                ChatSession.status == SessionStatus.PENDING
            )
        )
        backlog, backlog_age = db.session.execute(OUTBOX_BACKLOG).one()
    finally:
        db.session.rollback()
    longest = (utcnow() - oldest).total_seconds() if oldest is not None else 0.0
    return [
        ("supportapp_queue_length", "Chat sessions waiting in the queue", float(waiting)),
        (
            "supportapp_queue_longest_wait_seconds",
            "How long the longest-waiting queued session has waited",
            max(longest, 0.0),
        ),
        ("supportapp_agents_online", "Active agents whose presence is online", float(online)),
        (
            "supportapp_outbox_backlog",
            "Events and jobs waiting in the outbox to be handed to Redis",
            float(backlog),
        ),
        (
            "supportapp_outbox_oldest_age_seconds",
            "Age of the oldest row waiting in the outbox (0 when empty)",
            max(float(backlog_age), 0.0),
        ),
    ]

"""Chat sessions and their messages."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import (
    Boolean,
    Computed,
    DateTime,
    Index,
    SmallInteger,
    String,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from supportapp.extensions import db
from supportapp.models.base import (
    created_at_column,
    optional_time,
    owned_by,
    refers_to,
    utcnow,
    uuid_pk,
    value_enum,
    zero_counter,
)


class SessionStatus(enum.StrEnum):
    ACTIVE = "active"
    CLOSED = "closed"
    PENDING = "pending"


class Priority(enum.StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class Sender(enum.StrEnum):
    USER = "user"
    SUPPORT = "support"


status_enum = value_enum(SessionStatus, "session_status")
priority_enum = value_enum(Priority, "session_priority")
sender_enum = value_enum(Sender, "message_sender")

# The priority's severity, the one definition of "more urgent": the stored `priority_rank`
# column is computed from it (PRIORITY_RANK_SQL) and services/queue_order.py orders by it.
PRIORITY_RANK = {Priority.HIGH: 3, Priority.MEDIUM: 2, Priority.LOW: 1}
_RANKED = sorted(PRIORITY_RANK.items(), key=lambda item: -item[1])
PRIORITY_RANK_SQL = (
    "CASE priority "
    + " ".join(f"WHEN '{priority}' THEN {rank}" for priority, rank in _RANKED[:-1])
    + f" ELSE {_RANKED[-1][1]} END"
)

# The searchable form of a message: its Spanish and its English lexemes, lower-cased and
# without accents (the message_search migration creates both configurations;
# docs/decisions.md says why).
SEARCH_CONFIGURATIONS = ("supportapp_es", "supportapp_en")
SEARCH_VECTOR_SQL = " || ".join(
    f"to_tsvector('{name}'::regconfig, message)" for name in SEARCH_CONFIGURATIONS
)


class ChatSession(db.Model):
    __tablename__ = "chat_sessions"
    __table_args__ = (
        Index("ix_sessions_last_message", "last_message_at", "id"),
        Index("ix_sessions_created", "created_at", "id"),
        Index("ix_sessions_assigned", "assigned_at", "id"),
        Index("ix_sessions_priority", "priority_rank", "id"),
        Index("ix_sessions_status_last_message", "status", "last_message_at", "id"),
        Index("ix_sessions_status_created", "status", "created_at", "id"),
        Index("ix_sessions_status_id", "status", "id"),
        Index("ix_sessions_user_last_message", "user_id", "last_message_at", "id"),
        Index("ix_sessions_agent_status", "support_agent_id", "status", "last_message_at"),
        Index("ix_sessions_agent_created", "support_agent_id", "created_at"),
        # The pending queue: priority (high first), then oldest first.
        Index(
            "ix_sessions_queue",
            text("priority_rank DESC"),
            "queued_at",
            "id",
            postgresql_where=text("status = 'pending'"),
        ),
        # Retention: closed sessions whose content has not been erased yet, oldest close first.
        Index(
            "ix_sessions_retention",
            "closed_at",
            postgresql_where=text("status = 'closed' AND content_erased_at IS NULL"),
        ),
        Index(
            "ix_sessions_waiting",
            "waiting_since",
            postgresql_where=text("status = 'active' AND waiting_since IS NOT NULL"),
        ),
        Index("ix_sessions_team_created", "team_id", "created_at"),
        # What the SLA sweep reads: open sessions by their next warning time.
        Index(
            "ix_sessions_sla_first_response",
            "first_response_warn_at",
            postgresql_where=text("status <> 'closed' AND first_response_warn_at IS NOT NULL"),
        ),
        Index(
            "ix_sessions_sla_resolution",
            "resolution_warn_at",
            postgresql_where=text("status <> 'closed' AND resolution_warn_at IS NOT NULL"),
        ),
        # The sessions that have an SLA target, by creation (analytics/sla.py: slaMet).
        Index(
            "ix_sessions_sla_created",
            "created_at",
            postgresql_where=text(
                "first_response_due_at IS NOT NULL OR resolution_due_at IS NOT NULL"
            ),
        ),
        Index(
            "ix_sessions_deferred_notice",
            "deferred_notice_at",
            postgresql_where=text("deferred_notice_at IS NOT NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = owned_by("users")
    support_agent_id: Mapped[uuid.UUID | None] = refers_to("support_agents")
    status: Mapped[SessionStatus] = mapped_column(
        status_enum, nullable=False, default=SessionStatus.PENDING, server_default="pending"
    )
    priority: Mapped[Priority] = mapped_column(
        priority_enum, nullable=False, default=Priority.MEDIUM, server_default="medium"
    )
    # PRIORITY_RANK stored (high=3 … low=1), so sorting and the queue use an index.
    priority_rank: Mapped[int] = mapped_column(
        SmallInteger,
        Computed(PRIORITY_RANK_SQL, persisted=True),
    )
    assigned_at: Mapped[datetime | None] = optional_time()
    created_at: Mapped[datetime] = created_at_column()
    last_message_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow, server_default=text("now()")
    )
    queued_at: Mapped[datetime | None] = optional_time()
    # Time of the user message that started the current wait for a support reply.
    waiting_since: Mapped[datetime | None] = optional_time()
    first_response_at: Mapped[datetime | None] = optional_time()
    # Set when an unanswered session goes back to the queue: its first-response clock restarts.
    requeued_at: Mapped[datetime | None] = optional_time()
    closed_at: Mapped[datetime | None] = optional_time()
    # When the messages' text (and attachments, rating comment) were erased; the row stays.
    content_erased_at: Mapped[datetime | None] = optional_time()
    unread_user_count: Mapped[int] = zero_counter()
    unread_support_count: Mapped[int] = zero_counter()
    team_id: Mapped[uuid.UUID | None] = refers_to("teams")
    # Opened while its team was closed; the queue push waits until `deferred_notice_at`.
    outside_business_hours: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=False, server_default=text("false")
    )
    deferred_notice_at: Mapped[datetime | None] = optional_time()
    # SLA due times (services/sla.py), recomputed when the priority or the targets change;
    # the warning times are 80 % of the open time to each due time.
    first_response_due_at: Mapped[datetime | None] = optional_time()
    resolution_due_at: Mapped[datetime | None] = optional_time()
    first_response_warn_at: Mapped[datetime | None] = optional_time()
    resolution_warn_at: Mapped[datetime | None] = optional_time()
    # Bit flags of the SLA notices already sent (services/sla.py: NOTICE_*).
    sla_notices: Mapped[int] = zero_counter(SmallInteger)


class ChatMessage(db.Model):
    __tablename__ = "chat_messages"
    __table_args__ = (
        Index("ix_messages_session_timestamp", "session_id", "timestamp", "id"),
        # Time-ordered inserts make a BRIN index nearly free to keep; it lets the metrics
        # reader fetch the recent support replies without scanning the table.
        Index(
            "ix_messages_timestamp_brin",
            "timestamp",
            postgresql_using="brin",
            postgresql_with={"autosummarize": "on"},
        ),
        Index(
            "ix_messages_agent_timestamp",
            "agent_id",
            "timestamp",
            postgresql_where=text("agent_id IS NOT NULL"),
        ),
        Index("ix_messages_search", "search_vector", postgresql_using="gin"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    session_id: Mapped[uuid.UUID] = owned_by("chat_sessions")
    message: Mapped[str] = mapped_column(String(1000), nullable=False)
    sender: Mapped[Sender] = mapped_column(sender_enum, nullable=False)
    sender_user_id: Mapped[uuid.UUID | None] = refers_to("users")
    agent_id: Mapped[uuid.UUID | None] = refers_to("support_agents")
    timestamp: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow, server_default=text("now()")
    )
    is_read: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=False, server_default=text("false")
    )
    # For a support message that ended a user's wait: the wait, in seconds.
    response_seconds: Mapped[float | None] = mapped_column(db.Float)
    # For the first support reply of an assignment episode: seconds since the session was
    # created (or requeued).
    first_response_seconds: Mapped[float | None] = mapped_column(db.Float)
    # What the message shows of its files, [{id, filename, contentType, size}], written once
    # with the message so no read needs a second query; the files are chat_attachments rows.
    attachments: Mapped[list[dict]] = mapped_column(
        JSONB, nullable=False, default=list, server_default=text("'[]'::jsonb")
    )
    # Computed by PostgreSQL on every insert; read only by search (never loaded with a row).
    search_vector: Mapped[str] = mapped_column(
        TSVECTOR, Computed(SEARCH_VECTOR_SQL, persisted=True), deferred=True
    )

"""Support agents: the profile that lets a user take chats, with its capacity counter.

"May this agent take a chat" lives here, in Python and SQL forms side by side (hybrids):
`has_free_slot` (below capacity), `can_take_chats` (active and below capacity) and
`reachable(online_user_ids)` (online, where presence routing applies). Services combine them
with "its user is still staff" (services/assignment.py) and never restate them.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Collection
from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ColumnElement,
    DateTime,
    ForeignKey,
    Integer,
    String,
    and_,
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.ext.hybrid import hybrid_method, hybrid_property
from sqlalchemy.orm import Mapped, mapped_column

from supportapp.extensions import db
from supportapp.models.base import created_at_column, updated_at_column, uuid_pk, value_enum


class Availability(enum.StrEnum):
    """What the agent chose (PATCH /api/support/agents/me {"presence"})."""

    ONLINE = "online"
    AWAY = "away"


class Presence(enum.StrEnum):
    """What others see: `offline` without an open staff socket, else the availability."""

    ONLINE = "online"
    AWAY = "away"
    OFFLINE = "offline"


availability_enum = value_enum(Availability, "agent_availability")
presence_enum = value_enum(Presence, "agent_presence")


class SupportAgent(db.Model):
    """`current_active_chats` is maintained only by the database trigger on chat_sessions."""

    __tablename__ = "support_agents"
    __table_args__ = (
        CheckConstraint("current_active_chats >= 0", name="ck_agents_current_non_negative"),
        CheckConstraint("max_concurrent_chats BETWEEN 1 AND 50", name="ck_agents_max_range"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True),
        ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
        unique=True,
    )
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    email: Mapped[str] = mapped_column(String(254), nullable=False)
    is_active: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=True, server_default=text("true")
    )
    # Set when an admin made the agent inactive: only an admin may make them active again.
    deactivated_by_admin: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=False, server_default=text("false")
    )
    max_concurrent_chats: Mapped[int] = mapped_column(
        Integer, nullable=False, default=5, server_default=text("5")
    )
    current_active_chats: Mapped[int] = mapped_column(
        Integer, nullable=False, default=0, server_default=text("0")
    )
    last_assigned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    availability: Mapped[Availability] = mapped_column(
        availability_enum, nullable=False, default=Availability.ONLINE, server_default="online"
    )
    # Computed by services/presence.py from the open sockets (Redis) and `availability`; kept
    # here so lists, filters and events read one consistent value with its time of change.
    presence: Mapped[Presence] = mapped_column(
        presence_enum, nullable=False, default=Presence.OFFLINE, server_default="offline"
    )
    presence_changed_at: Mapped[datetime] = created_at_column()
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()

    @hybrid_property
    def has_free_slot(self) -> bool:
        """Below capacity: one more chat fits (the trigger refuses any overshoot anyway)."""
        return self.current_active_chats < self.max_concurrent_chats

    @hybrid_property
    def can_take_chats(self) -> bool:
        """Active and below capacity: the agent may be given one more chat."""
        return bool(self.is_active) and self.current_active_chats < self.max_concurrent_chats

    @can_take_chats.inplace.expression
    @classmethod
    def _can_take_chats_sql(cls) -> ColumnElement[bool]:
        return and_(cls.is_active.is_(True), cls.current_active_chats < cls.max_concurrent_chats)

    @hybrid_method
    def reachable(self, online_user_ids: Collection[uuid.UUID]) -> bool:
        """Presence routing (ASSIGN_ONLY_ONLINE): the agent chose `online` and has a staff
        socket open somewhere (`online_user_ids`, from Redis: fresher than `presence`)."""
        return self.availability == Availability.ONLINE and self.user_id in online_user_ids

    @reachable.inplace.expression
    @classmethod
    def _reachable_sql(cls, online_user_ids: Collection[uuid.UUID]) -> ColumnElement[bool]:
        return and_(
            cls.availability == Availability.ONLINE,
            cls.user_id.in_(sorted(online_user_ids, key=str)),
        )

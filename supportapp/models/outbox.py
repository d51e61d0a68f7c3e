"""The transactional outbox: events and jobs recorded in the transaction that causes them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Identity, Index, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from supportapp.extensions import db


class OutboxEntry(db.Model):
    """One event (`kind='event'`, `payload` = the stream fields) or job (`kind='task'`,
    `payload` = task name and kwargs) not yet handed to Redis. Rows live for the moment between
    COMMIT and publication; the relay publishes and deletes whatever is left behind.

    `ordering_key` (e.g. `session:<id>`) names what the event must stay in commit order with;
    `id` is that order, since writes to one session take its row lock before recording."""

    __tablename__ = "event_outbox"
    __table_args__ = (Index("ix_event_outbox_ordering_key", "ordering_key"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=False), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), nullable=False)
    ordering_key: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )

"""Column helpers shared by the models."""

from __future__ import annotations

import enum
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Enum, ForeignKey, Integer, func
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeEngine


def utcnow() -> datetime:
    return datetime.now(UTC)


def uuid_pk() -> Mapped[uuid.UUID]:
    return mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)


def owned_by(table: str, **options: Any) -> Mapped[uuid.UUID]:
    """A required reference to `table`'s row, deleted with it (ON DELETE CASCADE)."""
    return mapped_column(
        UUID(as_uuid=True),
        ForeignKey(f"{table}.id", ondelete="CASCADE"),
        nullable=False,
        **options,
    )


def refers_to(table: str) -> Mapped[uuid.UUID | None]:
    """An optional reference to `table`'s row, emptied when it is deleted (ON DELETE SET
    NULL)."""
    return mapped_column(UUID(as_uuid=True), ForeignKey(f"{table}.id", ondelete="SET NULL"))


def optional_time() -> Mapped[datetime | None]:
    """A moment that may not have happened yet (NULL until it does)."""
    return mapped_column(DateTime(timezone=True))


def zero_counter(column_type: type[TypeEngine] = Integer) -> Mapped[int]:
    """A count kept on the row, 0 to start with."""
    return mapped_column(column_type, nullable=False, default=0, server_default="0")


def created_at_column() -> Mapped[datetime]:
    return mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now(), default=utcnow
    )


def updated_at_column() -> Mapped[datetime]:
    return mapped_column(
        DateTime(timezone=True),
        nullable=False,
        server_default=func.now(),
        default=utcnow,
        onupdate=utcnow,
    )


def value_enum(python_enum: type[enum.Enum], name: str) -> Enum:
    """A PostgreSQL enum type named `name` that stores the members' values."""
    return Enum(python_enum, name=name, values_callable=lambda e: [m.value for m in e])

"""Users of the system: end users, support agents and administrators."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import Enum, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from supportapp.extensions import db
from supportapp.models.base import created_at_column, updated_at_column, uuid_pk


class Role(enum.StrEnum):
    USER = "user"
    SUPPORT = "support"
    ADMIN = "admin"
    SUPERADMIN = "superadmin"


SUPPORT_ROLES = frozenset({Role.SUPPORT, Role.ADMIN, Role.SUPERADMIN})
ADMIN_ROLES = frozenset({Role.ADMIN, Role.SUPERADMIN})

role_enum = Enum(Role, name="user_role", values_callable=lambda e: [m.value for m in e])


class User(db.Model):
    __tablename__ = "users"
    __table_args__ = (Index("uq_users_email_lower", text("lower(email)"), unique=True),)

    id: Mapped[uuid.UUID] = uuid_pk()
    email: Mapped[str] = mapped_column(String(254), nullable=False)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(
        role_enum, nullable=False, default=Role.USER, server_default=Role.USER.value
    )
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()

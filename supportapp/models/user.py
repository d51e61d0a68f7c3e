"""Users of the system: end users, support agents and administrators."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import Boolean, Enum, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from supportapp.extensions import db
from supportapp.models.base import created_at_column, optional_time, updated_at_column, uuid_pk


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
    __table_args__ = (
        # An email signs in only with a password: it is unique among password accounts. Guests
        # and host-site identities may carry any contact email, repeated or not.
        Index(
            "uq_users_password_email_lower",
            text("lower(email)"),
            unique=True,
            postgresql_where=text("password_hash IS NOT NULL"),
        ),
        Index("uq_users_external_id", "external_id", unique=True),
        Index("ix_users_guest_last_active", "last_active_at", postgresql_where=text("is_guest")),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    email: Mapped[str | None] = mapped_column(String(254))
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(
        role_enum, nullable=False, default=Role.USER, server_default=Role.USER.value
    )
    is_guest: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=False, server_default=text("false")
    )
    # The host site's id of this person (external issuer `sub`, or identify's `externalId`).
    external_id: Mapped[str | None] = mapped_column(String(255))
    # When tokens were last issued to (or provisioned for) the user; guest cleanup reads it.
    last_active_at: Mapped[datetime | None] = optional_time()
    # Set when the user's data was erased: the row stays as an anonymous shell for the stats.
    erased_at: Mapped[datetime | None] = optional_time()
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()

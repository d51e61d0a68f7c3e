"""Canned responses agents insert with a shortcut."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from supportapp.extensions import db
from supportapp.models.base import created_at_column, refers_to, updated_at_column, uuid_pk


class ResponseTemplate(db.Model):
    __tablename__ = "response_templates"
    __table_args__ = (
        Index("ix_templates_created_by", "created_by"),
        Index("ix_templates_shared", "is_shared", postgresql_where=text("is_shared")),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    title: Mapped[str] = mapped_column(String(100), nullable=False)
    content: Mapped[str] = mapped_column(String(1000), nullable=False)
    shortcut: Mapped[str] = mapped_column(String(32), nullable=False, unique=True)
    category: Mapped[str | None] = mapped_column(String(50))
    is_shared: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=False, server_default=text("false")
    )
    created_by: Mapped[uuid.UUID | None] = refers_to("users")
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()

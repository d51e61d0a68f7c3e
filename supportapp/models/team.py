"""Teams (billing, technical, …): the agents who take a team's chats, and its business hours."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, Column, ForeignKey, Index, String, Table, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from supportapp.extensions import db
from supportapp.models.base import created_at_column, updated_at_column, uuid_pk

team_members = Table(
    "team_members",
    db.metadata,
    Column(
        "team_id", UUID(as_uuid=True), ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True
    ),
    Column(
        "agent_id",
        UUID(as_uuid=True),
        ForeignKey("support_agents.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Index("ix_team_members_agent", "agent_id"),
)


class Team(db.Model):
    __tablename__ = "teams"

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(String(100), nullable=False, unique=True)
    description: Mapped[str | None] = mapped_column(String(500))
    is_public: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=True, server_default=text("true")
    )
    # The canonical `businessHours` document (services/business_hours.py); null = always open.
    business_hours: Mapped[dict | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()

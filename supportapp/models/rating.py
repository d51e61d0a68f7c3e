"""Post-chat ratings: one per closed session, given by its user."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, Index, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from supportapp.extensions import db
from supportapp.models.base import created_at_column, owned_by, refers_to, uuid_pk


class SessionRating(db.Model):
    __tablename__ = "session_ratings"
    __table_args__ = (
        CheckConstraint("score BETWEEN 1 AND 5", name="ck_ratings_score_range"),
        Index("ix_ratings_agent_created", "agent_id", "created_at"),
        # Metrics look up the ratings of a creation-time range from its start on (a rating
        # follows its session's close): ratings are appended in time order, so a BRIN suffices.
        Index(
            "ix_ratings_created_brin",
            "created_at",
            postgresql_using="brin",
            postgresql_with={"autosummarize": "on"},
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    session_id: Mapped[uuid.UUID] = owned_by("chat_sessions", unique=True)
    user_id: Mapped[uuid.UUID] = owned_by("users")
    # The agent who had the session when it was rated (None when it was never assigned).
    agent_id: Mapped[uuid.UUID | None] = refers_to("support_agents")
    score: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    comment: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime] = created_at_column()

"""What staff do together inside a chat: hand it over with a note, and internal notes.

Neither is a message: the session's user never sees them, and no metric counts them.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from supportapp.extensions import db
from supportapp.models.base import created_at_column, owned_by, refers_to, uuid_pk


class ChatTransfer(db.Model):
    __tablename__ = "chat_transfers"
    __table_args__ = (Index("ix_transfers_session_created", "session_id", "created_at", "id"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    session_id: Mapped[uuid.UUID] = owned_by("chat_sessions")
    from_agent_id: Mapped[uuid.UUID | None] = refers_to("support_agents")
    to_agent_id: Mapped[uuid.UUID | None] = refers_to("support_agents")
    by_user_id: Mapped[uuid.UUID | None] = refers_to("users")
    note: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = created_at_column()


class ChatNote(db.Model):
    __tablename__ = "chat_notes"
    __table_args__ = (Index("ix_notes_session_created", "session_id", "created_at", "id"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    session_id: Mapped[uuid.UUID] = owned_by("chat_sessions")
    author_id: Mapped[uuid.UUID | None] = refers_to("users")
    # The author's name when the note was written (kept if the account is deleted).
    author_name: Mapped[str] = mapped_column(String(100), nullable=False)
    note: Mapped[str] = mapped_column(String(2000), nullable=False)
    created_at: Mapped[datetime] = created_at_column()

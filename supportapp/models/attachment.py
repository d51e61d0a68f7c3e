"""Files sent in a chat: what is known about each, and (database storage) their bytes."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, LargeBinary, String
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from supportapp.extensions import db
from supportapp.models.base import created_at_column, owned_by, refers_to, uuid_pk


class ChatAttachment(db.Model):
    __tablename__ = "chat_attachments"
    __table_args__ = (
        Index("ix_attachments_session", "session_id"),
        Index("ix_attachments_message", "message_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    session_id: Mapped[uuid.UUID] = owned_by("chat_sessions")
    message_id: Mapped[uuid.UUID] = owned_by("chat_messages")
    uploaded_by: Mapped[uuid.UUID | None] = refers_to("users")
    # For display only: a safe base name of what the client called it.
    filename: Mapped[str] = mapped_column(String(255), nullable=False)
    # Decided by sniffing the content, never by the client.
    content_type: Mapped[str] = mapped_column(String(100), nullable=False)
    size: Mapped[int] = mapped_column(BigInteger, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    # The backend holding the bytes (services/storage.py), so a change of ATTACHMENT_STORAGE
    # leaves older files readable.
    storage: Mapped[str] = mapped_column(String(20), nullable=False)
    created_at: Mapped[datetime] = created_at_column()


class AttachmentContent(db.Model):
    """The bytes of an attachment kept by the database storage (ATTACHMENT_STORAGE=database).
    A table of its own so reading attachment metadata never touches them."""

    __tablename__ = "attachment_contents"

    attachment_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True),
        ForeignKey("chat_attachments.id", ondelete="CASCADE"),
        primary_key=True,
    )
    data: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)

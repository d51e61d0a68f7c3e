"""Attachments: checking an upload, storing it with its message, downloading it, and deleting
the files of sessions (what erasing a customer's data calls).

Sending a file is sending a message: services/messages.py: send_attachment.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, BinaryIO

from flask import current_app
from sqlalchemy import delete, insert, select, update

from supportapp.auth.actor import Actor
from supportapp.errors import NotFound, PayloadTooLarge, UnsupportedMediaType, ValidationFailed
from supportapp.extensions import db
from supportapp.models import ChatAttachment, ChatMessage, ChatSession
from supportapp.services import access, attachment_links, file_types
from supportapp.services.storage import configured_storage, storage_named
from supportapp.services.unit_of_work import UnitOfWork
from supportapp.timestamps import iso

MSG_ATTACHMENT_NOT_FOUND = "Archivo adjunto no encontrado"
MSG_TOO_LARGE = "El archivo supera el tamaño máximo permitido"
MSG_UNSUPPORTED_TYPE = "Tipo de archivo no permitido"
MSG_FILE_EMPTY = "El archivo está vacío"
MSG_FILE_REQUIRED = "El archivo es obligatorio"

FALLBACK_FILENAME = "archivo"
MAX_FILENAME = 255
# Characters that mean something to a path, a shell or a header, besides controls.
_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"|?*;\\/]')


@dataclass(frozen=True)
class Upload:
    """A file as the client sent it: a name it chose and the bytes."""

    filename: str | None
    stream: BinaryIO


@dataclass(frozen=True)
class CheckedAttachment:
    """An upload that passed every check, ready to be stored with its message."""

    id: uuid.UUID
    filename: str
    content_type: str
    size: int
    sha256: str
    stream: BinaryIO

    def summary(self) -> dict[str, Any]:
        """What the message row keeps (ChatMessage.attachments)."""
        return {
            "id": str(self.id),
            "filename": self.filename,
            "contentType": self.content_type,
            "size": self.size,
        }


def safe_filename(raw: str | None) -> str:
    """The client's filename reduced to a base name fit for display and for a header: no
    directories (either slash), no controls or path/shell punctuation, no leading dots, at
    most 255 characters with the extension kept."""
    name = unicodedata.normalize("NFC", raw or "")
    name = re.split(r"[\\/]", name)[-1]
    name = _UNSAFE.sub("_", name).strip().lstrip(".").strip()
    if len(name) > MAX_FILENAME:
        stem, dot, extension = name.rpartition(".")
        if dot and 0 < len(extension) <= 16:
            name = stem[: MAX_FILENAME - len(extension) - 1] + "." + extension
        else:
            name = name[:MAX_FILENAME]
    return name or FALLBACK_FILENAME


def check_upload(upload: Upload) -> CheckedAttachment:
    """Size (413), type by content (415) and emptiness (400) of an upload; nothing is stored."""
    inspection = file_types.inspect(upload.stream)
    if inspection.size > current_app.config["ATTACHMENT_MAX_BYTES"]:
        raise PayloadTooLarge(MSG_TOO_LARGE)
    if inspection.size == 0:
        raise ValidationFailed.field("file", MSG_FILE_EMPTY)
    if inspection.content_type not in current_app.config["ATTACHMENT_TYPES"]:
        raise UnsupportedMediaType(MSG_UNSUPPORTED_TYPE)
    upload.stream.seek(0)
    return CheckedAttachment(
        id=uuid.uuid4(),
        filename=safe_filename(upload.filename),
        content_type=inspection.content_type,
        size=inspection.size,
        sha256=inspection.sha256,
        stream=upload.stream,
    )


def store(
    message: ChatMessage, attachment: CheckedAttachment, uploaded_by: uuid.UUID | None
) -> None:
    """Inside the transaction that inserted `message`: the attachment row and its bytes (a
    caller whose transaction fails calls discard_uncommitted)."""
    backend = configured_storage()
    db.session.execute(
        insert(ChatAttachment).values(
            id=attachment.id,
            session_id=message.session_id,
            message_id=message.id,
            uploaded_by=uploaded_by,
            filename=attachment.filename,
            content_type=attachment.content_type,
            size=attachment.size,
            sha256=attachment.sha256,
            storage=backend.name,
        )
    )
    backend.save(attachment.id, attachment.stream)


def discard_uncommitted(attachment: CheckedAttachment) -> None:
    """Undo `store` outside PostgreSQL after its transaction failed: nothing is kept for an
    upload that did not become a message."""
    configured_storage().remove([attachment.id])


# --- downloading ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Download:
    attachment: ChatAttachment
    content: BinaryIO


def open_for(actor: Actor, attachment_id: uuid.UUID) -> Download:
    """The file, for whoever may see its session; 404 for everyone else, as if it did not
    exist."""
    found = db.session.execute(
        select(ChatAttachment, ChatSession)
        .join(ChatSession, ChatSession.id == ChatAttachment.session_id)
        .where(ChatAttachment.id == attachment_id)
    ).first()
    try:
        access.ensure_visible(actor, found[1] if found else None)
    except NotFound as exc:
        raise NotFound(MSG_ATTACHMENT_NOT_FOUND) from exc
    return _download(found[0])


def open_signed(attachment_id: uuid.UUID, expires: str | None, signature: str | None) -> Download:
    """The file named by a signed link (403 when the signature is bad or expired)."""
    attachment_links.verify(attachment_id, expires, signature)
    attachment = db.session.get(ChatAttachment, attachment_id)
    if attachment is None:
        raise NotFound(MSG_ATTACHMENT_NOT_FOUND)
    return _download(attachment)


def _download(attachment: ChatAttachment) -> Download:
    content = storage_named(attachment.storage).open(attachment.id)
    if content is None:
        raise NotFound(MSG_ATTACHMENT_NOT_FOUND)
    return Download(attachment=attachment, content=content)


# --- deleting ------------------------------------------------------------------------------


def delete_session_attachments(uow: UnitOfWork, session_ids: Iterable[uuid.UUID]) -> int:
    """Delete every attachment of these sessions inside the caller's unit of work: the rows
    (and the database storage's bytes) now, files of other backends once it has committed.
    Their messages stop listing them. Call it before deleting the sessions themselves (rows
    would go by cascade, files would stay). Returns how many attachments were deleted."""
    ids = list(session_ids)
    if not ids:
        return 0
    deleted = uow.db.execute(
        delete(ChatAttachment)
        .where(ChatAttachment.session_id.in_(ids))
        .returning(ChatAttachment.id, ChatAttachment.storage)
    ).all()
    if not deleted:
        return 0
    uow.db.execute(
        update(ChatMessage)
        .where(ChatMessage.session_id.in_(ids), ChatMessage.attachments != [])
        .values(attachments=[])
        .execution_options(synchronize_session=False)
    )
    by_backend: dict[str, list[uuid.UUID]] = defaultdict(list)
    for attachment_id, backend in deleted:
        by_backend[backend].append(attachment_id)
    for name, attachment_ids in by_backend.items():
        backend = storage_named(name)
        uow.after_commit(lambda backend=backend, ids=attachment_ids: backend.remove(ids))
    return len(deleted)


def delete_user_attachments(uow: UnitOfWork, user_id: uuid.UUID) -> int:
    """Delete the attachments of every session of this customer (see
    delete_session_attachments)."""
    session_ids = uow.db.scalars(select(ChatSession.id).where(ChatSession.user_id == user_id))
    return delete_session_attachments(uow, list(session_ids))


def export_rows(user_id: uuid.UUID, session_ids: list[uuid.UUID]) -> list[dict[str, Any]]:
    """The data-rights export's `attachments` section: every file of these sessions of the
    customer, with its checksum and a signed download link."""
    if not session_ids:
        return []
    rows = db.session.scalars(
        select(ChatAttachment)
        .where(ChatAttachment.session_id.in_(session_ids))
        .order_by(ChatAttachment.created_at, ChatAttachment.id)
    )
    return [
        {
            "id": str(row.id),
            "sessionId": str(row.session_id),
            "messageId": str(row.message_id),
            "filename": row.filename,
            "contentType": row.content_type,
            "size": row.size,
            "sha256": row.sha256,
            "createdAt": iso(row.created_at),
            "url": attachment_links.signed_url(row.id),
        }
        for row in rows
    ]

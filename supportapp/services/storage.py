"""Where attachment bytes live: one small interface, two backends.

- `database` (the default): a row of attachment_contents, written in the transaction that
  creates the message, so a PaaS needs nothing more than its PostgreSQL.
- `filesystem`: one file per attachment under ATTACHMENT_DIR (a volume shared by every web
  process), written before COMMIT and removed again if the transaction fails.

An object store is one more subclass: `save`, `open`, `remove`, and a name in BACKENDS.
"""

from __future__ import annotations

import abc
import io
import os
import shutil
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO, ClassVar

from flask import current_app
from sqlalchemy import insert, select

from supportapp.extensions import db
from supportapp.models import AttachmentContent


class AttachmentStorage(abc.ABC):
    name: ClassVar[str]

    @abc.abstractmethod
    def save(self, attachment_id: uuid.UUID, content: BinaryIO) -> None:
        """Store `content` (read from its current position) inside the caller's transaction.
        A backend outside PostgreSQL must undo it in `remove` when the transaction fails."""

    @abc.abstractmethod
    def open(self, attachment_id: uuid.UUID) -> BinaryIO | None:
        """The stored bytes as a readable file, or None when they are gone."""

    @abc.abstractmethod
    def remove(self, attachment_ids: Iterable[uuid.UUID]) -> None:
        """Forget these attachments' bytes (after their rows were deleted and committed, or
        after the transaction that saved them failed). Missing ones are ignored."""


class DatabaseStorage(AttachmentStorage):
    name = "database"

    def save(self, attachment_id: uuid.UUID, content: BinaryIO) -> None:
        db.session.execute(
            insert(AttachmentContent).values(attachment_id=attachment_id, data=content.read())
        )

    def open(self, attachment_id: uuid.UUID) -> BinaryIO | None:
        data = db.session.scalar(
            select(AttachmentContent.data).where(AttachmentContent.attachment_id == attachment_id)
        )
        return None if data is None else io.BytesIO(data)

    def remove(self, attachment_ids: Iterable[uuid.UUID]) -> None:
        """The rows go with their chat_attachments rows (ON DELETE CASCADE), in the same
        transaction; a failed save left nothing behind."""


class FilesystemStorage(AttachmentStorage):
    name = "filesystem"

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)

    def path_of(self, attachment_id: uuid.UUID) -> Path:
        # Named by id only (never by the client's filename), two hex digits per directory.
        name = uuid.UUID(str(attachment_id)).hex
        return self.root / name[:2] / name

    def save(self, attachment_id: uuid.UUID, content: BinaryIO) -> None:
        path = self.path_of(attachment_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".part")
        try:
            with open(partial, "wb") as target:
                shutil.copyfileobj(content, target)
                target.flush()
                os.fsync(target.fileno())
            os.replace(partial, path)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise

    def open(self, attachment_id: uuid.UUID) -> BinaryIO | None:
        try:
            return open(self.path_of(attachment_id), "rb")
        except FileNotFoundError:
            return None

    def remove(self, attachment_ids: Iterable[uuid.UUID]) -> None:
        for attachment_id in attachment_ids:
            self.path_of(attachment_id).unlink(missing_ok=True)


BACKENDS: dict[str, type[AttachmentStorage]] = {
    DatabaseStorage.name: DatabaseStorage,
    FilesystemStorage.name: FilesystemStorage,
}


def storage_named(name: str) -> AttachmentStorage:
    """The backend `name` as configured for this app (what an attachment row records)."""
    if name == FilesystemStorage.name:
        return FilesystemStorage(current_app.config["ATTACHMENT_DIR"])
    return BACKENDS[name]()


def configured_storage() -> AttachmentStorage:
    """The backend new attachments go to: ATTACHMENT_STORAGE."""
    return storage_named(current_app.config["ATTACHMENT_STORAGE"])

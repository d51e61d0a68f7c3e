"""Multipart body of an attachment upload and the query of a signed download."""

from __future__ import annotations

import marshmallow as ma
from flask_smorest.fields import Upload

from supportapp.api.common import TrimmedString
from supportapp.services.attachments import MSG_FILE_REQUIRED
from supportapp.texts import MESSAGE_MAX_LENGTH, MSG_MESSAGE_TOO_LONG


class AttachmentFormSchema(ma.Schema):
    message = TrimmedString(
        load_default="",
        validate=ma.validate.Length(max=MESSAGE_MAX_LENGTH, error=MSG_MESSAGE_TOO_LONG),
        metadata={"description": "Caption, 0–1000 characters (trimmed)"},
    )


class AttachmentFileSchema(ma.Schema):
    file = Upload(
        required=True,
        error_messages={"required": MSG_FILE_REQUIRED, "null": MSG_FILE_REQUIRED},
        metadata={
            "description": "PNG, JPEG, GIF, WebP, PDF or plain text by default "
            "(ATTACHMENT_TYPES), at most ATTACHMENT_MAX_BYTES; the type is decided by sniffing "
            "the content"
        },
    )


class SignedLinkQuerySchema(ma.Schema):
    expires = ma.fields.String(
        metadata={"description": "Signed links: Unix time the link expires at"}
    )
    signature = ma.fields.String(
        metadata={"description": "Signed links: HMAC of the attachment id and `expires`"}
    )

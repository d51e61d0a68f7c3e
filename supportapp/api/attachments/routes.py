"""Attachments: sending a file in a chat, downloading it (bearer token or signed link)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import current_app, request, send_file
from werkzeug.exceptions import RequestEntityTooLarge

from supportapp.api.attachments.schemas import (
    AttachmentFileSchema,
    AttachmentFormSchema,
    SignedLinkQuerySchema,
)
from supportapp.api.blueprint import Blueprint, ok
from supportapp.api.chat.schemas import MessageEnvelope
from supportapp.api.common import parse_id
from supportapp.api.rate_limits import message_limit
from supportapp.auth.actor import authenticate, current_actor
from supportapp.errors import MSG_SESSION_NOT_FOUND, PayloadTooLarge
from supportapp.models import Role
from supportapp.representations import message_dict
from supportapp.services import attachments, messages
from supportapp.services.file_types import IMAGE_TYPES

bp = Blueprint(
    "attachments", __name__, url_prefix="/api/chat", description="Files sent in chat sessions"
)

# Room for the multipart framing and the caption on top of the file itself.
FORM_OVERHEAD = 64 * 1024
# What a browser may do with a downloaded file: render it, nothing else (no scripts, no
# plugins, no requests, no same-origin access).
DOWNLOAD_CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"


def attachment_body(func: Callable) -> Callable:
    """This route alone accepts bodies past MAX_CONTENT_LENGTH: up to ATTACHMENT_MAX_BYTES
    plus the form's framing. A larger Content-Length is refused before anything is read, and a
    body without one stops being read at the limit; files are spooled to disk by the parser,
    never held whole in memory. Exceeding it is a 413 in the envelope."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        request.max_content_length = current_app.config["ATTACHMENT_MAX_BYTES"] + FORM_OVERHEAD
        try:
            request.files  # noqa: B018 - parse the form now, under this route's limit
        except RequestEntityTooLarge as exc:
            raise PayloadTooLarge(attachments.MSG_TOO_LARGE) from exc
        return func(*args, **kwargs)

    return wrapper


@bp.post("/session/<session_id>/attachments")
@bp.auth(frozenset(Role))
@message_limit
@attachment_body
@bp.arguments(AttachmentFormSchema, location="form")
@bp.arguments(AttachmentFileSchema, location="files")
@bp.response(201, MessageEnvelope)
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(409, response="CONFLICT")
@bp.alt_response(413, response="DEFAULT_ERROR", description="The file is too large")
@bp.alt_response(415, response="DEFAULT_ERROR", description="The file's type is not accepted")
@bp.alt_response(429, response="TOO_MANY_REQUESTS")
def send_attachment(form: dict, files: dict, session_id: str):
    """Send a file (`multipart/form-data`: `file`, optional caption `message`) as a message of
    the session's user, or of staff who may reply to it. It spends the message budget and
    counts as a reply like a text message."""
    upload = files["file"]
    message = messages.send_attachment(
        current_actor(),
        parse_id(session_id, MSG_SESSION_NOT_FOUND),
        attachments.Upload(filename=upload.filename, stream=upload.stream),
        form["message"],
    )
    return ok(message_dict(message), "Archivo enviado exitosamente")


@bp.get("/attachments/<attachment_id>")
@bp.arguments(SignedLinkQuerySchema, location="query")
@bp.doc(
    security=[{"bearerAuth": []}, {}],
    description="With the bearer token of someone who may see the session, or with the "
    "signed `url` of the attachment (`expires` and `signature`, no header).",
    responses={
        "200": {
            "description": "The file, with its stored content type",
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            },
        }
    },
)
@bp.alt_response(401, response="UNAUTHORIZED")
@bp.alt_response(403, response="FORBIDDEN", description="Bad or expired signature")
@bp.alt_response(404, response="NOT_FOUND")
def download_attachment(query: dict, attachment_id: str):
    """Download an attachment."""
    wanted = parse_id(attachment_id, attachments.MSG_ATTACHMENT_NOT_FOUND)
    if "signature" in query or "expires" in query:
        download = attachments.open_signed(wanted, query.get("expires"), query.get("signature"))
    else:
        download = attachments.open_for(authenticate(), wanted)
    return _file_response(download)


def _file_response(download: attachments.Download):
    attachment = download.attachment
    is_image = attachment.content_type in IMAGE_TYPES
    response = send_file(
        download.content,
        mimetype=attachment.content_type,  # text/* gets "; charset=utf-8" from Flask
        as_attachment=not is_image,
        download_name=attachment.filename,
        etag=attachment.sha256,
        conditional=True,
        max_age=0,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = DOWNLOAD_CSP
    response.headers["Cache-Control"] = "private, max-age=0, must-revalidate"
    return response

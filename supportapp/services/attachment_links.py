"""Signed, expiring download links for attachments: they work without an Authorization
header (an `<img src>` cannot send one), for ATTACHMENT_URL_TTL seconds.

The signature is an HMAC-SHA256 of the attachment id and the expiry time, keyed with a key
derived from JWT_SECRET_KEY for this purpose only. Nothing is stored: a link names one file
and one moment; changing the secret invalidates every link.
"""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from dataclasses import dataclass

from flask import current_app, has_request_context, request

from supportapp.errors import Forbidden

MSG_BAD_LINK = "El enlace no es válido o ha caducado"
DOWNLOAD_PATH = "/api/chat/attachments/{id}"


@dataclass(frozen=True)
class SignedLink:
    expires: int
    signature: str


def _key() -> bytes:
    secret = current_app.config["JWT_SECRET_KEY"].encode()
    return hmac.new(secret, b"supportapp attachment links v1", hashlib.sha256).digest()


def _signature(attachment_id: uuid.UUID | str, expires: int) -> str:
    message = f"{uuid.UUID(str(attachment_id))}:{expires}".encode()
    return hmac.new(_key(), message, hashlib.sha256).hexdigest()


def sign(attachment_id: uuid.UUID | str, *, now: float | None = None) -> SignedLink:
    expires = (
        int(now if now is not None else time.time()) + current_app.config["ATTACHMENT_URL_TTL"]
    )
    return SignedLink(expires=expires, signature=_signature(attachment_id, expires))


def verify(
    attachment_id: uuid.UUID,
    expires: str | None,
    signature: str | None,
    *,
    now: float | None = None,
) -> None:
    """403 unless `signature` was made by `sign` for this attachment and `expires` is ahead."""
    if not expires or not signature or not expires.isdigit() or len(expires) > 12:
        raise Forbidden(MSG_BAD_LINK)
    expected = _signature(attachment_id, int(expires))
    if not hmac.compare_digest(expected, signature):
        raise Forbidden(MSG_BAD_LINK)
    if int(expires) <= (now if now is not None else time.time()):
        raise Forbidden(MSG_BAD_LINK)


def signed_url(attachment_id: uuid.UUID | str, *, now: float | None = None) -> str:
    """The download URL with its signature: absolute when a request tells the host."""
    link = sign(attachment_id, now=now)
    path = DOWNLOAD_PATH.format(id=attachment_id)
    query = f"?expires={link.expires}&signature={link.signature}"
    base = request.host_url.rstrip("/") if has_request_context() else ""
    return base + path + query

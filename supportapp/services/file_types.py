"""What an uploaded file really is, decided from its bytes: never from the client's header or
the file's extension.

Binary types are recognised by their signatures (magic bytes); anything else is plain text
only if all of it decodes as UTF-8 text without control characters and does not look like
markup (HTML, SVG, XML) or a script (`#!`). Executables match no signature and are not text,
so they are unknown like every other type.
"""

from __future__ import annotations

import codecs
import hashlib
import re
from dataclasses import dataclass
from typing import BinaryIO

IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
TEXT_TYPE = "text/plain"

CHUNK_SIZE = 64 * 1024
HEAD_SIZE = 16

# A tag, declaration, processing instruction or comment at the start of the text (after
# whitespace): how browsers' sniffers recognise HTML and XML, SVG included.
_MARKUP_START = re.compile(r"<[a-zA-Z!?/]")
# Markup anywhere in the text that a browser would act on.
_MARKUP_ANYWHERE = re.compile(
    r"<\s*(?:script|svg|html|body|iframe|object|embed|!doctype|\?xml)\b", re.IGNORECASE
)
_MARKER_OVERLAP = 32  # characters kept between chunks so a marker split in two is still seen
# C0 controls other than tab, line feed, form feed and carriage return, and DEL.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class Inspection:
    content_type: str | None  # None: not a type this module recognises
    size: int
    sha256: str


def _binary_type(head: bytes) -> str | None:
    if head.startswith(b"\x89PNG\r\n\x1a\n") and head[12:16] == b"IHDR":
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    return None


class _TextCheck:
    """Fed chunk by chunk: stays `ok` while everything read is harmless UTF-8 text."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")("strict")
        self._tail = ""
        self._started = False
        self.ok = True

    def feed(self, chunk: bytes, *, final: bool = False) -> None:
        if not self.ok:
            return
        try:
            text = self._decoder.decode(chunk, final=final)
        except UnicodeDecodeError:
            self.ok = False
            return
        if _CONTROL.search(text):
            self.ok = False
            return
        if not self._started:
            stripped = (self._tail + text).lstrip()
            if not stripped and not final:
                self._tail += text
                return
            self._started = True
            if stripped.startswith("#!") or _MARKUP_START.match(stripped):
                self.ok = False
                return
        window = self._tail + text
        if _MARKUP_ANYWHERE.search(window):
            self.ok = False
            return
        self._tail = window[-_MARKER_OVERLAP:]


def inspect(stream: BinaryIO) -> Inspection:
    """Read `stream` to its end once: its size, SHA-256 and sniffed content type."""
    digest = hashlib.sha256()
    size = 0
    head = b""
    text = _TextCheck()
    while chunk := stream.read(CHUNK_SIZE):
        if len(head) < HEAD_SIZE:
            head += chunk[: HEAD_SIZE - len(head)]
        digest.update(chunk)
        size += len(chunk)
        text.feed(chunk)
    text.feed(b"", final=True)
    content_type = _binary_type(head)
    if content_type is None and size and text.ok:
        content_type = TEXT_TYPE
    return Inspection(content_type=content_type, size=size, sha256=digest.hexdigest())

"""Text people write in a chat: the length limits and what counts as empty.

The API's schemas (api/chat/schemas.py, api/common.py: VisibleText) and the services that make
text themselves (services/templates.py renders a reply; the opening message's cost) read the
limits and `blank()` from here, so a message is empty or too long by one definition.
"""

from __future__ import annotations

import unicodedata

MESSAGE_MAX_LENGTH = 1000  # a chat message (and the column chat_messages.message)
RATING_COMMENT_MAX_LENGTH = 1000
TRANSFER_NOTE_MAX_LENGTH = 500
NOTE_MAX_LENGTH = 2000  # an internal note

MSG_MESSAGE_EMPTY = "El mensaje no puede estar vacío"
MSG_MESSAGE_TOO_LONG = "El mensaje no puede superar los 1000 caracteres"  # MESSAGE_MAX_LENGTH

# Characters that draw nothing although Unicode does not class them as format or space.
_BLANK_LOOKING = frozenset("\u034f\u115f\u1160\u17b4\u17b5\u2800\u3164\uffa0")
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp"})


def is_invisible(char: str) -> bool:
    """Whitespace, control and format characters (zero-width spaces and joiners, bidi marks,
    tags), variation selectors and the few letters and symbols that render as blanks."""
    return (
        char.isspace()
        or unicodedata.category(char) in _INVISIBLE_CATEGORIES
        or char in _BLANK_LOOKING
        or "\ufe00" <= char <= "\ufe0f"
        or "\U000e0100" <= char <= "\U000e01ef"
    )


def blank(text: str | None) -> bool:
    """Nothing a person can see: None, empty, or only invisible characters."""
    return text is None or all(is_invisible(char) for char in text)


def visible(text: str) -> str:
    """`text` trimmed, or "" when it is blank (a length rule with min=1 then refuses it)."""
    trimmed = text.strip()
    return "" if blank(trimmed) else trimmed

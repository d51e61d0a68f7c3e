"""The order of the pending queue — one definition, in SQL and in Python.

Priority first (high → low, models/chat.py: PRIORITY_RANK), then the session that has waited
longest (`queued_at`, a missing one last as in PostgreSQL's ascending order), then id for
stability. `QUEUE_ORDER` sorts a query (the queue views, automatic assignment), `ahead_of` counts
who is in front of a session (its position) and `queue_key` sorts loaded sessions
(notifications); tests/test_rule_homes.py checks the three agree.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ColumnElement, and_, or_, tuple_

from supportapp.models import PRIORITY_RANK, ChatSession

QUEUE_ORDER = (ChatSession.priority_rank.desc(), ChatSession.queued_at, ChatSession.id)


def ahead_of(chat: ChatSession) -> ColumnElement[bool]:
    """Sessions placed before `chat` by QUEUE_ORDER (filter the pending ones yourself)."""
    return or_(
        ChatSession.priority_rank > PRIORITY_RANK[chat.priority],
        and_(
            ChatSession.priority_rank == PRIORITY_RANK[chat.priority],
            tuple_(ChatSession.queued_at, ChatSession.id) < tuple_(chat.queued_at, chat.id),
        ),
    )


def queue_key(chat: ChatSession) -> tuple[int, bool, datetime | None, uuid.UUID]:
    """The Python sort key of QUEUE_ORDER: `sorted(sessions, key=queue_key)`."""
    return (
        -PRIORITY_RANK[chat.priority],
        chat.queued_at is None,
        chat.queued_at if chat.queued_at is not None else _EPOCH,
        chat.id,
    )


_EPOCH = datetime.fromtimestamp(0).astimezone()

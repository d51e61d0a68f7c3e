"""Finding conversations: full-text search over messages, and a customer's history.

Search reads chat_messages.search_vector (a generated tsvector of each message's Spanish and
English lexemes, without accents) through its GIN index; the query is parsed the same two
ways and OR-ed, so a word matches in whichever language it was written. docs/decisions.md
("Message search") says why this configuration.
"""

from __future__ import annotations

import functools
import html
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, text

from supportapp.errors import NotFound
from supportapp.extensions import db
from supportapp.models import ChatMessage, ChatSession, SessionStatus, User
from supportapp.models.chat import SEARCH_CONFIGURATIONS
from supportapp.services.sessions import (
    SessionFilters,
    SessionPage,
    last_messages_of,
    list_sessions,
)
from supportapp.services.users import MSG_USER_NOT_FOUND

# ts_headline marks matches with two private-use characters, turned into <mark> after the
# rest of the text has been HTML-escaped: `highlight` is safe to insert as HTML.
_START, _STOP = "\ue000", "\ue001"
# Chat messages are short: one excerpt of up to 35 words around the best match (markup in a
# message is dropped from the excerpt by the text search parser).
HEADLINE_OPTIONS = f"StartSel={_START}, StopSel={_STOP}, MaxWords=35, MinWords=15"

_QUERY_SQL = " || ".join(
    f"websearch_to_tsquery('{name}'::regconfig, :q)" for name in SEARCH_CONFIGURATIONS
)
# Filters: fixed fragments chosen by which values are given (values are bound parameters).
_FILTERS = {
    "status": "s.status = CAST(:status AS session_status)",
    "support_agent_id": "s.support_agent_id = :support_agent_id",
    "start": 'm."timestamp" >= :start',
    "end": 'm."timestamp" < :end',
}
_SESSION_FILTERS = {"status", "support_agent_id"}


@dataclass(frozen=True)
class SearchFilters:
    status: SessionStatus | None = None
    support_agent_id: uuid.UUID | None = None
    start: datetime | None = None  # message time, inclusive
    end: datetime | None = None  # message time, exclusive


@dataclass(frozen=True)
class SearchHit:
    session: ChatSession
    last_message: ChatMessage | None
    message: ChatMessage
    highlight: str
    rank: float


@dataclass(frozen=True)
class SearchPage:
    hits: list[SearchHit]
    total: int


@functools.lru_cache(maxsize=32)
def _statement(filtered_by: frozenset[str]):
    join = "JOIN chat_sessions s ON s.id = m.session_id" if filtered_by & _SESSION_FILTERS else ""
    conditions = "".join(f" AND {_FILTERS[name]}" for name in sorted(filtered_by))
    return text(
        f"""
        WITH query AS (SELECT {_QUERY_SQL} AS q),
        matches AS (
            SELECT m.id, m."timestamp", ts_rank(m.search_vector, query.q) AS rank
            FROM chat_messages m CROSS JOIN query {join}
            WHERE m.search_vector @@ query.q{conditions}
        ),
        page AS (
            SELECT matches.*, count(*) OVER () AS total FROM matches
            ORDER BY rank DESC, "timestamp" DESC, id DESC
            LIMIT :limit OFFSET :offset
        )
        SELECT page.id, page.rank, page.total,
               ts_headline('{SEARCH_CONFIGURATIONS[0]}'::regconfig, m.message, query.q,
                           :headline) AS highlight
        FROM page JOIN chat_messages m ON m.id = page.id CROSS JOIN query
        ORDER BY page.rank DESC, page."timestamp" DESC, page.id DESC
        """
    )


def search_messages(
    q: str, filters: SearchFilters, *, page: int = 1, limit: int = 20
) -> SearchPage:
    """Messages matching `q` (web-search syntax: words, "a phrase", -excluded, or), best
    matches first, then newest; each with its session, that session's latest message and a
    highlighted excerpt. Case and accents do not matter."""
    values = {
        "status": str(filters.status) if filters.status else None,
        "support_agent_id": filters.support_agent_id,
        "start": filters.start,
        "end": filters.end,
    }
    params = {name: value for name, value in values.items() if value is not None}
    rows = db.session.execute(
        _statement(frozenset(params)),
        {
            **params,
            "q": q,
            "limit": limit,
            "offset": (page - 1) * limit,
            "headline": HEADLINE_OPTIONS,
        },
    ).all()
    if not rows:
        total = 0 if page == 1 else _count(q, frozenset(params), params)
        return SearchPage(hits=[], total=total)
    messages = {
        m.id: m
        for m in db.session.scalars(
            select(ChatMessage).where(ChatMessage.id.in_([r.id for r in rows]))
        )
    }
    session_ids = list({m.session_id for m in messages.values()})
    sessions = {
        s.id: s
        for s in db.session.scalars(select(ChatSession).where(ChatSession.id.in_(session_ids)))
    }
    latest = last_messages_of(session_ids)
    hits = []
    for row in rows:
        message = messages[row.id]
        hits.append(
            SearchHit(
                session=sessions[message.session_id],
                last_message=latest.get(message.session_id),
                message=message,
                highlight=_safe_highlight(row.highlight),
                rank=float(row.rank),
            )
        )
    return SearchPage(hits=hits, total=int(rows[0].total))


def _count(q: str, filtered_by: frozenset[str], params: dict) -> int:
    """The number of matches, for a page past the last one."""
    join = "JOIN chat_sessions s ON s.id = m.session_id" if filtered_by & _SESSION_FILTERS else ""
    conditions = "".join(f" AND {_FILTERS[name]}" for name in sorted(filtered_by))
    statement = text(
        f"SELECT count(*) FROM chat_messages m {join} "
        f"WHERE m.search_vector @@ ({_QUERY_SQL}){conditions}"
    )
    return int(db.session.scalar(statement, {**params, "q": q}) or 0)


def _safe_highlight(headline: str) -> str:
    escaped = html.escape(" ".join(headline.split()), quote=False)
    return escaped.replace(_START, "<mark>").replace(_STOP, "</mark>")


# --- customer history --------------------------------------------------------------------


def customer_sessions(
    user_id: uuid.UUID, *, status: SessionStatus | None = None, page: int = 1, limit: int = 20
) -> SessionPage:
    """A customer's sessions, newest first, each with its latest message (404 for an unknown
    user)."""
    if db.session.scalar(select(User.id).where(User.id == user_id)) is None:
        raise NotFound(MSG_USER_NOT_FOUND)
    return list_sessions(
        SessionFilters(user_id=user_id, status=status),
        sort_by="createdAt",
        sort_order="desc",
        page=page,
        limit=limit,
    )

"""Query strings and response shapes of message search and customer history."""

from __future__ import annotations

import marshmallow as ma

from supportapp.api.blueprint import envelope
from supportapp.api.chat.schemas import (
    MSG_STATUS,
    ChatMessageSchema,
    ChatSessionSchema,
    SessionListSchema,
    StatsQuerySchema,
)
from supportapp.api.common import PageQuerySchema, TrimmedString, page_schema
from supportapp.models import SessionStatus

MSG_QUERY_EMPTY = "La búsqueda no puede estar vacía"
MSG_QUERY_TOO_LONG = "La búsqueda no puede superar los 200 caracteres"


class SearchQuerySchema(PageQuerySchema, StatsQuerySchema):
    """`from`/`to` bound the time messages were sent."""

    q = TrimmedString(
        required=True,
        validate=[
            ma.validate.Length(min=1, error=MSG_QUERY_EMPTY),
            ma.validate.Length(max=200, error=MSG_QUERY_TOO_LONG),
        ],
        error_messages={"required": MSG_QUERY_EMPTY, "null": MSG_QUERY_EMPTY},
        metadata={
            "description": 'Words (all must match), "a phrase", -excluded, `or`; case and '
            "accents do not matter"
        },
    )
    status = ma.fields.Enum(SessionStatus, by_value=True, error_messages={"unknown": MSG_STATUS})
    supportAgentId = ma.fields.UUID(
        error_messages={"invalid_uuid": "El agente de soporte no existe"}
    )


class SearchResultSchema(ma.Schema):
    session = ma.fields.Nested(
        ChatSessionSchema,
        required=True,
        metadata={"description": "The session, with its most recent message"},
    )
    message = ma.fields.Nested(ChatMessageSchema, required=True)
    highlight = ma.fields.String(
        required=True,
        metadata={"description": "Excerpt of the message, HTML-escaped, matches in <mark>…</mark>"},
    )


SearchSchema = page_schema("SearchSchema", "results", SearchResultSchema)


class CustomerSessionsQuerySchema(PageQuerySchema):
    status = ma.fields.Enum(SessionStatus, by_value=True, error_messages={"unknown": MSG_STATUS})


SearchEnvelope = envelope(SearchSchema, "MessageSearchEnvelope")
CustomerSessionsEnvelope = envelope(SessionListSchema, "CustomerSessionsEnvelope")

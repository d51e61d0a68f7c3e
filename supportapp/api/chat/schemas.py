"""Bodies, query strings and response shapes of /api/chat (ChatSession, ChatMessage; see
docs/contract.md)."""

from __future__ import annotations

import uuid

import marshmallow as ma

from supportapp.api.blueprint import envelope
from supportapp.api.common import (
    DATE_TIME,
    DateRangeQuerySchema,
    PageQuerySchema,
    TrimmedString,
    VisibleText,
    moment,
    page_schema,
    required_string,
)
from supportapp.api.metrics.schemas import AdvancedStatsSchema
from supportapp.models import Priority, SessionStatus
from supportapp.texts import (
    MESSAGE_MAX_LENGTH,
    MSG_MESSAGE_EMPTY,
    MSG_MESSAGE_TOO_LONG,
    NOTE_MAX_LENGTH,
    RATING_COMMENT_MAX_LENGTH,
    TRANSFER_NOTE_MAX_LENGTH,
)

MSG_PRIORITY = "La prioridad debe ser low, medium o high"
MSG_STATUS = "El estado debe ser active, closed o pending"
MSG_SCORE = "La calificación debe ser un número entero entre 1 y 5"


def _choice(values, message: str) -> ma.validate.OneOf:
    return ma.validate.OneOf([v.value if hasattr(v, "value") else v for v in values], error=message)


class MessageText(VisibleText):
    """1–MESSAGE_MAX_LENGTH characters once trimmed; only invisible characters count as
    empty (texts.py)."""

    def __init__(self, **kwargs):
        super().__init__(
            validate=[
                ma.validate.Length(min=1, error=MSG_MESSAGE_EMPTY),
                ma.validate.Length(max=MESSAGE_MAX_LENGTH, error=MSG_MESSAGE_TOO_LONG),
            ],
            error_messages={
                "required": MSG_MESSAGE_EMPTY,
                "null": MSG_MESSAGE_EMPTY,
                "invalid": "El mensaje debe ser texto",
            },
            **kwargs,
        )


# --- response shapes ----------------------------------------------------------------------


class AttachmentSchema(ma.Schema):
    id = required_string()
    filename = ma.fields.String(
        required=True, metadata={"description": "For display only: a safe base name"}
    )
    contentType = ma.fields.String(
        required=True, metadata={"description": "Decided by sniffing the content"}
    )
    size = ma.fields.Integer(required=True, metadata={"description": "Bytes"})
    url = ma.fields.String(
        required=True,
        metadata={
            "description": "Signed download link, valid for ATTACHMENT_URL_TTL seconds, that "
            "needs no Authorization header"
        },
    )


class ChatMessageSchema(ma.Schema):
    id = required_string()
    sessionId = required_string()
    message = ma.fields.String(
        required=True, metadata={"description": "May be empty for a message with attachments"}
    )
    sender = ma.fields.String(required=True, metadata={"enum": ["user", "support"]})
    timestamp = moment()
    isRead = ma.fields.Boolean(required=True)
    attachments = ma.fields.List(ma.fields.Nested(AttachmentSchema), required=True)


class SlaStatusSchema(ma.Schema):
    firstResponseDueAt = moment(allow_none=True)
    resolutionDueAt = moment(allow_none=True)
    firstResponseBreached = ma.fields.Boolean(required=True)
    resolutionBreached = ma.fields.Boolean(required=True)


class ChatSessionSchema(ma.Schema):
    id = required_string()
    userId = required_string()
    supportAgentId = ma.fields.String(allow_none=True)
    status = ma.fields.String(required=True, metadata={"enum": [s.value for s in SessionStatus]})
    priority = ma.fields.String(required=True, metadata={"enum": [p.value for p in Priority]})
    assignedAt = ma.fields.String(allow_none=True, metadata=DATE_TIME)
    createdAt = moment()
    lastMessageAt = moment()
    closedAt = ma.fields.String(allow_none=True, metadata=DATE_TIME)
    messages = ma.fields.List(ma.fields.Nested(ChatMessageSchema), required=True)
    unreadCount = ma.fields.Integer(metadata={"description": "Unread user messages (lists only)"})
    teamId = required_string(allow_none=True)
    outsideBusinessHours = ma.fields.Boolean(
        required=True, metadata={"description": "Opened while its team was closed"}
    )
    sla = ma.fields.Nested(SlaStatusSchema, required=True)


SessionListSchema = page_schema("SessionListSchema", "sessions", ChatSessionSchema)


class PersonSchema(ma.Schema):
    id = required_string()
    email = ma.fields.String()
    name = required_string()


class SessionUserSchema(PersonSchema):
    email = ma.fields.String(allow_none=True)
    isGuest = ma.fields.Boolean(required=True)


class RatingSummarySchema(ma.Schema):
    score = ma.fields.Integer(required=True)
    comment = required_string(allow_none=True)
    createdAt = moment()


class RatingSchema(RatingSummarySchema):
    id = required_string()
    sessionId = required_string()
    userId = required_string()
    agentId = ma.fields.String(
        allow_none=True, metadata={"description": "The agent the session had when it was rated"}
    )


class TransferSchema(ma.Schema):
    fromAgentId = required_string(allow_none=True)
    toAgentId = required_string(allow_none=True)
    byUserId = required_string(allow_none=True)
    note = required_string(allow_none=True)
    createdAt = moment()


class CustomerSchema(SessionUserSchema):
    sessionsCount = ma.fields.Integer(
        required=True,
        metadata={"description": "Sessions this customer has opened, this one included"},
    )
    lastSessionAt = ma.fields.String(
        allow_none=True,
        required=True,
        metadata={**DATE_TIME, "description": "When the customer's newest session was created"},
    )


class SessionDetailsSchema(ma.Schema):
    session = ma.fields.Nested(ChatSessionSchema, required=True)
    user = ma.fields.Nested(CustomerSchema, allow_none=True)
    agent = ma.fields.Nested(PersonSchema, allow_none=True)
    rating = ma.fields.Nested(RatingSummarySchema, allow_none=True, required=True)
    transfers = ma.fields.List(
        ma.fields.Nested(TransferSchema),
        required=True,
        metadata={"description": "Hand-overs between agents, oldest first"},
    )


class NoteSchema(ma.Schema):
    id = required_string()
    sessionId = required_string()
    authorId = required_string(allow_none=True)
    authorName = required_string()
    note = required_string()
    createdAt = moment()


NotePageSchema = page_schema("NotePageSchema", "notes", NoteSchema)


def _figure(data_key: str, attribute: str, field: type = ma.fields.Integer, **kwargs):
    return field(data_key=data_key, attribute=f"figures.{attribute}", required=True, **kwargs)


class StatsSchema(ma.Schema):
    """Dumps {"figures": analytics.stats.ChatStats, "advanced": analytics.metrics.TeamMetrics
    or None} under the contract's names; `advanced` is left out when None (support agents)."""

    total_sessions = _figure("totalSessions", "total_sessions")
    active_sessions = _figure("activeSessions", "active_sessions")
    pending_sessions = _figure("pendingSessions", "pending_sessions")
    closed_sessions = _figure("closedSessions", "closed_sessions")
    average_response_time = _figure(
        "averageResponseTime",
        "average_response_time",
        ma.fields.Float,
        metadata={"description": "Minutes, one decimal"},
    )
    sessions_today = _figure("sessionsToday", "sessions_today")
    sessions_this_week = _figure("sessionsThisWeek", "sessions_this_week")
    sessions_this_month = _figure("sessionsThisMonth", "sessions_this_month")
    advanced = ma.fields.Nested(
        AdvancedStatsSchema,
        metadata={"description": "admin/superadmin only; definitions in docs/metrics.md"},
    )

    @ma.post_dump
    def _without_advanced(self, data: dict, **kwargs) -> dict:
        if data.get("advanced") is None:
            data.pop("advanced", None)
        return data


class QueueEntrySchema(ChatSessionSchema):
    position = ma.fields.Integer(required=True)


QueueSchema = page_schema("QueueSchema", "sessions", QueueEntrySchema)


class QueuePositionSchema(ma.Schema):
    position = ma.fields.Integer(allow_none=True, required=True)
    total = ma.fields.Integer(required=True)
    estimatedWaitMinutes = ma.fields.Float(allow_none=True, required=True)


class ReadResultSchema(ma.Schema):
    marked = ma.fields.Integer(required=True)


SessionEnvelope = envelope(ChatSessionSchema)
SessionListEnvelope = envelope(SessionListSchema, "ChatSessionListEnvelope")
SessionArrayEnvelope = envelope(ChatSessionSchema, many=True)
MessageEnvelope = envelope(ChatMessageSchema)
MessageArrayEnvelope = envelope(ChatMessageSchema, many=True)
DetailsEnvelope = envelope(SessionDetailsSchema)
StatsEnvelope = envelope(StatsSchema)
QueueEnvelope = envelope(QueueSchema)
QueuePositionEnvelope = envelope(QueuePositionSchema)
ReadResultEnvelope = envelope(ReadResultSchema)
RatingEnvelope = envelope(RatingSchema, "SessionRatingEnvelope")
NoteEnvelope = envelope(NoteSchema, "ChatNoteEnvelope")
NotePageEnvelope = envelope(NotePageSchema, "ChatNotePageEnvelope")


# --- requests -------------------------------------------------------------------------------


class OpenSessionSchema(ma.Schema):
    message = MessageText(load_default=None)
    teamId = ma.fields.UUID(
        load_default=None, allow_none=True, metadata={"description": "A public team (optional)"}
    )


class MessageSchema(ma.Schema):
    message = MessageText(required=True)


class SupportMessageSchema(ma.Schema):
    """Exactly one of `message` and `templateId` (a response template rendered for the
    session: {{user.name}}, {{user.email}}, {{agent.name}}, {{session.id}})."""

    message = MessageText(load_default=None)
    templateId = ma.fields.UUID(
        load_default=None,
        error_messages={"invalid_uuid": "La plantilla no existe"},
    )

    @ma.validates_schema
    def exactly_one(self, data, **kwargs):
        if data.get("message") is not None and data.get("templateId") is not None:
            raise ma.ValidationError("Envía message o templateId, no ambos", "templateId")
        if data.get("message") is None and data.get("templateId") is None:
            raise ma.ValidationError(MSG_MESSAGE_EMPTY, "message")


def _optional_text(max_length: int, too_long: str, **kwargs) -> TrimmedString:
    """Trimmed text that may be left out or null, at most `max_length` characters."""
    return TrimmedString(
        load_default=None,
        allow_none=True,
        validate=ma.validate.Length(max=max_length, error=too_long),
        **kwargs,
    )


class RatingCreateSchema(ma.Schema):
    score = ma.fields.Integer(
        required=True,
        strict=True,
        validate=ma.validate.Range(min=1, max=5, error=MSG_SCORE),
        error_messages={"required": MSG_SCORE, "null": MSG_SCORE, "invalid": MSG_SCORE},
    )
    comment = _optional_text(
        RATING_COMMENT_MAX_LENGTH,
        f"El comentario no puede superar los {RATING_COMMENT_MAX_LENGTH} caracteres",
    )


class AssignSchema(ma.Schema):
    supportAgentId = ma.fields.UUID(
        required=True,
        error_messages={
            "invalid_uuid": "El agente de soporte no existe",
            "required": "El agente de soporte es obligatorio",
            "null": "El agente de soporte es obligatorio",
        },
    )


MSG_NOTE_EMPTY = "La nota no puede estar vacía"


class TransferRequestSchema(AssignSchema):
    note = _optional_text(
        TRANSFER_NOTE_MAX_LENGTH,
        f"La nota no puede superar los {TRANSFER_NOTE_MAX_LENGTH} caracteres",
        error_messages={"invalid": "La nota debe ser texto"},
    )


class NoteCreateSchema(ma.Schema):
    note = TrimmedString(
        required=True,
        validate=[
            ma.validate.Length(min=1, error=MSG_NOTE_EMPTY),
            ma.validate.Length(
                max=NOTE_MAX_LENGTH,
                error=f"La nota no puede superar los {NOTE_MAX_LENGTH} caracteres",
            ),
        ],
        error_messages={
            "required": MSG_NOTE_EMPTY,
            "null": MSG_NOTE_EMPTY,
            "invalid": "La nota debe ser texto",
        },
    )


class PrioritySchema(ma.Schema):
    priority = ma.fields.String(
        required=True,
        validate=_choice(Priority, MSG_PRIORITY),
        error_messages={"required": MSG_PRIORITY, "null": MSG_PRIORITY, "invalid": MSG_PRIORITY},
    )


class AgentFilter(ma.fields.String):
    """A support agent id, or `me` for the caller's own profile."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if text == "me":
            return text
        try:
            return uuid.UUID(text)
        except ValueError as exc:
            raise ma.ValidationError("Debe ser un id de agente o 'me'") from exc


class SessionsQuerySchema(PageQuerySchema):
    status = ma.fields.String(validate=_choice(SessionStatus, MSG_STATUS))
    priority = ma.fields.String(validate=_choice(Priority, MSG_PRIORITY))
    supportAgentId = AgentFilter()
    userId = ma.fields.UUID()
    teamId = ma.fields.UUID()
    sortBy = ma.fields.String(
        load_default="lastMessageAt",
        validate=ma.validate.OneOf(
            ["createdAt", "lastMessageAt", "assignedAt", "priority", "status"]
        ),
    )
    sortOrder = ma.fields.String(load_default="desc", validate=ma.validate.OneOf(["asc", "desc"]))


class OwnSessionsQuerySchema(PageQuerySchema):
    status = ma.fields.String(validate=_choice(SessionStatus, MSG_STATUS))


class QueueQuerySchema(PageQuerySchema):
    teamId = ma.fields.UUID(metadata={"description": "Only this team's queue"})


class StatusPageQuerySchema(PageQuerySchema):
    limit = ma.fields.Integer(load_default=50, validate=ma.validate.Range(min=1, max=100))


class StatsQuerySchema(DateRangeQuerySchema):
    teamId = ma.fields.UUID(
        metadata={
            "description": "Only this team's sessions (the eight figures; `advanced` "
            "stays for every team)"
        }
    )

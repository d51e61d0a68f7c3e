"""Bodies and shapes of /api/support (SupportAgent, audit log entries: docs/contract.md)."""

from __future__ import annotations

import marshmallow as ma

from supportapp.api.blueprint import envelope
from supportapp.api.common import (
    DATE_TIME,
    PageQuerySchema,
    TrimmedString,
    moment,
    page_schema,
    required_string,
)
from supportapp.models import Availability, Presence

NAME = ma.validate.Length(min=1, max=100, error="El nombre debe tener entre 1 y 100 caracteres")
CAPACITY = ma.validate.Range(min=1, max=50, error="El límite de chats debe estar entre 1 y 50")


class SupportAgentSchema(ma.Schema):
    id = required_string()
    userId = required_string()
    name = required_string()
    email = required_string()
    isActive = ma.fields.Boolean(required=True)
    maxConcurrentChats = ma.fields.Integer(required=True)
    currentActiveChats = ma.fields.Integer(required=True)
    presence = ma.fields.String(
        required=True,
        metadata={
            "enum": [p.value for p in Presence],
            "description": "offline without an open staff WebSocket for PRESENCE_GRACE_SECONDS, "
            "else the availability the agent chose",
        },
    )
    presenceChangedAt = moment()
    createdAt = moment()
    updatedAt = moment()


class AgentCreateSchema(ma.Schema):
    """Loads the keyword arguments of services.agents.create_agent."""

    user_id = ma.fields.UUID(data_key="userId", required=True)
    name = TrimmedString(required=True, validate=NAME)
    max_concurrent_chats = ma.fields.Integer(
        data_key="maxConcurrentChats", load_default=5, validate=CAPACITY, strict=True
    )


class AgentUpdateSchema(ma.Schema):
    name = TrimmedString(validate=NAME)
    isActive = ma.fields.Boolean()
    maxConcurrentChats = ma.fields.Integer(validate=CAPACITY, strict=True)


MSG_AVAILABILITY = "La presencia debe ser online o away"
MSG_PRESENCE = "La presencia debe ser online, away u offline"


class AgentSelfUpdateSchema(ma.Schema):
    """At least one of `isActive` and `presence` (the availability the agent chooses)."""

    isActive = ma.fields.Boolean()
    presence = ma.fields.String(
        validate=ma.validate.OneOf([a.value for a in Availability], error=MSG_AVAILABILITY),
        error_messages={"null": MSG_AVAILABILITY, "invalid": MSG_AVAILABILITY},
    )

    @ma.validates_schema
    def not_empty(self, data, **kwargs):
        if not data:
            raise ma.ValidationError("Indica isActive o presence", "presence")


class AgentsQuerySchema(ma.Schema):
    isActive = ma.fields.Boolean()
    presence = ma.fields.String(
        validate=ma.validate.OneOf([p.value for p in Presence], error=MSG_PRESENCE)
    )


class AuditLogSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    actorId = ma.fields.String(allow_none=True)
    actorRole = required_string()
    action = required_string()
    targetType = required_string()
    targetId = ma.fields.String(allow_none=True)
    sessionId = ma.fields.String(allow_none=True)
    before = ma.fields.Dict(allow_none=True)
    after = ma.fields.Dict(allow_none=True)
    ip = ma.fields.String(allow_none=True)
    requestId = ma.fields.String(allow_none=True)
    createdAt = moment()


AuditLogPageSchema = page_schema("AuditLogPageSchema", "logs", AuditLogSchema)


class AuditLogQuerySchema(PageQuerySchema):
    actorId = ma.fields.UUID()
    action = ma.fields.String(validate=ma.validate.Length(max=50))
    sessionId = ma.fields.UUID()
    from_ = ma.fields.String(data_key="from", metadata=DATE_TIME)
    to = ma.fields.String(metadata=DATE_TIME)


AgentEnvelope = envelope(SupportAgentSchema)
AgentArrayEnvelope = envelope(SupportAgentSchema, many=True)
AuditLogPageEnvelope = envelope(AuditLogPageSchema)

"""Bodies and shapes of teams, business hours, SLA targets and the widget's availability."""

from __future__ import annotations

import marshmallow as ma

from supportapp.api.blueprint import envelope
from supportapp.api.common import DATE_TIME, TrimmedString, moment, required_string

NAME = ma.validate.Length(min=1, max=100, error="El nombre debe tener entre 1 y 100 caracteres")
DESCRIPTION = ma.validate.Length(
    max=500, error="La descripción no puede superar los 500 caracteres"
)
HOURS_HELP = (
    '{"timezone": IANA name, "weekly": {"mon": [["09:00", "18:00"]], …}, "holidays": '
    '["YYYY-MM-DD"]}; "24:00" ends a day; null = always open.'
)


class TeamSchema(ma.Schema):
    id = required_string()
    name = required_string()
    description = ma.fields.String(allow_none=True)
    isPublic = ma.fields.Boolean(required=True)
    businessHours = ma.fields.Raw(allow_none=True, metadata={"description": HOURS_HELP})
    agentIds = ma.fields.List(ma.fields.String(), required=True)
    createdAt = moment()
    updatedAt = moment()


class TeamCreateSchema(ma.Schema):
    name = TrimmedString(required=True, validate=NAME)
    description = TrimmedString(load_default=None, allow_none=True, validate=DESCRIPTION)
    isPublic = ma.fields.Boolean(load_default=True)
    businessHours = ma.fields.Raw(
        load_default=None, allow_none=True, metadata={"description": HOURS_HELP}
    )


class TeamUpdateSchema(ma.Schema):
    name = TrimmedString(validate=NAME)
    description = TrimmedString(allow_none=True, validate=DESCRIPTION)
    isPublic = ma.fields.Boolean()
    businessHours = ma.fields.Raw(allow_none=True, metadata={"description": HOURS_HELP})


class TeamMembersSchema(ma.Schema):
    agentIds = ma.fields.List(ma.fields.UUID(), required=True)


class PublicTeamSchema(ma.Schema):
    id = required_string()
    name = required_string()
    open = ma.fields.Boolean(required=True)
    nextOpenAt = ma.fields.String(allow_none=True, metadata=DATE_TIME)
    estimatedWaitMinutes = ma.fields.Float(allow_none=True)


class AvailabilityQuerySchema(ma.Schema):
    teamId = ma.fields.UUID()


class AvailabilitySchema(ma.Schema):
    open = ma.fields.Boolean(required=True)
    nextOpenAt = ma.fields.String(allow_none=True, metadata=DATE_TIME)
    agentsOnline = ma.fields.Integer(required=True)
    estimatedWaitMinutes = ma.fields.Float(allow_none=True)


MINUTES = ma.validate.Range(min=1, max=525_600, error="Debe ser un entero positivo de minutos")


class SlaTargetSchema(ma.Schema):
    firstResponseMinutes = ma.fields.Integer(strict=True, allow_none=True, validate=MINUTES)
    resolutionMinutes = ma.fields.Integer(strict=True, allow_none=True, validate=MINUTES)


class SlaTargetsSchema(ma.Schema):
    """Per priority; a priority left out (or with both values null) has no target."""

    @ma.validates_schema(pass_original=True)
    def known_priorities(self, _data, original, **_kwargs):
        # The API ignores unknown fields elsewhere; here a misspelt priority would silently
        # drop a target, so it is refused.
        if isinstance(original, dict):
            unknown = sorted(set(original) - set(self.fields))
            if unknown:
                raise ma.ValidationError(
                    {name: ["Prioridad desconocida: use low, medium o high"] for name in unknown}
                )

    low = ma.fields.Nested(SlaTargetSchema, allow_none=True)
    medium = ma.fields.Nested(SlaTargetSchema, allow_none=True)
    high = ma.fields.Nested(SlaTargetSchema, allow_none=True)


TeamEnvelope = envelope(TeamSchema)
TeamArrayEnvelope = envelope(TeamSchema, many=True)
PublicTeamArrayEnvelope = envelope(PublicTeamSchema, many=True)
AvailabilityEnvelope = envelope(AvailabilitySchema)
SlaTargetsEnvelope = envelope(SlaTargetsSchema)

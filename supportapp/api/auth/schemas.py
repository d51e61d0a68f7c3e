"""Request and response bodies of the auth endpoints."""

from __future__ import annotations

import marshmallow as ma

from supportapp.api.blueprint import envelope
from supportapp.api.common import TrimmedString, required_string


class RegisterSchema(ma.Schema):
    email = ma.fields.Email(required=True, validate=ma.validate.Length(max=254))
    password = ma.fields.String(required=True, validate=ma.validate.Length(min=8, max=128))
    name = TrimmedString(required=True, validate=ma.validate.Length(min=1, max=100))


class LoginSchema(ma.Schema):
    email = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=254))
    password = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=128))


class GuestSchema(ma.Schema):
    name = TrimmedString(validate=ma.validate.Length(min=1, max=100))
    email = ma.fields.Email(validate=ma.validate.Length(max=254))


class IdentifySchema(ma.Schema):
    externalId = TrimmedString(required=True, validate=ma.validate.Length(min=1, max=255))
    userHash = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=128))
    name = TrimmedString(validate=ma.validate.Length(min=1, max=100))
    email = ma.fields.Email(validate=ma.validate.Length(max=254))


class EraseOwnDataSchema(ma.Schema):
    password = ma.fields.String(validate=ma.validate.Length(min=1, max=128))


class UserSchema(ma.Schema):
    id = required_string()
    email = required_string(allow_none=True)
    name = required_string()
    role = required_string()
    isGuest = ma.fields.Boolean(required=True)


class UserExportSchema(ma.Schema):
    """Everything held about one customer (see docs/operations.md, "Personal data")."""

    exportedAt = required_string()
    user = ma.fields.Dict(required=True)
    sessions = ma.fields.List(ma.fields.Dict(), required=True)
    ratings = ma.fields.List(ma.fields.Dict(), required=True)
    attachments = ma.fields.List(ma.fields.Dict(), required=True)
    auditLogs = ma.fields.List(ma.fields.Dict(), required=True)


class AuthResultSchema(ma.Schema):
    user = ma.fields.Nested(UserSchema, required=True)
    accessToken = required_string()
    refreshToken = required_string()


class AccessTokenSchema(ma.Schema):
    accessToken = required_string()


class TokenInfoSchema(ma.Schema):
    userId = required_string()
    role = required_string()
    expiresAt = ma.fields.Integer(allow_none=True)


TokenInfoEnvelope = envelope(TokenInfoSchema)
AuthResultEnvelope = envelope(AuthResultSchema)
AccessTokenEnvelope = envelope(AccessTokenSchema)
UserEnvelope = envelope(UserSchema)
UserExportEnvelope = envelope(UserExportSchema)
EmptyEnvelope = envelope(None, "EmptyEnvelope")

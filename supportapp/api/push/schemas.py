"""Bodies and shapes of /api/support/push-subscriptions (the browser's PushSubscription)."""

from __future__ import annotations

import marshmallow as ma
from flask import current_app

from supportapp.api.blueprint import envelope
from supportapp.api.common import moment, required_string
from supportapp.services.endpoint_guard import EndpointRefused, check_endpoint
from supportapp.vapid import b64url_decode, normalize_public_key

MAX_ENDPOINT = 2048
MSG_P256DH = "Debe ser una clave pública P-256 en base64url (65 bytes)"
MSG_AUTH = "Debe ser un secreto de autenticación en base64url (16 bytes)"


def validate_endpoint(value: str) -> None:
    """A push service URL: https on a public address (services/endpoint_guard.py)."""
    try:
        check_endpoint(value, allow_insecure=current_app.config["PUSH_ALLOW_INSECURE_ENDPOINTS"])
    except EndpointRefused as exc:
        raise ma.ValidationError(str(exc)) from exc


def validate_p256dh(value: str) -> None:
    try:
        normalize_public_key(value)
    except ValueError as exc:
        raise ma.ValidationError(MSG_P256DH) from exc


def validate_auth(value: str) -> None:
    try:
        secret = b64url_decode(value)
    except ValueError as exc:
        raise ma.ValidationError(MSG_AUTH) from exc
    if len(secret) != 16:
        raise ma.ValidationError(MSG_AUTH)


class PushKeysSchema(ma.Schema):
    p256dh = ma.fields.String(required=True, validate=validate_p256dh)
    auth = ma.fields.String(required=True, validate=validate_auth)


class PushSubscriptionCreateSchema(ma.Schema):
    """The JSON of the browser's `PushSubscription` (`subscription.toJSON()`)."""

    endpoint = ma.fields.String(
        required=True,
        validate=[ma.validate.Length(min=1, max=MAX_ENDPOINT), validate_endpoint],
    )
    keys = ma.fields.Nested(PushKeysSchema, required=True)


class PushSubscriptionDeleteSchema(ma.Schema):
    endpoint = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=MAX_ENDPOINT))


class PushSubscriptionSchema(ma.Schema):
    id = required_string()
    endpoint = required_string()
    createdAt = moment()


class VapidPublicKeySchema(ma.Schema):
    publicKey = ma.fields.String(
        required=True, metadata={"description": "applicationServerKey for pushManager.subscribe"}
    )


PushSubscriptionEnvelope = envelope(PushSubscriptionSchema)
EmptyEnvelope = envelope(None, "PushSubscriptionDeletedEnvelope")
VapidPublicKeyEnvelope = envelope(VapidPublicKeySchema)

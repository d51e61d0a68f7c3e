"""/api/support/push-subscriptions — agents' browsers register for new-chat Web Push."""

from __future__ import annotations

from supportapp.api.blueprint import Blueprint, ok
from supportapp.api.push.schemas import (
    EmptyEnvelope,
    PushSubscriptionCreateSchema,
    PushSubscriptionDeleteSchema,
    PushSubscriptionEnvelope,
    VapidPublicKeyEnvelope,
)
from supportapp.auth.actor import current_actor
from supportapp.models import SUPPORT_ROLES
from supportapp.representations import push_subscription_dict
from supportapp.services import push

bp = Blueprint(
    "push",
    __name__,
    url_prefix="/api/support/push-subscriptions",
    description="Web Push subscriptions for new-chat notifications",
)


@bp.endpoint(
    "POST ", PushSubscriptionEnvelope, SUPPORT_ROLES, status=201, body=PushSubscriptionCreateSchema
)
def create_push_subscription(body: dict):
    """Register the caller's browser (upsert by endpoint; the subscription becomes theirs)."""
    subscription = push.subscribe(
        current_actor(),
        endpoint=body["endpoint"],
        p256dh=body["keys"]["p256dh"],
        auth=body["keys"]["auth"],
    )
    return ok(push_subscription_dict(subscription), "Suscripción push registrada exitosamente")


@bp.endpoint(
    "DELETE ", EmptyEnvelope, SUPPORT_ROLES, errors=[404], body=PushSubscriptionDeleteSchema
)
def delete_push_subscription(body: dict):
    """Remove one of the caller's subscriptions (404 when the endpoint is not theirs)."""
    push.unsubscribe(current_actor(), body["endpoint"])
    return ok(None, "Suscripción push eliminada exitosamente")


@bp.endpoint("GET /vapid-public-key", VapidPublicKeyEnvelope, SUPPORT_ROLES, errors=[404])
def get_vapid_public_key():
    """The applicationServerKey to subscribe with (404 when Web Push is not configured)."""
    return ok({"publicKey": push.vapid_public_key()}, "Clave pública obtenida exitosamente")

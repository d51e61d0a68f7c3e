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
from supportapp.representations import iso
from supportapp.services import push

bp = Blueprint(
    "push",
    __name__,
    url_prefix="/api/support/push-subscriptions",
    description="Web Push subscriptions for new-chat notifications",
)


@bp.post("")
@bp.auth(SUPPORT_ROLES)
@bp.arguments(PushSubscriptionCreateSchema)
@bp.response(201, PushSubscriptionEnvelope)
def create_push_subscription(body: dict):
    """Register the caller's browser (upsert by endpoint; the subscription becomes theirs)."""
    subscription = push.subscribe(
        current_actor(),
        endpoint=body["endpoint"],
        p256dh=body["keys"]["p256dh"],
        auth=body["keys"]["auth"],
    )
    data = {
        "id": str(subscription.id),
        "endpoint": subscription.endpoint,
        "createdAt": iso(subscription.created_at),
    }
    return ok(data, "Suscripción push registrada exitosamente")


@bp.delete("")
@bp.auth(SUPPORT_ROLES)
@bp.arguments(PushSubscriptionDeleteSchema)
@bp.response(200, EmptyEnvelope)
@bp.alt_response(404, response="NOT_FOUND")
def delete_push_subscription(body: dict):
    """Remove one of the caller's subscriptions (404 when the endpoint is not theirs)."""
    push.unsubscribe(current_actor(), body["endpoint"])
    return ok(None, "Suscripción push eliminada exitosamente")


@bp.get("/vapid-public-key")
@bp.auth(SUPPORT_ROLES)
@bp.response(200, VapidPublicKeyEnvelope)
@bp.alt_response(404, response="NOT_FOUND")
def get_vapid_public_key():
    """The applicationServerKey to subscribe with (404 when Web Push is not configured)."""
    return ok({"publicKey": push.vapid_public_key()}, "Clave pública obtenida exitosamente")

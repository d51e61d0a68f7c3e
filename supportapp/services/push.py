"""Web Push subscriptions of support staff's browsers: registering, removing, the public key."""

from __future__ import annotations

import uuid

from flask import current_app
from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert

from supportapp.auth.actor import Actor
from supportapp.errors import Conflict, NotFound
from supportapp.models import PushSubscription, User
from supportapp.services.unit_of_work import unit_of_work

MSG_SUBSCRIPTION_NOT_FOUND = "Suscripción push no encontrada"
MSG_PUSH_NOT_CONFIGURED = "Las notificaciones push no están configuradas"
MSG_TOO_MANY_SUBSCRIPTIONS = "Has alcanzado el máximo de suscripciones push permitidas"


def subscribe(actor: Actor, *, endpoint: str, p256dh: str, auth: str) -> PushSubscription:
    """Register the caller's browser. An endpoint is one browser profile: registering it again
    updates its keys, and a browser where another agent now signs in becomes theirs. A user
    holds at most PUSH_MAX_SUBSCRIPTIONS_PER_USER endpoints (409 for one more)."""
    with unit_of_work() as uow:
        _check_room(uow.db, actor.user_id, endpoint)
        statement = (
            insert(PushSubscription)
            .values(
                id=uuid.uuid4(), user_id=actor.user_id, endpoint=endpoint, p256dh=p256dh, auth=auth
            )
            .on_conflict_do_update(
                index_elements=[PushSubscription.endpoint],
                set_={"user_id": actor.user_id, "p256dh": p256dh, "auth": auth},
            )
            .returning(PushSubscription)
            .execution_options(populate_existing=True)
        )
        subscription = uow.db.scalars(statement).one()
    return subscription


def _check_room(db_session, user_id: uuid.UUID, endpoint: str) -> None:
    """409 when registering `endpoint` would give the user one subscription too many. The
    user's row lock makes concurrent registrations of one user count one after the other."""
    db_session.execute(select(User.id).where(User.id == user_id).with_for_update())
    held = db_session.scalar(
        select(func.count())
        .select_from(PushSubscription)
        .where(PushSubscription.user_id == user_id, PushSubscription.endpoint != endpoint)
    )
    if held >= current_app.config["PUSH_MAX_SUBSCRIPTIONS_PER_USER"]:
        raise Conflict(MSG_TOO_MANY_SUBSCRIPTIONS)


def unsubscribe(actor: Actor, endpoint: str) -> None:
    """Remove one of the caller's subscriptions; 404 when the caller has none at `endpoint`."""
    with unit_of_work() as uow:
        result = uow.db.execute(
            delete(PushSubscription).where(
                PushSubscription.endpoint == endpoint, PushSubscription.user_id == actor.user_id
            )
        )
        if result.rowcount == 0:
            raise NotFound(MSG_SUBSCRIPTION_NOT_FOUND)


def vapid_public_key() -> str:
    """The applicationServerKey browsers subscribe with; 404 when Web Push is not set up."""
    key = current_app.config.get("VAPID_PUBLIC_KEY")
    if not key:
        raise NotFound(MSG_PUSH_NOT_CONFIGURED)
    return key

"""Agent presence: computed from open staff sockets (Redis) and the chosen availability.

`presence` is `offline` when no web process vouches for a staff socket of the agent's user
(realtime/presence.py), otherwise the availability the agent chose (`online` | `away`). The
value and its time of change are stored on the agent so lists, filters and events read one
consistent answer; `reconcile` brings them in line and announces each change. It runs when a
user's first socket opens on a process (coming online is immediate) and from the periodic
presence sweep (going offline is noticed within a second of the grace period running out).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable

import redis
from sqlalchemy import String, case, cast, literal, select

from supportapp.extensions import db
from supportapp.jobs import request_auto_assignment
from supportapp.models import Availability, Presence, SupportAgent
from supportapp.models.base import utcnow
from supportapp.realtime import events
from supportapp.realtime.presence import connected_user_ids
from supportapp.services.unit_of_work import UnitOfWork, unit_of_work

log = logging.getLogger(__name__)


def presence_of(availability: Availability, connected: bool) -> Presence:
    """The presence rule, in Python (the SQL form is `_computed_presence`)."""
    return Presence(str(availability)) if connected else Presence.OFFLINE


def _computed_presence(connected: list[uuid.UUID]):
    return case(
        (SupportAgent.user_id.in_(connected), cast(SupportAgent.availability, String)),
        else_=literal("offline"),
    )


def online_user_ids() -> set[uuid.UUID]:
    """Users with an open staff socket somewhere (raises redis.RedisError)."""
    ids = set()
    for raw in connected_user_ids():
        try:
            ids.add(uuid.UUID(raw))
        except ValueError:
            continue
    return ids


def reconcile(user_ids: Iterable[uuid.UUID] | None = None) -> int:
    """Store and announce every presence that changed (only `user_ids`' agents when given);
    an agent who comes online pulls from the queue. Returns the number of changes."""
    try:
        connected = sorted(online_user_ids(), key=str)
    except redis.RedisError:
        log.warning("presence unknown: Redis is unavailable", exc_info=True)
        return 0
    query = (
        select(SupportAgent)
        .where(cast(SupportAgent.presence, String) != _computed_presence(connected))
        .order_by(SupportAgent.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if user_ids is not None:
        query = query.where(SupportAgent.user_id.in_(list(user_ids)))
    connected_set = set(connected)
    with unit_of_work() as uow:
        changed = list(db.session.scalars(query))
        for agent in changed:
            set_presence(
                uow, agent, presence_of(agent.availability, agent.user_id in connected_set)
            )
        uow.db.flush()
        for agent in changed:
            uow.emit(events.agent_status_changed(agent))
    return len(changed)


def set_presence(uow: UnitOfWork, agent: SupportAgent, presence: Presence) -> bool:
    """Record a locked agent's new presence; the caller flushes and emits
    agent_status_changed. An agent who becomes online pulls from the queue after commit.
    False when nothing changed."""
    if agent.presence == presence:
        return False
    agent.presence = presence
    agent.presence_changed_at = utcnow()
    if presence == Presence.ONLINE:
        request_auto_assignment(uow)
    return True

"""`slaMet`: the share of sessions created in a range that met each SLA target.

A session counts for a target once its outcome is known: it has the target (a due time) and
either the first support reply (resp. the close) happened, or the due time has passed. It met
the target when the reply (resp. the close) came at or before the due time. Due times are kept
on the session by services/sla.py.

Reads chat_sessions through `ix_sessions_sla_created`, a partial index of the sessions that
have a target, so the cost follows the sessions with targets, not the whole history.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, or_, select

from supportapp.analytics.stats import Range
from supportapp.extensions import db
from supportapp.models import OVERALL, ChatSession
from supportapp.models.base import utcnow


@dataclass(frozen=True)
class SlaMet:
    """% (one decimal) of the decided sessions that met the target; None when none."""

    first_response: float | None = None
    resolution: float | None = None


def _share(met: int, decided: int) -> float | None:
    return round(100 * met / decided, 1) if decided else None


def sla_met(
    window: Range, *, by_agent: bool, now: datetime | None = None
) -> dict[uuid.UUID, SlaMet]:
    """SlaMet of the sessions created in the window, by assigned agent id (`by_agent`) or for
    all of them under OVERALL."""
    now = now or utcnow()
    first_due, resolution_due = ChatSession.first_response_due_at, ChatSession.resolution_due_at
    replied, closed = ChatSession.first_response_at, ChatSession.closed_at
    first_decided = and_(first_due.is_not(None), or_(replied.is_not(None), first_due <= now))
    resolution_decided = and_(
        resolution_due.is_not(None), or_(closed.is_not(None), resolution_due <= now)
    )
    key = ChatSession.support_agent_id if by_agent else None
    query = select(
        *([key] if by_agent else []),
        func.count().filter(first_decided),
        func.count().filter(first_decided, replied <= first_due),
        func.count().filter(resolution_decided),
        func.count().filter(resolution_decided, closed <= resolution_due),
    ).where(or_(first_due.is_not(None), resolution_due.is_not(None)))
    if window.start is not None:
        query = query.where(ChatSession.created_at >= window.start)
    if window.end is not None:
        query = query.where(ChatSession.created_at < window.end)
    if by_agent:
        query = query.where(key.is_not(None)).group_by(key)
    found: dict[uuid.UUID, SlaMet] = {}
    for row in db.session.execute(query):
        *agent, first_total, first_met, resolution_total, resolution_met = row
        found[agent[0] if by_agent else OVERALL] = SlaMet(
            first_response=_share(first_met, first_total),
            resolution=_share(resolution_met, resolution_total),
        )
    return found

"""SLA targets and due times: per priority, minutes to the first support reply and to closing.

Due times count from the session's creation and only through its team's business hours when
the team has any (services/business_hours.py: add_open_time). They are stored on the session
(so the sweep and the dashboards read them through an index) and recomputed whenever what they
depend on changes: the session's priority, the targets, or the team's hours. The warning time
of each target is when 80 % of its open time has passed.

A target is met when the first support reply (resp. the close) came at or before its due time;
it is breached once that moment has passed without it. `sweep` announces each warning and each
breach once (`sla_notices` bit flags on the session).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, insert, or_, select, update

from supportapp.auth.actor import Actor
from supportapp.extensions import db
from supportapp.models import ChatSession, Priority, SessionStatus, SlaTarget, Team
from supportapp.models.base import utcnow
from supportapp.realtime import events
from supportapp.services import audit
from supportapp.services.business_hours import add_open_time, schedule_of
from supportapp.services.unit_of_work import UnitOfWork, unit_of_work

WARNING_SHARE = 0.8
SWEEP_BATCH = 500

FIRST_RESPONSE = "firstResponse"
RESOLUTION = "resolution"
# sla_notices bit flags
NOTICE_FIRST_RESPONSE_WARNING = 1
NOTICE_FIRST_RESPONSE_BREACH = 2
NOTICE_RESOLUTION_WARNING = 4
NOTICE_RESOLUTION_BREACH = 8


@dataclass(frozen=True)
class Target:
    first_response_minutes: int | None = None
    resolution_minutes: int | None = None


@dataclass(frozen=True)
class DueTimes:
    first_response_due_at: datetime | None
    first_response_warn_at: datetime | None
    resolution_due_at: datetime | None
    resolution_warn_at: datetime | None


# --- targets -----------------------------------------------------------------------------------


def current_targets() -> dict[Priority, Target]:
    """Every priority's target (a priority without a row has none)."""
    rows = {row.priority: row for row in db.session.scalars(select(SlaTarget))}
    return {
        priority: Target(rows[priority].first_response_minutes, rows[priority].resolution_minutes)
        if priority in rows
        else Target()
        for priority in Priority
    }


def targets_dict(targets: dict[Priority, Target]) -> dict[str, dict[str, int | None]]:
    return {
        str(priority): {
            "firstResponseMinutes": target.first_response_minutes,
            "resolutionMinutes": target.resolution_minutes,
        }
        for priority, target in targets.items()
    }


def set_targets(actor: Actor, targets: dict[Priority, Target]) -> dict[Priority, Target]:
    """Replace the targets (priorities left out have none) and recompute the due times of every
    open session."""
    with unit_of_work() as uow:
        # One writer at a time: the sweep and other PUTs see either the old or the new set.
        uow.db.execute(select(SlaTarget).with_for_update())
        before = current_targets()
        uow.db.execute(delete(SlaTarget))
        rows = [
            {
                "priority": priority,
                "first_response_minutes": target.first_response_minutes,
                "resolution_minutes": target.resolution_minutes,
            }
            for priority, target in targets.items()
            if target.first_response_minutes or target.resolution_minutes
        ]
        if rows:
            uow.db.execute(insert(SlaTarget), rows)
        after = {priority: targets.get(priority, Target()) for priority in Priority}
        if after != before:
            audit.record(
                uow,
                actor,
                "sla.update",
                target_type="sla",
                target_id=None,
                before=targets_dict(before),
                after=targets_dict(after),
            )
            recompute_open_sessions(uow, targets=after)
    return after


# --- due times ---------------------------------------------------------------------------------


def due_times(session: ChatSession, team: Team | None, target: Target) -> DueTimes:
    schedule = schedule_of(team)
    start = session.created_at

    def at(minutes: int | None, share: float = 1.0) -> datetime | None:
        if not minutes:
            return None
        return add_open_time(schedule, start, timedelta(minutes=minutes * share))

    return DueTimes(
        first_response_due_at=at(target.first_response_minutes),
        first_response_warn_at=at(target.first_response_minutes, WARNING_SHARE),
        resolution_due_at=at(target.resolution_minutes),
        resolution_warn_at=at(target.resolution_minutes, WARNING_SHARE),
    )


def apply_due_times(
    session: ChatSession,
    team: Team | None,
    targets: dict[Priority, Target] | None = None,
    *,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Set the session's due and warning times for its current priority; return the changed
    columns. A notice already sent is forgotten when its due time moves into the future, so a
    later breach of the new target is announced again."""
    target = (targets or current_targets())[Priority(session.priority)]
    due = due_times(session, team, target)
    now = now or utcnow()
    notices = session.sla_notices or 0
    if due.first_response_due_at != session.first_response_due_at:
        notices &= ~(NOTICE_FIRST_RESPONSE_WARNING | NOTICE_FIRST_RESPONSE_BREACH)
        if due.first_response_warn_at is not None and due.first_response_warn_at <= now:
            notices |= session.sla_notices & NOTICE_FIRST_RESPONSE_WARNING
    if due.resolution_due_at != session.resolution_due_at:
        notices &= ~(NOTICE_RESOLUTION_WARNING | NOTICE_RESOLUTION_BREACH)
        if due.resolution_warn_at is not None and due.resolution_warn_at <= now:
            notices |= session.sla_notices & NOTICE_RESOLUTION_WARNING
    changes = {
        "first_response_due_at": due.first_response_due_at,
        "first_response_warn_at": due.first_response_warn_at,
        "resolution_due_at": due.resolution_due_at,
        "resolution_warn_at": due.resolution_warn_at,
        "sla_notices": notices,
    }
    changed = {k: v for k, v in changes.items() if getattr(session, k) != v}
    for key, value in changed.items():
        setattr(session, key, value)
    return changed


def recompute_open_sessions(
    uow: UnitOfWork,
    *,
    team_id: uuid.UUID | None = None,
    targets: dict[Priority, Target] | None = None,
) -> int:
    """Recompute the due times of open sessions (of one team, or all); return how many changed."""
    targets = targets or current_targets()
    query = select(ChatSession).where(ChatSession.status != SessionStatus.CLOSED)
    if team_id is not None:
        query = query.where(ChatSession.team_id == team_id)
    teams: dict[uuid.UUID, Team | None] = {}
    changed = 0
    now = utcnow()
    for chat in uow.db.scalars(query.order_by(ChatSession.id).with_for_update()):
        if chat.team_id not in teams:
            teams[chat.team_id] = uow.db.get(Team, chat.team_id) if chat.team_id else None
        if apply_due_times(chat, teams[chat.team_id], targets, now=now):
            changed += 1
    return changed


# --- the sweep ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Notice:
    session_id: uuid.UUID
    kind: str  # "warning" | "breach"
    target: str  # FIRST_RESPONSE | RESOLUTION


def _pending_notices(now: datetime):
    """Open sessions with a warning or breach not yet announced, oldest due first."""
    flags = ChatSession.sla_notices

    def unsent(bit: int):
        return flags.op("&")(bit) == 0

    first = and_(
        ChatSession.first_response_at.is_(None),
        or_(
            and_(ChatSession.first_response_warn_at <= now, unsent(NOTICE_FIRST_RESPONSE_WARNING)),
            and_(ChatSession.first_response_due_at <= now, unsent(NOTICE_FIRST_RESPONSE_BREACH)),
        ),
    )
    resolution = or_(
        and_(ChatSession.resolution_warn_at <= now, unsent(NOTICE_RESOLUTION_WARNING)),
        and_(ChatSession.resolution_due_at <= now, unsent(NOTICE_RESOLUTION_BREACH)),
    )
    return (
        select(ChatSession)
        .where(ChatSession.status != SessionStatus.CLOSED, or_(first, resolution))
        .order_by(ChatSession.id)
        .limit(SWEEP_BATCH)
        .with_for_update(skip_locked=True)
    )


def notices_due(session: ChatSession, now: datetime) -> tuple[list[Notice], int]:
    """The notices to send for `session` now, and its new `sla_notices` flags. A breach found
    before its warning was sent is announced alone (no warning after the fact)."""
    notices: list[Notice] = []
    flags = session.sla_notices
    checks = [
        (
            FIRST_RESPONSE,
            session.first_response_at is None,
            session.first_response_warn_at,
            session.first_response_due_at,
            NOTICE_FIRST_RESPONSE_WARNING,
            NOTICE_FIRST_RESPONSE_BREACH,
        ),
        (
            RESOLUTION,
            True,
            session.resolution_warn_at,
            session.resolution_due_at,
            NOTICE_RESOLUTION_WARNING,
            NOTICE_RESOLUTION_BREACH,
        ),
    ]
    for target, still_running, warn_at, due_at, warn_bit, breach_bit in checks:
        if not still_running or warn_at is None or flags & breach_bit:
            continue
        if due_at is not None and due_at <= now:
            notices.append(Notice(session.id, "breach", target))
            flags |= warn_bit | breach_bit
        elif warn_at <= now and not flags & warn_bit:
            notices.append(Notice(session.id, "warning", target))
            flags |= warn_bit
    return notices, flags


def sweep(now: datetime | None = None) -> list[Notice]:
    """Announce every SLA warning and breach that is due, once: event `sla_warning` /
    `sla_breached` to staff, and a push (services/notifications.py) to the assigned agent or,
    for a session still waiting, to the available agents."""
    from supportapp.jobs import notify_sla

    now = now or utcnow()
    sent: list[Notice] = []
    while True:
        with unit_of_work() as uow:
            batch = list(uow.db.scalars(_pending_notices(now)))
            found: list[Notice] = []
            for chat in batch:
                notices, flags = notices_due(chat, now)
                if flags != chat.sla_notices:
                    uow.db.execute(
                        update(ChatSession)
                        .where(ChatSession.id == chat.id)
                        .values(sla_notices=flags)
                    )
                    chat.sla_notices = flags
                for notice in notices:
                    uow.emit(events.sla_notice(chat, notice.kind, notice.target))
                found.extend(notices)
            if found:
                notify_sla(uow, [(str(n.session_id), n.kind, n.target) for n in found])
        sent.extend(found)
        if len(batch) < SWEEP_BATCH:
            return sent

"""What a customer sees before opening a chat: whether support (or a team) is open, when it
opens next, how many agents are online and how long the wait would be."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from supportapp.extensions import db
from supportapp.models import (
    ChatSession,
    Presence,
    SessionStatus,
    SupportAgent,
    Team,
    team_members,
)
from supportapp.models.base import utcnow
from supportapp.services import queue, teams
from supportapp.services.business_hours import is_open, next_open_at, schedule_of


@dataclass(frozen=True)
class Availability:
    team: Team | None
    open: bool
    next_open_at: datetime | None
    agents_online: int
    estimated_wait_minutes: float | None


def availability(team_id: uuid.UUID | None = None, now: datetime | None = None) -> Availability:
    """For one public team (400 on `teamId` otherwise), or for support as a whole (always open:
    hours belong to teams)."""
    team = teams.public_team(team_id) if team_id is not None else None
    return _of(team, now or utcnow())


def public_teams(now: datetime | None = None) -> list[Availability]:
    now = now or utcnow()
    return [_of(view.team, now) for view in teams.list_teams(public_only=True)]


def _of(team: Team | None, now: datetime) -> Availability:
    schedule = schedule_of(team)
    waiting = db.session.scalar(
        select(func.count(ChatSession.id)).where(
            ChatSession.status == SessionStatus.PENDING,
            ChatSession.team_id == team.id if team else True,
        )
    )
    return Availability(
        team=team,
        open=is_open(schedule, now),
        next_open_at=next_open_at(schedule, now),
        agents_online=online_agents(team),
        estimated_wait_minutes=queue.estimate_wait(
            int(waiting or 0) + 1, team.id if team else None
        ),
    )


def online_agents(team: Team | None) -> int:
    """Active agents (of the team) whose presence is online: they could take a chat now."""
    query = select(func.count(SupportAgent.id)).where(
        SupportAgent.is_active.is_(True), SupportAgent.presence == Presence.ONLINE
    )
    if team is not None:
        query = query.join(team_members, team_members.c.agent_id == SupportAgent.id).where(
            team_members.c.team_id == team.id
        )
    return int(db.session.scalar(query) or 0)

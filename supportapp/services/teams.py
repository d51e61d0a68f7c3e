"""Teams: creating and changing them (admins), their members, and their opening hours.

A team groups agents who take its chats (services/assignment.py routes a team's sessions to its
members). `businessHours` is optional: a team without it is always open.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from supportapp.auth.actor import Actor
from supportapp.errors import Conflict, NotFound, ValidationFailed
from supportapp.extensions import db
from supportapp.jobs import request_auto_assignment
from supportapp.models import ChatSession, SessionStatus, SupportAgent, Team, team_members
from supportapp.models.base import utcnow
from supportapp.services import audit, sla
from supportapp.services.business_hours import (
    ScheduleError,
    is_open,
    next_open_at,
    schedule_from_json,
    schedule_of,
    schedule_to_json,
)
from supportapp.services.unit_of_work import unit_of_work

MSG_TEAM_NOT_FOUND = "Equipo no encontrado"
MSG_TEAM_NAME_TAKEN = "Ya existe un equipo con ese nombre"
MSG_TEAM_UNKNOWN = "El equipo no existe o no es público"
MSG_AGENTS_UNKNOWN = "Agentes de soporte no encontrados: {ids}"

EDITABLE = {"name": "name", "description": "description", "isPublic": "is_public"}


@dataclass(frozen=True)
class TeamView:
    team: Team
    agent_ids: list[uuid.UUID]


def parse_schedule(raw: dict | None) -> dict | None:
    """The canonical `businessHours` document, or a 400 on `businessHours`."""
    try:
        return schedule_to_json(schedule_from_json(raw))
    except ScheduleError as error:
        raise ValidationFailed.field("businessHours", str(error)) from None


# --- reading -----------------------------------------------------------------------------------


def _members_of(team_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[uuid.UUID]]:
    members: dict[uuid.UUID, list[uuid.UUID]] = {team_id: [] for team_id in team_ids}
    if team_ids:
        rows = db.session.execute(
            select(team_members.c.team_id, team_members.c.agent_id)
            .where(team_members.c.team_id.in_(team_ids))
            .order_by(team_members.c.team_id, team_members.c.agent_id)
        )
        for team_id, agent_id in rows:
            members[team_id].append(agent_id)
    return members


def list_teams(*, public_only: bool = False) -> list[TeamView]:
    query = select(Team).order_by(func.lower(Team.name), Team.id)
    if public_only:
        query = query.where(Team.is_public.is_(True))
    teams = list(db.session.scalars(query))
    members = _members_of([t.id for t in teams])
    return [TeamView(team, members[team.id]) for team in teams]


def get_team(team_id: uuid.UUID) -> TeamView:
    team = db.session.get(Team, team_id)
    if team is None:
        raise NotFound(MSG_TEAM_NOT_FOUND)
    return TeamView(team, _members_of([team.id])[team.id])


def public_team(team_id: uuid.UUID) -> Team:
    """The team a customer may open a chat for, or 400 on `teamId`."""
    team = db.session.get(Team, team_id)
    if team is None or not team.is_public:
        raise ValidationFailed.field("teamId", MSG_TEAM_UNKNOWN)
    return team


# --- changing ----------------------------------------------------------------------------------


def _snapshot(view: TeamView) -> dict[str, Any]:
    team = view.team
    return {
        "name": team.name,
        "description": team.description,
        "isPublic": team.is_public,
        "businessHours": team.business_hours,
        "agentIds": [str(a) for a in view.agent_ids],
    }


def _flush_or_conflict() -> None:
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        raise Conflict(MSG_TEAM_NAME_TAKEN) from None


def create_team(actor: Actor, fields: dict[str, Any]) -> TeamView:
    """`fields` as the API names them: name, description, isPublic, businessHours."""
    business_hours = parse_schedule(fields.get("businessHours"))
    with unit_of_work() as uow:
        team = Team(
            name=fields["name"],
            description=fields.get("description"),
            is_public=fields.get("isPublic", True),
            business_hours=business_hours,
        )
        uow.db.add(team)
        _flush_or_conflict()
        view = TeamView(team, [])
        audit.record(
            uow, actor, "team.create", target_type="team", target_id=team.id, after=_snapshot(view)
        )
    return view


def update_team(actor: Actor, team_id: uuid.UUID, changes: dict[str, Any]) -> TeamView:
    """Change name, description, isPublic and/or businessHours (null = always open). Open
    sessions of the team get their SLA due times recomputed for the new hours."""
    hours_changed = "businessHours" in changes
    business_hours = parse_schedule(changes["businessHours"]) if hours_changed else None
    with unit_of_work() as uow:
        team = uow.db.scalar(select(Team).where(Team.id == team_id).with_for_update())
        if team is None:
            raise NotFound(MSG_TEAM_NOT_FOUND)
        view = TeamView(team, _members_of([team.id])[team.id])
        before = _snapshot(view)
        for key, attribute in EDITABLE.items():
            if key in changes:
                setattr(team, attribute, changes[key])
        if hours_changed:
            team.business_hours = business_hours
        _flush_or_conflict()
        after = _snapshot(view)
        if after != before:
            audit.record(
                uow,
                actor,
                "team.update",
                target_type="team",
                target_id=team.id,
                before={k: v for k, v in before.items() if after[k] != v},
                after={k: v for k, v in after.items() if before[k] != v},
            )
        if hours_changed and business_hours != before["businessHours"]:
            sla.recompute_open_sessions(uow, team_id=team.id)
            _reschedule_deferred_notices(uow, team)
    return view


def _reschedule_deferred_notices(uow, team: Team) -> None:
    """Waiting chats opened while the team was closed get their push at the new opening time
    (at the next sweep when the new hours make it open now)."""
    schedule = schedule_of(team)
    now = utcnow()
    at = now if is_open(schedule, now) else next_open_at(schedule, now)
    uow.db.execute(
        update(ChatSession)
        .where(
            ChatSession.team_id == team.id,
            ChatSession.status == SessionStatus.PENDING,
            ChatSession.outside_business_hours.is_(True),
            ChatSession.deferred_notice_at.is_not(None),
        )
        .values(deferred_notice_at=at)
    )


def set_members(actor: Actor, team_id: uuid.UUID, agent_ids: list[uuid.UUID]) -> TeamView:
    """Replace the team's members; every id must be an agent profile (400 on `agentIds`)."""
    wanted = sorted(set(agent_ids))
    with unit_of_work() as uow:
        team = uow.db.scalar(select(Team).where(Team.id == team_id).with_for_update())
        if team is None:
            raise NotFound(MSG_TEAM_NOT_FOUND)
        known = set(uow.db.scalars(select(SupportAgent.id).where(SupportAgent.id.in_(wanted))))
        missing = [str(a) for a in wanted if a not in known]
        if missing:
            raise ValidationFailed.field(
                "agentIds", MSG_AGENTS_UNKNOWN.format(ids=", ".join(missing))
            )
        before = [str(a) for a in _members_of([team.id])[team.id]]
        uow.db.execute(delete(team_members).where(team_members.c.team_id == team.id))
        if wanted:
            uow.db.execute(
                insert(team_members), [{"team_id": team.id, "agent_id": a} for a in wanted]
            )
        after = [str(a) for a in wanted]
        if after != before:
            team.updated_at = func.now()
            audit.record(
                uow,
                actor,
                "team.members",
                target_type="team",
                target_id=team.id,
                before={"agentIds": before},
                after={"agentIds": after},
            )
            # New members may take the team's waiting chats.
            request_auto_assignment(uow)
    db.session.refresh(team)
    return TeamView(team, wanted)

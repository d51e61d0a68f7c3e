"""/api/support/teams, /api/support/sla (staff; admins change them) and the widget's
/api/chat/teams and /api/chat/availability (any signed-in user)."""

from __future__ import annotations

import uuid

from supportapp.api.blueprint import Blueprint, ok
from supportapp.api.teams.schemas import (
    AvailabilityEnvelope,
    AvailabilityQuerySchema,
    PublicTeamArrayEnvelope,
    SlaTargetsEnvelope,
    SlaTargetsSchema,
    TeamArrayEnvelope,
    TeamCreateSchema,
    TeamEnvelope,
    TeamMembersSchema,
    TeamUpdateSchema,
)
from supportapp.auth.actor import current_actor
from supportapp.models import ADMIN_ROLES, SUPPORT_ROLES, Priority
from supportapp.representations import availability_dict, team_dict
from supportapp.services import availability, sla, teams
from supportapp.services.teams import MSG_TEAM_NOT_FOUND

bp = Blueprint(
    "teams",
    __name__,
    url_prefix="/api",
    description="Teams with business hours, SLA targets, and what the widget shows a customer "
    "before a chat: which teams are open and how long the wait is.",
    path_ids={"team_id": MSG_TEAM_NOT_FOUND},
)


@bp.endpoint("GET /support/teams", TeamArrayEnvelope, SUPPORT_ROLES)
def list_teams():
    """Every team, public or not, with its members and hours."""
    return ok([team_dict(view) for view in teams.list_teams()], "Equipos obtenidos exitosamente")


@bp.endpoint(
    "POST /support/teams",
    TeamEnvelope,
    ADMIN_ROLES,
    errors=[409],
    status=201,
    body=TeamCreateSchema,
)
def create_team(body: dict):
    """Create a team; its name must be unused (409)."""
    view = teams.create_team(current_actor(), body)
    return ok(team_dict(view), "Equipo creado exitosamente")


@bp.endpoint("GET /support/teams/<team_id>", TeamEnvelope, SUPPORT_ROLES)
def get_team(team_id: uuid.UUID):
    """One team."""
    return ok(team_dict(teams.get_team(team_id)), "Equipo obtenido exitosamente")


@bp.endpoint(
    "PATCH /support/teams/<team_id>", TeamEnvelope, ADMIN_ROLES, errors=[409], body=TeamUpdateSchema
)
def update_team(body: dict, team_id: uuid.UUID):
    """Change name, description, isPublic or businessHours (null = always open)."""
    view = teams.update_team(current_actor(), team_id, body)
    return ok(team_dict(view), "Equipo actualizado exitosamente")


@bp.endpoint(
    "PUT /support/teams/<team_id>/members", TeamEnvelope, ADMIN_ROLES, body=TeamMembersSchema
)
def set_team_members(body: dict, team_id: uuid.UUID):
    """Replace the team's members with these agent profiles."""
    view = teams.set_members(current_actor(), team_id, body["agentIds"])
    return ok(team_dict(view), "Miembros del equipo actualizados exitosamente")


@bp.endpoint("GET /support/sla", SlaTargetsEnvelope, SUPPORT_ROLES)
def get_sla():
    """The SLA targets of each priority (nulls: no target)."""
    return ok(sla.targets_dict(sla.current_targets()), "Objetivos de SLA obtenidos exitosamente")


@bp.endpoint("PUT /support/sla", SlaTargetsEnvelope, ADMIN_ROLES, body=SlaTargetsSchema)
def put_sla(body: dict):
    """Replace the SLA targets; open sessions' due times follow at once."""
    targets = {
        Priority(name): sla.Target(
            (value or {}).get("firstResponseMinutes"), (value or {}).get("resolutionMinutes")
        )
        for name, value in body.items()
    }
    saved = sla.set_targets(current_actor(), targets)
    return ok(sla.targets_dict(saved), "Objetivos de SLA actualizados exitosamente")


@bp.endpoint("GET /chat/teams", PublicTeamArrayEnvelope)
def list_public_teams():
    """Public teams a customer may pick, with whether each is open and the expected wait."""
    return ok(
        [availability_dict(found, team=True) for found in availability.public_teams()],
        "Equipos obtenidos exitosamente",
    )


@bp.endpoint("GET /chat/availability", AvailabilityEnvelope, query=AvailabilityQuerySchema)
def get_availability(query: dict):
    """Whether support (or one public team) is open now, when it opens next, how many agents
    are online and the expected wait; an unknown or non-public team → 400 `errors.teamId`."""
    found = availability.availability(query.get("teamId"))
    return ok(availability_dict(found), "Disponibilidad obtenida exitosamente")

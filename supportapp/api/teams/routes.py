"""/api/support/teams, /api/support/sla (staff; admins change them) and the widget's
/api/chat/teams and /api/chat/availability (any signed-in user)."""

from __future__ import annotations

from supportapp.api.blueprint import Blueprint, ok
from supportapp.api.common import parse_id
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
)


def _team_id(raw: str):
    return parse_id(raw, MSG_TEAM_NOT_FOUND)


@bp.get("/support/teams")
@bp.auth(SUPPORT_ROLES)
@bp.response(200, TeamArrayEnvelope)
def list_teams():
    """Every team, public or not, with its members and hours."""
    return ok([team_dict(view) for view in teams.list_teams()], "Equipos obtenidos exitosamente")


@bp.post("/support/teams")
@bp.auth(ADMIN_ROLES)
@bp.arguments(TeamCreateSchema)
@bp.response(201, TeamEnvelope)
@bp.alt_response(409, response="CONFLICT")
def create_team(body: dict):
    """Create a team; its name must be unused (409)."""
    view = teams.create_team(current_actor(), body)
    return ok(team_dict(view), "Equipo creado exitosamente")


@bp.get("/support/teams/<team_id>")
@bp.auth(SUPPORT_ROLES)
@bp.response(200, TeamEnvelope)
@bp.alt_response(404, response="NOT_FOUND")
def get_team(team_id: str):
    """One team."""
    return ok(team_dict(teams.get_team(_team_id(team_id))), "Equipo obtenido exitosamente")


@bp.patch("/support/teams/<team_id>")
@bp.auth(ADMIN_ROLES)
@bp.arguments(TeamUpdateSchema)
@bp.response(200, TeamEnvelope)
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(409, response="CONFLICT")
def update_team(body: dict, team_id: str):
    """Change name, description, isPublic or businessHours (null = always open)."""
    view = teams.update_team(current_actor(), _team_id(team_id), body)
    return ok(team_dict(view), "Equipo actualizado exitosamente")


@bp.put("/support/teams/<team_id>/members")
@bp.auth(ADMIN_ROLES)
@bp.arguments(TeamMembersSchema)
@bp.response(200, TeamEnvelope)
@bp.alt_response(404, response="NOT_FOUND")
def set_team_members(body: dict, team_id: str):
    """Replace the team's members with these agent profiles."""
    view = teams.set_members(current_actor(), _team_id(team_id), body["agentIds"])
    return ok(team_dict(view), "Miembros del equipo actualizados exitosamente")


@bp.get("/support/sla")
@bp.auth(SUPPORT_ROLES)
@bp.response(200, SlaTargetsEnvelope)
def get_sla():
    """The SLA targets of each priority (nulls: no target)."""
    return ok(sla.targets_dict(sla.current_targets()), "Objetivos de SLA obtenidos exitosamente")


@bp.put("/support/sla")
@bp.auth(ADMIN_ROLES)
@bp.arguments(SlaTargetsSchema)
@bp.response(200, SlaTargetsEnvelope)
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


@bp.get("/chat/teams")
@bp.auth()
@bp.response(200, PublicTeamArrayEnvelope)
def list_public_teams():
    """Public teams a customer may pick, with whether each is open and the expected wait."""
    return ok(
        [availability_dict(found, team=True) for found in availability.public_teams()],
        "Equipos obtenidos exitosamente",
    )


@bp.get("/chat/availability")
@bp.auth()
@bp.arguments(AvailabilityQuerySchema, location="query")
@bp.response(200, AvailabilityEnvelope)
def get_availability(query: dict):
    """Whether support (or one public team) is open now, when it opens next, how many agents
    are online and the expected wait; an unknown or non-public team → 400 `errors.teamId`."""
    found = availability.availability(query.get("teamId"))
    return ok(availability_dict(found), "Disponibilidad obtenida exitosamente")

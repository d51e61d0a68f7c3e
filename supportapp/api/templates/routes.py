"""/api/support/templates — response templates agents send with a shortcut."""

from __future__ import annotations

from supportapp.api.blueprint import Blueprint, ok
from supportapp.api.common import pagination, parse_id
from supportapp.api.templates.schemas import (
    TemplateCreateSchema,
    TemplateDeletedEnvelope,
    TemplateEnvelope,
    TemplateListEnvelope,
    TemplatesQuerySchema,
    TemplateUpdateSchema,
)
from supportapp.auth.actor import current_actor
from supportapp.models import SUPPORT_ROLES
from supportapp.representations import template_dict
from supportapp.services import templates
from supportapp.services.templates import MSG_TEMPLATE_NOT_FOUND

bp = Blueprint(
    "templates",
    __name__,
    url_prefix="/api/support/templates",
    description="Response templates: support users see shared templates and their own and "
    "change their own; admins change every template.",
)


def _template_id(raw: str):
    return parse_id(raw, MSG_TEMPLATE_NOT_FOUND)


@bp.get("")
@bp.auth(SUPPORT_ROLES)
@bp.arguments(TemplatesQuerySchema, location="query")
@bp.response(200, TemplateListEnvelope)
def list_templates(query: dict):
    """Templates the caller may use, by title; `q` searches title, shortcut and content."""
    found, total = templates.list_templates(
        current_actor(),
        q=query.get("q"),
        category=query.get("category"),
        page=query["page"],
        limit=query["limit"],
    )
    return ok(
        {
            "templates": [template_dict(t) for t in found],
            "pagination": pagination(query["page"], query["limit"], total),
        },
        "Plantillas obtenidas exitosamente",
    )


@bp.post("")
@bp.auth(SUPPORT_ROLES)
@bp.arguments(TemplateCreateSchema)
@bp.response(201, TemplateEnvelope)
@bp.alt_response(409, response="CONFLICT")
def create_template(body: dict):
    """Create a template owned by the caller; its shortcut must be unused (409)."""
    template = templates.create_template(
        current_actor(),
        title=body["title"],
        content=body["content"],
        shortcut=body["shortcut"],
        category=body["category"],
        is_shared=body["isShared"],
    )
    return ok(template_dict(template), "Plantilla creada exitosamente")


@bp.get("/<template_id>")
@bp.auth(SUPPORT_ROLES)
@bp.response(200, TemplateEnvelope)
@bp.alt_response(404, response="NOT_FOUND")
def get_template(template_id: str):
    """One template the caller may see."""
    template = templates.get_template(current_actor(), _template_id(template_id))
    return ok(template_dict(template), "Plantilla obtenida exitosamente")


@bp.patch("/<template_id>")
@bp.auth(SUPPORT_ROLES)
@bp.arguments(TemplateUpdateSchema)
@bp.response(200, TemplateEnvelope)
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(409, response="CONFLICT")
def update_template(body: dict, template_id: str):
    """Change a template: its author or an admin (a shared template of someone else: 403)."""
    template = templates.update_template(current_actor(), _template_id(template_id), body)
    return ok(template_dict(template), "Plantilla actualizada exitosamente")


@bp.delete("/<template_id>")
@bp.auth(SUPPORT_ROLES)
@bp.response(200, TemplateDeletedEnvelope)
@bp.alt_response(404, response="NOT_FOUND")
def delete_template(template_id: str):
    """Delete a template: its author or an admin."""
    templates.delete_template(current_actor(), _template_id(template_id))
    return ok(None, "Plantilla eliminada exitosamente")

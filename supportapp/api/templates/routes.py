"""/api/support/templates — response templates agents send with a shortcut."""

from __future__ import annotations

import uuid

from supportapp.api.blueprint import Blueprint, ok
from supportapp.api.common import page_of
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
    path_ids={"template_id": MSG_TEMPLATE_NOT_FOUND},
)


@bp.endpoint("GET ", TemplateListEnvelope, SUPPORT_ROLES, query=TemplatesQuerySchema)
def list_templates(query: dict):
    """Templates the caller may use, by title; `q` searches title, shortcut and content."""
    found, total = templates.list_templates(
        current_actor(),
        q=query.get("q"),
        category=query.get("category"),
        page=query["page"],
        limit=query["limit"],
    )
    data = page_of("templates", [template_dict(t) for t in found], query, total)
    return ok(data, "Plantillas obtenidas exitosamente")


@bp.endpoint(
    "POST ", TemplateEnvelope, SUPPORT_ROLES, errors=[409], status=201, body=TemplateCreateSchema
)
def create_template(body: dict):
    """Create a template owned by the caller; its shortcut must be unused (409)."""
    template = templates.create_template(current_actor(), **body)
    return ok(template_dict(template), "Plantilla creada exitosamente")


@bp.endpoint("GET /<template_id>", TemplateEnvelope, SUPPORT_ROLES)
def get_template(template_id: uuid.UUID):
    """One template the caller may see."""
    template = templates.get_template(current_actor(), template_id)
    return ok(template_dict(template), "Plantilla obtenida exitosamente")


@bp.endpoint(
    "PATCH /<template_id>", TemplateEnvelope, SUPPORT_ROLES, errors=[409], body=TemplateUpdateSchema
)
def update_template(body: dict, template_id: uuid.UUID):
    """Change a template: its author or an admin (a shared template of someone else: 403)."""
    template = templates.update_template(current_actor(), template_id, body)
    return ok(template_dict(template), "Plantilla actualizada exitosamente")


@bp.endpoint("DELETE /<template_id>", TemplateDeletedEnvelope, SUPPORT_ROLES)
def delete_template(template_id: uuid.UUID):
    """Delete a template: its author or an admin."""
    templates.delete_template(current_actor(), template_id)
    return ok(None, "Plantilla eliminada exitosamente")

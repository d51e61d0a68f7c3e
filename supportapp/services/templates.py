"""Response templates: canned answers with variables, who may see and change them, rendering.

Support users see shared templates and their own and change only their own; admins and
superadmins see and change every template. Content may use the variables in VARIABLES, written
`{{user.name}}`; any other `{{…}}` is refused when the template is saved, so a template that was
accepted always renders.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from supportapp import texts
from supportapp.auth.actor import Actor
from supportapp.errors import Conflict, NotFound, ValidationFailed
from supportapp.extensions import db
from supportapp.models import ChatSession, ResponseTemplate, SupportAgent, User
from supportapp.representations import template_dict
from supportapp.services import access, audit
from supportapp.services.unit_of_work import unit_of_work

MSG_TEMPLATE_NOT_FOUND = "Plantilla no encontrada"
MSG_TEMPLATE_UNKNOWN = "La plantilla no existe"
MSG_SHORTCUT_TAKEN = "Ya existe una plantilla con ese atajo"

VARIABLES = ("user.name", "user.email", "agent.name", "session.id")
# `{{ name }}`: spaces inside the braces are allowed; anything between the braces is a name.
PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")

EDITABLE = {
    "title": "title",
    "content": "content",
    "shortcut": "shortcut",
    "category": "category",
    "isShared": "is_shared",
}


# --- variables ---------------------------------------------------------------------------------


def unknown_variables(content: str) -> list[str]:
    """Names used in `content` that are not template variables, in order of appearance."""
    unknown: list[str] = []
    for name in PLACEHOLDER.findall(content):
        if name not in VARIABLES and name not in unknown:
            unknown.append(name)
    return unknown


def validate_content(content: str) -> None:
    unknown = unknown_variables(content)
    if unknown:
        names = ", ".join("{{" + name + "}}" for name in unknown)
        allowed = ", ".join("{{" + name + "}}" for name in VARIABLES)
        raise ValidationFailed.field(
            "content", f"Variables desconocidas: {names}. Variables permitidas: {allowed}"
        )


def render(content: str, values: dict[str, str]) -> str:
    """Replace each `{{variable}}` with its value; unknown names are left as written."""
    return PLACEHOLDER.sub(lambda match: values.get(match.group(1), match.group(0)), content)


def render_for_session(
    actor: Actor, template_id: uuid.UUID, chat: ChatSession, agent: SupportAgent | None
) -> str:
    """The text a support reply sends for `template_id` in `session`, trimmed and checked like a
    typed message. `{{agent.name}}` is the sender's agent name (their user name when the sender
    has no agent profile)."""
    template = db.session.scalar(
        select(ResponseTemplate).where(
            ResponseTemplate.id == template_id, access.visible_templates(actor)
        )
    )
    if template is None:
        raise ValidationFailed.field("templateId", MSG_TEMPLATE_UNKNOWN)
    owner = db.session.get(User, chat.user_id)
    sender_name = agent.name if agent else db.session.get(User, actor.user_id).name
    text = render(
        template.content,
        {
            "user.name": owner.name if owner else "",
            "user.email": (owner.email or "") if owner else "",
            "agent.name": sender_name,
            "session.id": str(chat.id),
        },
    )
    text = texts.visible(text)
    if not text:
        raise ValidationFailed.field("message", texts.MSG_MESSAGE_EMPTY)
    if len(text) > texts.MESSAGE_MAX_LENGTH:
        raise ValidationFailed.field("message", texts.MSG_MESSAGE_TOO_LONG)
    return text


# --- reading -----------------------------------------------------------------------------------


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def list_templates(
    actor: Actor,
    *,
    q: str | None = None,
    category: str | None = None,
    page: int = 1,
    limit: int = 50,
) -> tuple[list[ResponseTemplate], int]:
    """Templates the actor may see, by title. `q` matches title, shortcut or content (any case);
    `category` matches the category exactly, ignoring case."""
    query = select(ResponseTemplate).where(access.visible_templates(actor))
    if q:
        pattern = _like_pattern(q)
        query = query.where(
            or_(
                ResponseTemplate.title.ilike(pattern, escape="\\"),
                ResponseTemplate.shortcut.ilike(pattern, escape="\\"),
                ResponseTemplate.content.ilike(pattern, escape="\\"),
            )
        )
    if category:
        query = query.where(func.lower(ResponseTemplate.category) == category.lower())
    rows = db.session.scalars(
        query.order_by(func.lower(ResponseTemplate.title), ResponseTemplate.id)
        .limit(limit)
        .offset((page - 1) * limit)
    ).all()
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    return list(rows), int(total or 0)


def get_template(actor: Actor, template_id: uuid.UUID, *, lock: bool = False) -> ResponseTemplate:
    """The template, when the actor may see it; otherwise 404 as if it did not exist."""
    query = select(ResponseTemplate).where(
        ResponseTemplate.id == template_id, access.visible_templates(actor)
    )
    if lock:
        query = query.with_for_update()
    template = db.session.scalar(query)
    if template is None:
        raise NotFound(MSG_TEMPLATE_NOT_FOUND)
    return template


def _ensure_shortcut_free(shortcut: str, except_id: uuid.UUID | None = None) -> None:
    query = select(ResponseTemplate.id).where(ResponseTemplate.shortcut == shortcut)
    if except_id is not None:
        query = query.where(ResponseTemplate.id != except_id)
    if db.session.scalar(query) is not None:
        raise Conflict(MSG_SHORTCUT_TAKEN)


def _flush(uow) -> None:
    """Flush, turning a shortcut taken by a concurrent request into the same 409."""
    try:
        uow.db.flush()
    except IntegrityError as exc:
        raise Conflict(MSG_SHORTCUT_TAKEN) from exc


def _snapshot(template: ResponseTemplate) -> dict[str, Any]:
    data = template_dict(template)
    return {key: data[key] for key in ("title", "content", "shortcut", "category", "isShared")}


# --- changing ----------------------------------------------------------------------------------


def create_template(
    actor: Actor,
    *,
    title: str,
    content: str,
    shortcut: str,
    category: str | None = None,
    is_shared: bool = False,
) -> ResponseTemplate:
    validate_content(content)
    with unit_of_work() as uow:
        _ensure_shortcut_free(shortcut)
        template = ResponseTemplate(
            id=uuid.uuid4(),
            title=title,
            content=content,
            shortcut=shortcut,
            category=category,
            is_shared=is_shared,
            created_by=actor.user_id,
        )
        uow.db.add(template)
        _flush(uow)
        uow.db.refresh(template)
        audit.record(
            uow,
            actor,
            "template.created",
            target_type="response_template",
            target_id=template.id,
            after=_snapshot(template),
        )
    return template


def update_template(
    actor: Actor, template_id: uuid.UUID, changes: dict[str, Any]
) -> ResponseTemplate:
    """Change any of title, content, shortcut, category, isShared (camelCase keys)."""
    if "content" in changes:
        validate_content(changes["content"])
    with unit_of_work() as uow:
        template = get_template(actor, template_id, lock=True)
        access.ensure_may_manage_template(actor, template)
        before = {key: getattr(template, EDITABLE[key]) for key in EDITABLE if key in changes}
        after = {key: changes[key] for key in before}
        if before == after:
            return template
        if "shortcut" in after and after["shortcut"] != before["shortcut"]:
            _ensure_shortcut_free(after["shortcut"], except_id=template.id)
        for key, value in after.items():
            setattr(template, EDITABLE[key], value)
        _flush(uow)
        uow.db.refresh(template)
        audit.record(
            uow,
            actor,
            "template.updated",
            target_type="response_template",
            target_id=template.id,
            before=before,
            after=after,
        )
    return template


def delete_template(actor: Actor, template_id: uuid.UUID) -> None:
    with unit_of_work() as uow:
        template = get_template(actor, template_id, lock=True)
        access.ensure_may_manage_template(actor, template)
        snapshot = _snapshot(template)
        uow.db.delete(template)
        uow.db.flush()
        audit.record(
            uow,
            actor,
            "template.deleted",
            target_type="response_template",
            target_id=template_id,
            before=snapshot,
        )

"""Bodies, query strings and response shapes of /api/support/templates."""

from __future__ import annotations

import marshmallow as ma

from supportapp.api.blueprint import envelope
from supportapp.api.common import (
    PageQuerySchema,
    TrimmedString,
    moment,
    page_schema,
    required_string,
)

VARIABLES_HELP = (
    "May use {{user.name}}, {{user.email}}, {{agent.name}} and {{session.id}}; "
    "any other {{…}} is refused."
)

TITLE = ma.validate.Length(min=1, max=100, error="El título debe tener entre 1 y 100 caracteres")
CONTENT = ma.validate.Length(
    min=1, max=1000, error="El contenido debe tener entre 1 y 1000 caracteres"
)
SHORTCUT = ma.validate.Regexp(
    r"^[a-z0-9_-]{1,32}\Z",
    error="El atajo debe tener de 1 a 32 caracteres: letras minúsculas, números, '_' o '-'",
)
CATEGORY = ma.validate.Length(max=50, error="La categoría no puede superar los 50 caracteres")


class OptionalText(TrimmedString):
    """A trimmed string where an empty value means none."""

    def _deserialize(self, value, attr, data, **kwargs):
        result = super()._deserialize(value, attr, data, **kwargs)
        return result or None


class ResponseTemplateSchema(ma.Schema):
    id = required_string()
    title = required_string()
    content = ma.fields.String(required=True, metadata={"description": VARIABLES_HELP})
    shortcut = required_string()
    category = ma.fields.String(allow_none=True)
    isShared = ma.fields.Boolean(required=True)
    createdBy = ma.fields.String(allow_none=True, metadata={"description": "Author's user id"})
    createdAt = moment()
    updatedAt = moment()


TemplateListSchema = page_schema("TemplateListSchema", "templates", ResponseTemplateSchema)


class TemplateCreateSchema(ma.Schema):
    """Loads the keyword arguments of services.templates.create_template."""

    title = TrimmedString(required=True, validate=TITLE)
    content = TrimmedString(
        required=True, validate=CONTENT, metadata={"description": VARIABLES_HELP}
    )
    shortcut = TrimmedString(required=True, validate=SHORTCUT)
    category = OptionalText(load_default=None, allow_none=True, validate=CATEGORY)
    is_shared = ma.fields.Boolean(data_key="isShared", load_default=False)


class TemplateUpdateSchema(ma.Schema):
    title = TrimmedString(validate=TITLE)
    content = TrimmedString(validate=CONTENT, metadata={"description": VARIABLES_HELP})
    shortcut = TrimmedString(validate=SHORTCUT)
    category = OptionalText(allow_none=True, validate=CATEGORY)
    isShared = ma.fields.Boolean()


class TemplatesQuerySchema(PageQuerySchema):
    limit = ma.fields.Integer(load_default=50, validate=ma.validate.Range(min=1, max=100))
    q = ma.fields.String(
        validate=ma.validate.Length(max=100),
        metadata={"description": "Text found in the title, shortcut or content (any case)"},
    )
    category = ma.fields.String(validate=CATEGORY)


TemplateEnvelope = envelope(ResponseTemplateSchema)
TemplateListEnvelope = envelope(TemplateListSchema, "ResponseTemplateListEnvelope")
TemplateDeletedEnvelope = envelope(None, "ResponseTemplateDeletedEnvelope")

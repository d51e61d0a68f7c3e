"""flask-smorest pieces that must exist before any blueprint: the Api and the args parser."""

from __future__ import annotations

from collections.abc import Mapping

import marshmallow as ma
from flask_smorest import Api as SmorestApi
from webargs.flaskparser import FlaskParser, abort

MSG_INVALID_JSON = "El cuerpo de la solicitud no es un JSON válido."
MSG_NUL_CHARACTER = "El texto no puede contener el carácter nulo (U+0000)"


class Parser(FlaskParser):
    """400 on invalid input; unknown fields are ignored (clients may send whole objects)."""

    DEFAULT_VALIDATION_STATUS = 400
    DEFAULT_UNKNOWN_BY_LOCATION = dict.fromkeys(
        ("json", "query", "form", "headers", "cookies", "files", "json_or_form"), ma.EXCLUDE
    )

    def _handle_invalid_json_error(self, error, req, *args, **kwargs):
        """A body that does not parse: a 400 on `body`, in Spanish like every other message."""
        abort(400, exc=error, messages={"json": {"_schema": [MSG_INVALID_JSON]}})

    def pre_load(self, location_data, *, schema, req, location):
        """PostgreSQL text cannot hold U+0000: refuse it as invalid input instead of a 500."""
        if not isinstance(location_data, Mapping):
            return location_data  # not an object: the schema itself refuses it
        names = [field.data_key or name for name, field in schema.fields.items()]
        bad = [name for name in names if name in location_data and _has_nul(location_data[name])]
        if bad:
            raise ma.ValidationError({name: [MSG_NUL_CHARACTER] for name in bad})
        return location_data


def _has_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_nul(item) for item in value)
    return False


class ErrorEnvelopeSchema(ma.Schema):
    success = ma.fields.Boolean(required=True, metadata={"example": False})
    message = ma.fields.Raw(
        required=True,
        metadata={"description": "A string, or a list of strings for validation errors"},
    )
    errors = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.List(ma.fields.String()))


class Api(SmorestApi):
    ERROR_SCHEMA = ErrorEnvelopeSchema
    DEFAULT_ERROR_RESPONSE_NAME = "DEFAULT_ERROR"

    def _register_error_handlers(self) -> None:
        """Errors are rendered by supportapp.errors for the whole app, not by flask-smorest."""

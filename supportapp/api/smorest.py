"""flask-smorest pieces that must exist before any blueprint: the Api and the args parser."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import marshmallow as ma
from flask_smorest import Api as SmorestApi
from webargs.flaskparser import FlaskParser, abort

MSG_INVALID_JSON = "El cuerpo de la solicitud no es un JSON válido."
MSG_NUL_CHARACTER = "El texto no puede contener el carácter nulo (U+0000)"
MSG_LONE_SURROGATE = "El texto contiene un carácter inválido (sustituto UTF-16 sin pareja)"


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
        """Text no store accepts, refused as invalid input on its field instead of a 500:
        U+0000 (PostgreSQL text cannot hold it) and a lone UTF-16 surrogate (`"\\ud800"`
        in JSON decodes to a string no UTF-8 encoder accepts: the driver, logs, Redis)."""
        if not isinstance(location_data, Mapping):
            return location_data  # not an object: the schema itself refuses it
        names = [field.data_key or name for name, field in schema.fields.items()]
        errors: dict[str, list[str]] = {}
        for name in names:
            if name not in location_data:
                continue
            if _holds(location_data[name], _lone_surrogate):
                errors[name] = [MSG_LONE_SURROGATE]
            elif _holds(location_data[name], _nul):
                errors[name] = [MSG_NUL_CHARACTER]
        if errors:
            raise ma.ValidationError(errors)
        return location_data


def _nul(text: str) -> bool:
    return "\x00" in text


def _lone_surrogate(text: str) -> bool:
    # A pair written as two escapes is joined by the JSON decoder; what is left is alone.
    return any("\ud800" <= char <= "\udfff" for char in text)


def _holds(value, bad: Callable[[str], bool]) -> bool:
    if isinstance(value, str):
        return bad(value)
    if isinstance(value, dict):
        return any(_holds(k, bad) or _holds(v, bad) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_holds(item, bad) for item in value)
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

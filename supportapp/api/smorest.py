"""flask-smorest pieces that must exist before any blueprint: the Api and the args parser."""

from __future__ import annotations

import marshmallow as ma
from flask_smorest import Api as SmorestApi
from webargs.flaskparser import FlaskParser


class Parser(FlaskParser):
    """400 on invalid input; unknown fields are ignored (clients may send whole objects)."""

    DEFAULT_VALIDATION_STATUS = 400
    DEFAULT_UNKNOWN_BY_LOCATION = dict.fromkeys(
        ("json", "query", "form", "headers", "cookies", "files", "json_or_form"), ma.EXCLUDE
    )


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

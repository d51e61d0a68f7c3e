"""The project's flask-smorest conventions in one place.

- request validation fails with 400 (the error envelope of docs/contract.md), not webargs' 422;
- `bp.auth(roles)` both enforces the JWT/role check and documents it in OpenAPI;
- `envelope(schema)` builds the `{success, data, message}` response schema of docs/contract.md.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any

import marshmallow as ma
from flask_smorest import Blueprint as SmorestBlueprint

from supportapp.api.smorest import Api, Parser
from supportapp.auth.actor import authenticate
from supportapp.models.user import Role


class Blueprint(SmorestBlueprint):
    ARGUMENTS_PARSER = Parser()

    def auth(self, roles: Iterable[Role] | None = None) -> Callable:
        """Require a valid access token (and one of `roles`, when given)."""
        allowed = frozenset(roles) if roles is not None else None

        def decorator(func: Callable) -> Callable:
            @functools.wraps(func)
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                authenticate(allowed)
                return func(*args, **kwargs)

            doc: dict[str, Any] = {"security": [{"bearerAuth": []}]}
            if allowed is not None:
                role_names = ", ".join(sorted(r.value for r in allowed))
                doc["description"] = f"Roles: {role_names}."
            wrapper = self.doc(**doc)(wrapper)
            wrapper = self.alt_response(401, response="UNAUTHORIZED")(wrapper)
            if allowed is not None and allowed != frozenset(Role):
                wrapper = self.alt_response(403, response="FORBIDDEN")(wrapper)
            return wrapper

        return decorator


def envelope(
    data_schema: ma.Schema | type[ma.Schema] | ma.fields.Field | None, name: str
) -> type[ma.Schema]:
    """A `{success, data, message}` schema whose `data` is `data_schema`."""
    if data_schema is None:
        data_field: ma.fields.Field = ma.fields.Raw(allow_none=True)
    elif isinstance(data_schema, ma.fields.Field):
        data_field = data_schema
    else:
        data_field = ma.fields.Nested(data_schema)
    return ma.Schema.from_dict(
        {
            "success": ma.fields.Boolean(dump_default=True),
            "data": data_field,
            "message": ma.fields.String(),
        },
        name=name,
    )


def ok(data: Any, message: str) -> dict[str, Any]:
    return {"success": True, "data": data, "message": message}


def register_security(api: Api) -> None:
    api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    )

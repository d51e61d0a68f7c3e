"""The project's flask-smorest conventions in one place.

- request validation fails with 400 (the error envelope of docs/contract.md), not webargs' 422;
- `bp.auth(roles)` both enforces the JWT/role check and documents it in OpenAPI;
- `bp.endpoint(...)` declares a route with its access rule, body or query schema, response and
  error responses in one call, in the order every route applies them;
- `envelope(schema)` builds the `{success, data, message}` response schema of docs/contract.md.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import marshmallow as ma
from flask_jwt_extended import jwt_required
from flask_smorest import Blueprint as SmorestBlueprint

from supportapp.api.common import parse_id
from supportapp.api.smorest import Api, Parser
from supportapp.auth.actor import authenticate
from supportapp.models.user import Role

# The named error responses of the OpenAPI document, by status.
ERROR_RESPONSES = {
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    409: "CONFLICT",
    429: "TOO_MANY_REQUESTS",
    503: "SERVICE_UNAVAILABLE",
}
Decorator = Callable[[Callable], Callable]


class Blueprint(SmorestBlueprint):
    """`path_ids` maps a path parameter to the 404 message of an id that names nothing: routes
    declared with `endpoint` receive it as a UUID (`parse_id`)."""

    ARGUMENTS_PARSER = Parser()

    def __init__(self, *args: Any, path_ids: Mapping[str, str] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.path_ids = dict(path_ids or {})

    def endpoint(
        self,
        route: str,
        response: type[ma.Schema],
        auth: Iterable[Role] | Decorator | bool | None = None,
        *,
        status: int = 200,
        guards: Sequence[Decorator] = (),
        body: type[ma.Schema] | None = None,
        body_required: bool = True,
        query: type[ma.Schema] | None = None,
        checks: Sequence[Decorator] = (),
        errors: Iterable[int] = (),
        headers: dict[str, Any] | None = None,
    ) -> Decorator:
        """A route (`"POST /sessions"`) answering `status` with `response`, wrapped from the
        outside in: the access check (`auth`: roles, None for any signed-in caller, False for
        none, or a decorator of its own), `guards` (rate limits, …), the parsed `body` (JSON)
        or `query`, `checks` that need the parsed arguments; `errors` are the documented error
        statuses. A rule with an `…_id` parameter also answers 404 (`parse_id`: an id that
        names nothing the caller may see)."""
        method, rule = route.split(" ", 1)
        if "_id>" in rule:
            errors = {404, *errors}

        ids = {name: message for name, message in self.path_ids.items() if f"<{name}>" in rule}

        def decorator(func: Callable) -> Callable:
            wrapped = _parsing_ids(func, ids) if ids else func
            for code in sorted(errors, reverse=True):
                wrapped = self.alt_response(code, response=ERROR_RESPONSES[code])(wrapped)
            wrapped = self.response(status, response, headers=headers)(wrapped)
            for check in reversed(checks):
                wrapped = check(wrapped)
            if query is not None:
                wrapped = self.arguments(query, location="query")(wrapped)
            if body is not None:
                wrapped = self.arguments(body, required=body_required)(wrapped)
            for guard in reversed(guards):
                wrapped = guard(wrapped)
            if callable(auth):
                wrapped = auth(wrapped)
            elif auth is not False:
                wrapped = self.auth(auth)(wrapped)
            return self.route(rule, methods=[method])(wrapped)

        return decorator

    def token_required(self, **jwt_options: Any) -> Decorator:
        """Any valid token (flask-jwt-extended's `jwt_required(**jwt_options)`), documented."""

        def decorator(func: Callable) -> Callable:
            wrapped = jwt_required(**jwt_options)(func)
            wrapped = self.doc(security=[{"bearerAuth": []}])(wrapped)
            return self.alt_response(401, response=ERROR_RESPONSES[401])(wrapped)

        return decorator

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
            wrapper = self.alt_response(401, response=ERROR_RESPONSES[401])(wrapper)
            if allowed is not None and allowed != frozenset(Role):
                wrapper = self.alt_response(403, response=ERROR_RESPONSES[403])(wrapper)
            return wrapper

        return decorator


def _parsing_ids(view: Callable, ids: Mapping[str, str]) -> Callable:
    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        for name, message in ids.items():
            kwargs[name] = parse_id(kwargs[name], message)
        return view(*args, **kwargs)

    return wrapper


def envelope(
    data_schema: type[ma.Schema] | ma.fields.Field | None,
    name: str | None = None,
    *,
    many: bool = False,
) -> type[ma.Schema]:
    """A `{success, data, message}` schema whose `data` is `data_schema` (a list of them with
    `many`; None: anything, usually null). Named `<schema's name>[Array]Envelope` unless
    `name` says otherwise."""
    if data_schema is None:
        data_field: ma.fields.Field = ma.fields.Raw(allow_none=True)
    elif isinstance(data_schema, ma.fields.Field):
        data_field = data_schema
    elif many:
        data_field = ma.fields.List(ma.fields.Nested(data_schema))
    else:
        data_field = ma.fields.Nested(data_schema)
    if name is None:
        name = data_schema.__name__.removesuffix("Schema") + ("Array" if many else "") + "Envelope"
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

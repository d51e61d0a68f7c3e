"""Who is making the request: the authenticated principal as services see it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from flask import current_app, g, request
from flask_jwt_extended import get_jwt, verify_jwt_in_request

from supportapp.errors import Forbidden, Unauthorized
from supportapp.models.user import ADMIN_ROLES, SUPPORT_ROLES, Role


@dataclass(frozen=True)
class Actor:
    user_id: uuid.UUID | None
    role: Role
    ip: str | None = None
    request_id: str | None = None

    @property
    def is_support(self) -> bool:
        return self.role in SUPPORT_ROLES

    @property
    def is_admin(self) -> bool:
        return self.role in ADMIN_ROLES


SYSTEM_ACTOR = Actor(user_id=None, role=Role.SUPERADMIN)


def actor_from_claims(claims: dict) -> Actor:
    """Build an Actor from verified JWT claims; a token without a usable sub/role is invalid."""
    role_claim = current_app.config["JWT_ROLE_CLAIM"]
    try:
        user_id = uuid.UUID(str(claims["sub"]))
        role = Role(claims[role_claim])
    except (KeyError, ValueError) as exc:
        raise Unauthorized() from exc
    return Actor(
        user_id=user_id,
        role=role,
        ip=request.remote_addr if request else None,
        request_id=g.get("request_id"),
    )


def authenticate(roles: frozenset[Role] | None = None) -> Actor:
    """Verify the access token of the current request and, when given, its role."""
    verify_jwt_in_request()
    actor = actor_from_claims(get_jwt())
    if roles is not None and actor.role not in roles:
        raise Forbidden()
    g.actor = actor
    return actor


def current_actor() -> Actor:
    actor = g.get("actor")
    if actor is None:
        raise Unauthorized()
    return actor


ANY_ROLE = frozenset(Role)
__all__ = [
    "ADMIN_ROLES",
    "ANY_ROLE",
    "SUPPORT_ROLES",
    "SYSTEM_ACTOR",
    "Actor",
    "authenticate",
    "current_actor",
]

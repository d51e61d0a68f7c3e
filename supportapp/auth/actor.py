"""Who is making the request: the caller (`Actor`) as services see it, built from a verified
token's claims by `actor_from_claims` for REST (`authenticate`) and the WebSocket alike."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

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
    # The verified token it was built from (revocation and expiry checks); empty for SYSTEM.
    claims: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def is_support(self) -> bool:
        return self.role in SUPPORT_ROLES

    @property
    def is_admin(self) -> bool:
        return self.role in ADMIN_ROLES


SYSTEM_ACTOR = Actor(user_id=None, role=Role.SUPERADMIN)


def _role_and_user_id(claims: dict) -> tuple[Role, uuid.UUID]:
    """The role and user id a verified token speaks for; a token without a usable sub/role is
    invalid. Tokens of this service carry the user id as `sub`; an external issuer's `sub` is
    its own id of the person, resolved (and provisioned on first use) by services/users.py."""
    config = current_app.config
    issuing = config["JWT_CAN_ISSUE_TOKENS"]
    try:
        # An external issuer's token without a role claim is a customer's (least privilege);
        # this service's own tokens always carry one.
        role_claim = config["JWT_ROLE_CLAIM"]
        role = Role(claims[role_claim] if issuing else claims.get(role_claim, Role.USER.value))
        subject = claims["sub"]
        if issuing:
            return role, uuid.UUID(str(subject))
    except (KeyError, ValueError) as exc:
        raise Unauthorized() from exc
    if not isinstance(subject, str) or not 0 < len(subject) <= 255:
        raise Unauthorized()
    # Imported here: services depend on auth, not the other way round at import time.
    from supportapp.services.users import user_id_for_external_subject

    return role, user_id_for_external_subject(
        subject,
        role=role,
        email=_claim_text(claims.get(config["JWT_EMAIL_CLAIM"]), 254, email=True),
        name=_claim_text(claims.get(config["JWT_NAME_CLAIM"]), 100),
    )


def _claim_text(value: object, max_length: int, *, email: bool = False) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if email and ("@" not in text or len(text) > max_length):
        return None
    return text[:max_length]


def actor_from_claims(claims: dict) -> Actor:
    """The caller a verified token speaks for (401 when its sub/role are unusable)."""
    role, user_id = _role_and_user_id(claims)
    return Actor(
        user_id=user_id,
        role=role,
        ip=request.remote_addr if request else None,
        request_id=g.get("request_id"),
        claims=claims,
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


__all__ = [
    "ADMIN_ROLES",
    "SUPPORT_ROLES",
    "SYSTEM_ACTOR",
    "Actor",
    "authenticate",
    "current_actor",
]

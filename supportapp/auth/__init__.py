"""JWT wiring: claims, every token failure as the 401 envelope, the revocation check."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_jwt_extended import JWTManager

from supportapp.auth import blocklist
from supportapp.errors import MSG_UNAUTHORIZED, envelope_error


def init_app(app: Flask, jwt: JWTManager) -> None:
    role_claim = app.config["JWT_ROLE_CLAIM"]

    @jwt.additional_claims_loader
    def add_role_claim(identity: Any) -> dict[str, Any]:
        role = getattr(identity, "role", None)
        return {role_claim: str(role)} if role is not None else {}

    @jwt.user_identity_loader
    def identity_of(identity: Any) -> str:
        return str(getattr(identity, "id", identity))

    @jwt.token_in_blocklist_loader
    def token_is_revoked(_header: dict, payload: dict) -> bool:
        return blocklist.is_revoked(payload)

    def unauthorized(*_args: Any):
        return envelope_error(401, MSG_UNAUTHORIZED)

    jwt.unauthorized_loader(unauthorized)
    jwt.invalid_token_loader(unauthorized)
    jwt.expired_token_loader(unauthorized)
    jwt.revoked_token_loader(unauthorized)
    jwt.needs_fresh_token_loader(unauthorized)
    jwt.user_lookup_error_loader(unauthorized)
    jwt.token_verification_failed_loader(unauthorized)

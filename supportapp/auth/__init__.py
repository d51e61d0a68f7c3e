"""JWT wiring: claims, every token failure as the 401 envelope, the revocation check."""

from __future__ import annotations

import time
from typing import Any

from flask import Flask, current_app, g, request
from flask_jwt_extended import JWTManager

from supportapp.auth import blocklist
from supportapp.errors import MSG_UNAUTHORIZED, envelope_error


def init_app(app: Flask, jwt: JWTManager) -> None:
    role_claim = app.config["JWT_ROLE_CLAIM"]

    @jwt.additional_claims_loader
    def add_role_claim(identity: Any) -> dict[str, Any]:
        # Issue time in ms: a revocation "before now" (blocklist.revoke_user) must not catch a
        # token issued later in the same second, as `iat` (whole seconds) would.
        claims: dict[str, Any] = {blocklist.ISSUED_MS_CLAIM: time.time_ns() // 1_000_000}
        role = getattr(identity, "role", None)
        if role is not None:
            claims[role_claim] = str(role)
        return claims

    @jwt.user_identity_loader
    def identity_of(identity: Any) -> str:
        return str(getattr(identity, "id", identity))

    @jwt.token_in_blocklist_loader
    def token_is_revoked(_header: dict, payload: dict) -> bool:
        """The request's one Redis round trip: the blocklist and the per-user limits that the
        view being called declares (api/rate_limits.py: per_user), spent only when the token
        is good. Checked once per request even if the token is verified again."""
        verdict = g.get("token_verdict")
        if verdict is None or g.get("token_verdict_jti") != payload.get("jti"):
            view = current_app.view_functions.get(request.endpoint or "")
            user = str(payload.get("sub"))
            hits = [limit.hit(user) for limit in getattr(view, "user_limits", ())]
            verdict = blocklist.check(payload, hits)
            g.token_verdict, g.token_verdict_jti = verdict, payload.get("jti")
        return verdict.revoked

    def unauthorized(*_args: Any):
        return envelope_error(401, MSG_UNAUTHORIZED)

    jwt.unauthorized_loader(unauthorized)
    jwt.invalid_token_loader(unauthorized)
    jwt.expired_token_loader(unauthorized)
    jwt.revoked_token_loader(unauthorized)
    jwt.needs_fresh_token_loader(unauthorized)
    jwt.user_lookup_error_loader(unauthorized)
    jwt.token_verification_failed_loader(unauthorized)

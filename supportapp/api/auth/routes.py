"""POST /api/auth/register|login|refresh|logout and GET /api/auth/me."""

from __future__ import annotations

import uuid

from flask import current_app
from flask_jwt_extended import (
    create_access_token,
    create_refresh_token,
    get_jwt,
    get_jwt_identity,
    jwt_required,
)

from supportapp.api.auth.schemas import (
    AccessTokenEnvelope,
    AuthResultEnvelope,
    EmptyEnvelope,
    LoginSchema,
    RegisterSchema,
    TokenInfoEnvelope,
    UserEnvelope,
)
from supportapp.api.blueprint import Blueprint, ok
from supportapp.api.rate_limits import login_limits, register_limit
from supportapp.auth import blocklist
from supportapp.auth.actor import current_actor
from supportapp.errors import Unauthorized
from supportapp.models import User
from supportapp.representations import user_dict
from supportapp.services import users as user_service

bp = Blueprint("auth", __name__, url_prefix="/api/auth", description="Accounts and tokens")


def _tokens_for(user: User) -> dict:
    return {
        "user": user_dict(user),
        "accessToken": create_access_token(identity=user),
        "refreshToken": create_refresh_token(identity=user),
    }


@bp.post("/register")
@register_limit
@bp.arguments(RegisterSchema)
@bp.response(201, AuthResultEnvelope)
@bp.alt_response(409, response="CONFLICT")
@bp.alt_response(429, response="TOO_MANY_REQUESTS")
def register(body: dict):
    """Create a `user` account and sign it in."""
    user = user_service.register_user(**body)
    return ok(_tokens_for(user), "Usuario registrado exitosamente")


@bp.post("/login")
@bp.arguments(LoginSchema)
@login_limits
@bp.response(200, AuthResultEnvelope)
@bp.alt_response(401, response="UNAUTHORIZED")
@bp.alt_response(429, response="TOO_MANY_REQUESTS")
def login(body: dict):
    """Exchange email and password for an access and a refresh token."""
    user = user_service.authenticate_user(**body)
    return ok(_tokens_for(user), "Inicio de sesión exitoso")


@bp.post("/refresh")
@jwt_required(refresh=True)
@bp.doc(security=[{"bearerAuth": []}])
@bp.response(200, AccessTokenEnvelope)
@bp.alt_response(401, response="UNAUTHORIZED")
def refresh():
    """Send the refresh token as Bearer; get a new access token with the current role."""
    if not current_app.config["JWT_CAN_ISSUE_TOKENS"]:
        raise Unauthorized()
    try:
        user = user_service.get_user(uuid.UUID(str(get_jwt_identity())))
    except Exception as exc:
        raise Unauthorized() from exc
    return ok({"accessToken": create_access_token(identity=user)}, "Token renovado exitosamente")


@bp.post("/logout")
@jwt_required(verify_type=False)
@bp.doc(security=[{"bearerAuth": []}])
@bp.response(200, EmptyEnvelope)
@bp.alt_response(401, response="UNAUTHORIZED")
def logout():
    """Revoke the presented token (access or refresh) until it would have expired."""
    blocklist.revoke(get_jwt())
    return ok(None, "Sesión cerrada exitosamente")


@bp.get("/me")
@bp.auth()
@bp.response(200, UserEnvelope)
def me():
    """The authenticated user."""
    user = user_service.get_user(current_actor().user_id)
    return ok(user_dict(user), "Usuario obtenido exitosamente")


@bp.get("/verify")
@bp.auth()
@bp.response(200, TokenInfoEnvelope)
def verify():
    """Check an access token without touching the database: its user id, role and expiry.
    (Also the floor of this stack in the load benchmark: JWT check + constant envelope.)"""
    claims = get_jwt()
    actor = current_actor()
    return ok(
        {"userId": str(actor.user_id), "role": str(actor.role), "expiresAt": claims.get("exp")},
        "Token válido",
    )

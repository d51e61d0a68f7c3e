"""POST /api/auth/register|login|refresh|logout|guest|identify, GET /api/auth/me, and the
customer's own data rights: GET /api/auth/me/export, DELETE /api/auth/me."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from typing import Any

from flask import current_app
from flask_jwt_extended import (
    create_access_token,
    create_refresh_token,
    get_jwt,
    get_jwt_identity,
    verify_jwt_in_request,
)

from supportapp.api.auth.schemas import (
    AccessTokenEnvelope,
    AuthResultEnvelope,
    EmptyEnvelope,
    EraseOwnDataSchema,
    GuestSchema,
    IdentifySchema,
    LoginSchema,
    RegisterSchema,
    TokenInfoEnvelope,
    UserEnvelope,
    UserExportEnvelope,
)
from supportapp.api.blueprint import Blueprint, ok
from supportapp.api.rate_limits import guest_limit, login_limits, register_limit
from supportapp.auth import blocklist
from supportapp.auth.actor import actor_from_claims, current_actor
from supportapp.errors import Forbidden, Unauthorized
from supportapp.models import User
from supportapp.representations import export_dict, token_info_dict, user_dict
from supportapp.services import data_rights
from supportapp.services import users as user_service

bp = Blueprint("auth", __name__, url_prefix="/api/auth", description="Accounts and tokens")

MSG_TOKENS_NOT_ISSUED = (
    "Este servicio no emite tokens: inicia sesión con el sistema de autenticación de tu sitio"
)


def issues_tokens(func: Callable) -> Callable:
    """Endpoints that hand out tokens answer 403 when an external issuer signs them (a public
    key is configured, so this service holds no key to sign with)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not current_app.config["JWT_CAN_ISSUE_TOKENS"]:
            raise Forbidden(MSG_TOKENS_NOT_ISSUED)
        return func(*args, **kwargs)

    return bp.alt_response(403, response="FORBIDDEN")(wrapper)


def signs_in(route: str, **options: Any) -> Callable:
    """A route that signs someone in: it answers the user with a pair of tokens, and only
    while this service issues tokens (`issues_tokens`)."""
    return bp.endpoint(route, AuthResultEnvelope, issues_tokens, **options)


def _tokens_for(user: User) -> dict:
    """One login: an access and a refresh token sharing a login id, so logging out with either
    revokes both (and the access tokens later refreshed from it)."""
    login = {blocklist.LOGIN_CLAIM: blocklist.new_login_id()}
    return {
        "user": user_dict(user),
        "accessToken": create_access_token(identity=user, additional_claims=login),
        "refreshToken": create_refresh_token(identity=user, additional_claims=login),
    }


def _optional_access_token_user() -> uuid.UUID | None:
    """The user of the request's access token, when one is sent (an invalid one is a 401)."""
    if verify_jwt_in_request(optional=True) is None:
        return None
    return actor_from_claims(get_jwt()).user_id


@signs_in(
    "POST /register",
    errors=[401, 409, 429],
    guards=(register_limit,),
    status=201,
    body=RegisterSchema,
)
def register(body: dict):
    """Create a `user` account and sign it in. Sent with a guest's access token, the guest
    becomes this account: same user id, same sessions (409 if the email is taken)."""
    guest_id = _optional_access_token_user()
    if guest_id is not None:
        user = user_service.upgrade_guest(guest_id, **body)
    else:
        user = user_service.register_user(**body)
    return ok(_tokens_for(user), "Usuario registrado exitosamente")


@signs_in("POST /guest", errors=[429], guards=(guest_limit,), status=201, body=GuestSchema)
def guest(body: dict):
    """An anonymous visitor (`isGuest: true`, role `user`) with its tokens; name and email are
    optional. Limited per client address (GUEST_RATE_LIMIT)."""
    user = user_service.create_guest(name=body.get("name"), email=body.get("email"))
    return ok(_tokens_for(user), "Invitado creado exitosamente")


@signs_in("POST /identify", errors=[401], body=IdentifySchema)
def identify(body: dict):
    """A visitor already signed in to the host site: `userHash` is HMAC-SHA256(IDENTITY_SECRET,
    externalId) in hex, computed by the host site's server. Tokens for the user linked to that
    external id, created on first use. 403 while IDENTITY_SECRET is unset."""
    user = user_service.identify(
        current_app.config["IDENTITY_SECRET"],
        external_id=body["externalId"],
        given_hash=body["userHash"],
        name=body.get("name"),
        email=body.get("email"),
    )
    return ok(_tokens_for(user), "Identidad verificada exitosamente")


@signs_in("POST /login", errors=[401, 429], checks=(login_limits,), body=LoginSchema)
def login(body: dict):
    """Exchange email and password for an access and a refresh token."""
    user = user_service.authenticate_user(**body)
    return ok(_tokens_for(user), "Inicio de sesión exitoso")


@bp.endpoint(
    "POST /refresh", AccessTokenEnvelope, issues_tokens, guards=(bp.token_required(refresh=True),)
)
def refresh():
    """Send the refresh token as Bearer; get a new access token with the current role."""
    try:
        user_id = uuid.UUID(str(get_jwt_identity()))
    except ValueError as exc:
        raise Unauthorized() from exc
    user = user_service.get_signed_in_user(user_id)
    user_service.touch(user)
    login_id = get_jwt().get(blocklist.LOGIN_CLAIM)
    login = {blocklist.LOGIN_CLAIM: login_id} if login_id else None
    return ok(
        {"accessToken": create_access_token(identity=user, additional_claims=login)},
        "Token renovado exitosamente",
    )


# Logging out accepts an access or a refresh token; 503 when Redis cannot record it.
REVOKING = {"auth": bp.token_required(verify_type=False), "errors": [503]}


@bp.endpoint("POST /logout", EmptyEnvelope, **REVOKING)
def logout():
    """Revoke the login of the presented token: that token and the other of its pair (access
    or refresh), and the access tokens refreshed from it. Its WebSockets close with 4401."""
    user_service.log_out(get_jwt())
    return ok(None, "Sesión cerrada exitosamente")


@bp.endpoint("POST /logout-all", EmptyEnvelope, **REVOKING)
def logout_all():
    """Revoke every token of the caller issued until now, on every device (access or refresh
    token accepted). Every WebSocket of the caller closes with 4401."""
    user_service.log_out_everywhere(uuid.UUID(str(get_jwt_identity())))
    return ok(None, "Todas las sesiones cerradas exitosamente")


@bp.endpoint("GET /me", UserEnvelope)
def me():
    """The authenticated user."""
    user = user_service.get_signed_in_user(current_actor().user_id)
    return ok(user_dict(user), "Usuario obtenido exitosamente")


@bp.endpoint("GET /me/export", UserExportEnvelope, errors=[409])
def export_my_data():
    """Everything this service holds about the caller (customers only)."""
    actor = current_actor()
    user_service.get_signed_in_user(actor.user_id)
    export = data_rights.export_user(actor, actor.user_id)
    return ok(export_dict(export), "Datos exportados exitosamente")


@bp.endpoint("DELETE /me", EmptyEnvelope, errors=[409], body=EraseOwnDataSchema)
def erase_my_data(body: dict):
    """Erase the caller's data (customers only): `password` is required when the account has
    one; a guest's (or host-site identity's) token is enough on its own. Every token of the
    account stops working."""
    actor = current_actor()
    user_service.get_signed_in_user(actor.user_id)
    data_rights.erase_user(actor, actor.user_id, password=body.get("password"))
    return ok(None, "Datos eliminados exitosamente")


@bp.endpoint("GET /verify", TokenInfoEnvelope)
def verify():
    """Check an access token without touching the database: its user id, role and expiry.
    (Also the floor of this stack in the load benchmark: JWT check + constant envelope.)"""
    return ok(token_info_dict(current_actor(), get_jwt()), "Token válido")

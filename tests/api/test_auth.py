"""Accounts and tokens: /api/auth/register|login|refresh|logout|me, token tampering, roles and
the login/registration rate limits."""

from __future__ import annotations

import base64
import json
import time
import uuid
from datetime import timedelta

import jwt as pyjwt
import pytest
from flask_jwt_extended import create_access_token

from tests.conftest import assert_error
from tests.spec_shapes import AUTH_RESULT_FIELDS, MSG_FORBIDDEN, USER_FIELDS

MSG_INVALID_TOKEN = "Token inválido o expirado"
MSG_TOO_MANY_REQUESTS = "Demasiadas solicitudes. Intenta de nuevo en unos minutos"


# --- helpers ----------------------------------------------------------------------------------


def registration(**overrides) -> dict:
    body = {
        "email": f"ana-{uuid.uuid4().hex[:8]}@example.com",
        "password": "password123",
        "name": "Ana Pérez",
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def register(client, **overrides):
    return client.post("/api/auth/register", json=registration(**overrides))


def login(client, email: str, password: str = "password123", ip: str = "127.0.0.1"):
    return client.post(
        "/api/auth/login",
        json={"email": email, "password": password},
        environ_base={"REMOTE_ADDR": ip},
    )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def me(client, headers: dict[str, str]):
    return client.get("/api/auth/me", headers=headers)


def claims_for(account, **overrides) -> dict:
    now = int(time.time())
    claims = {
        "sub": account.id,
        "role": account.role,
        "type": "access",
        "fresh": False,
        "jti": str(uuid.uuid4()),
        "iat": now,
        "nbf": now,
        "exp": now + 600,
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def forge(app, claims: dict, secret: str | None = None) -> str:
    return pyjwt.encode(claims, secret or app.config["JWT_SECRET_KEY"], algorithm="HS256")


def _b64(data: dict) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def assert_invalid_token(response) -> None:
    assert_error(response, 401, MSG_INVALID_TOKEN)
    assert response.get_json() == {"success": False, "message": MSG_INVALID_TOKEN}


# --- register ---------------------------------------------------------------------------------


def test_register_returns_201_with_user_role_and_both_tokens(client):
    response = register(client, email="Nueva@Example.com", name="  Nueva Usuaria  ")

    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["success"] is True
    assert isinstance(body["message"], str) and body["message"]
    data = body["data"]
    assert set(data) == AUTH_RESULT_FIELDS
    assert set(data["user"]) == USER_FIELDS
    assert data["user"]["isGuest"] is False
    assert data["user"]["role"] == "user"
    assert data["user"]["email"] == "Nueva@Example.com"
    assert data["user"]["name"] == "Nueva Usuaria"
    uuid.UUID(data["user"]["id"])
    assert me(client, bearer(data["accessToken"])).get_json()["data"] == data["user"]


def test_register_never_grants_a_role_sent_in_the_body(client):
    response = register(client, role="admin")

    assert response.status_code == 201, response.get_json()
    assert response.get_json()["data"]["user"]["role"] == "user"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"email": "no-es-un-email"}, "email"),
        ({"email": ""}, "email"),
        ({"email": None}, "email"),
        ({"password": "a" * 7}, "password"),
        ({"password": "a" * 129}, "password"),
        ({"password": None}, "password"),
        ({"name": None}, "name"),
        ({"name": "   "}, "name"),
    ],
    ids=[
        "bad-email",
        "empty-email",
        "missing-email",
        "password-7-chars",
        "password-129-chars",
        "missing-password",
        "missing-name",
        "blank-name",
    ],
)
def test_register_rejects_each_bad_field_with_400(client, app_ctx, overrides, field):
    from supportapp.extensions import db
    from supportapp.models import User

    response = register(client, **overrides)

    assert_error(response, 400, field=field)
    assert db.session.query(User).count() == 0


@pytest.mark.parametrize("length", [8, 128])
def test_register_accepts_password_lengths_at_the_limits(client, length):
    assert register(client, password="p" * length).status_code == 201


def test_register_returns_409_for_an_email_taken_in_another_letter_case(client):
    assert register(client, email="Maria@Example.com").status_code == 201

    response = register(client, email="maria@EXAMPLE.com")

    assert_error(response, 409, "El email ya está registrado")


# --- login ------------------------------------------------------------------------------------


def test_login_returns_200_with_user_and_tokens(client, make_account):
    account = make_account("support")

    response = login(client, account.email)

    assert response.status_code == 200
    data = response.get_json()["data"]
    assert data["user"] == {
        "id": account.id,
        "email": account.email,
        "name": account.name,
        "role": "support",
        "isGuest": False,
    }
    assert me(client, bearer(data["accessToken"])).status_code == 200
    refreshed = client.post("/api/auth/refresh", headers=bearer(data["refreshToken"]))
    assert refreshed.status_code == 200


def test_login_accepts_the_email_in_any_letter_case(client, make_account):
    account = make_account("user")

    assert login(client, account.email.upper()).status_code == 200


def test_login_returns_401_with_same_body_for_unknown_email_and_wrong_password(
    client, make_account
):
    account = make_account("user")

    wrong_password = login(client, account.email, password="not-the-password")
    unknown_email = login(client, "nobody@example.com", password="not-the-password")

    assert wrong_password.status_code == unknown_email.status_code == 401
    assert wrong_password.get_json() == unknown_email.get_json()
    assert wrong_password.get_json()["success"] is False
    assert "accessToken" not in wrong_password.get_data(as_text=True)


@pytest.mark.parametrize("missing", ["email", "password"])
def test_login_without_a_field_returns_400(client, missing):
    body = {"email": "ana@example.com", "password": "password123"}
    del body[missing]

    assert_error(client.post("/api/auth/login", json=body), 400, field=missing)


# --- refresh ----------------------------------------------------------------------------------


def test_refresh_token_gives_a_new_working_access_token(client, make_account):
    account = make_account("user")

    response = client.post("/api/auth/refresh", headers=bearer(account.refresh_token))

    assert response.status_code == 200
    data = response.get_json()["data"]
    assert set(data) == {"accessToken"}
    assert data["accessToken"] != account.token
    assert me(client, bearer(data["accessToken"])).get_json()["data"]["id"] == account.id


def test_refresh_issues_the_current_role(client, app, make_account):
    from supportapp.models import Role
    from supportapp.services import users

    account = make_account("user")
    assert_error(client.get("/api/chat/sessions/all", headers=account.headers), 403, MSG_FORBIDDEN)
    with app.app_context():
        users.set_role(email=account.email, role=Role.SUPPORT)

    # The tokens issued before the change are revoked; a new login has the new role, and so has
    # every access token refreshed from it.
    assert_invalid_token(client.post("/api/auth/refresh", headers=bearer(account.refresh_token)))
    assert_invalid_token(client.get("/api/chat/sessions/all", headers=account.headers))
    login = client.post(
        "/api/auth/login", json={"email": account.email, "password": "password123"}
    ).get_json()["data"]
    token = client.post("/api/auth/refresh", headers=bearer(login["refreshToken"])).get_json()[
        "data"
    ]["accessToken"]

    assert client.get("/api/chat/sessions/all", headers=bearer(token)).status_code == 200


def test_access_token_used_as_refresh_token_returns_401(client, make_account):
    account = make_account("user")

    assert_invalid_token(client.post("/api/auth/refresh", headers=account.headers))


def test_refresh_token_used_as_access_token_returns_401(client, make_account):
    account = make_account("user")

    assert_invalid_token(me(client, bearer(account.refresh_token)))


# --- logout -----------------------------------------------------------------------------------


def test_logout_revokes_the_access_token(client, make_account):
    account = make_account("user")
    assert me(client, account.headers).status_code == 200

    response = client.post("/api/auth/logout", headers=account.headers)

    assert response.status_code == 200
    assert response.get_json()["success"] is True
    assert_invalid_token(me(client, account.headers))
    assert_invalid_token(client.post("/api/auth/logout", headers=account.headers))
    # ... and the refresh token issued with it.
    assert_invalid_token(client.post("/api/auth/refresh", headers=bearer(account.refresh_token)))


def test_logout_with_the_refresh_token_revokes_it_and_its_access_token(client, make_account):
    account = make_account("user")
    other_login = client.post(
        "/api/auth/login", json={"email": account.email, "password": "password123"}
    ).get_json()["data"]

    response = client.post("/api/auth/logout", headers=bearer(account.refresh_token))

    assert response.status_code == 200
    assert_invalid_token(client.post("/api/auth/refresh", headers=bearer(account.refresh_token)))
    # The whole login is revoked, not the user's other logins.
    assert_invalid_token(me(client, account.headers))
    assert me(client, bearer(other_login["accessToken"])).status_code == 200


def test_logout_without_a_token_returns_401(client):
    assert_invalid_token(client.post("/api/auth/logout"))


# --- me ---------------------------------------------------------------------------------------


def test_me_returns_the_authenticated_user(client, make_account):
    account = make_account("admin")

    response = me(client, account.headers)

    assert response.status_code == 200
    assert response.get_json()["data"] == {
        "id": account.id,
        "email": account.email,
        "name": account.name,
        "role": "admin",
        "isGuest": False,
    }


# --- token tampering --------------------------------------------------------------------------


def test_a_forged_token_with_the_right_secret_is_accepted(client, app, make_account):
    """Control case for the tampering tests below: the forging helper itself is sound."""
    account = make_account("user")

    assert me(client, bearer(forge(app, claims_for(account)))).status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": ""},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer "},
        {"Authorization": "Token abc.def.ghi"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer not-a-jwt"},
        {"Authorization": "Bearer a.b.c"},
        {"Authorization": "Bearer a.b.c extra"},
    ],
    ids=[
        "missing",
        "empty",
        "bearer-only",
        "bearer-blank",
        "other-scheme",
        "basic",
        "garbage",
        "garbage-segments",
        "two-values",
    ],
)
def test_missing_or_malformed_authorization_returns_401(client, headers):
    assert_invalid_token(me(client, headers))


def test_token_signed_with_another_secret_returns_401(client, app, make_account):
    account = make_account("user")
    token = forge(app, claims_for(account), secret="another-secret-" + "x" * 40)

    assert_invalid_token(me(client, bearer(token)))


def test_token_with_a_modified_payload_returns_401(client, make_account):
    account = make_account("user")
    header, _payload, signature = account.token.split(".")
    payload = _b64({"sub": account.id, "role": "superadmin", "type": "access"})

    assert_invalid_token(
        client.get("/api/support/agents", headers=bearer(f"{header}.{payload}.{signature}"))
    )


def test_expired_token_returns_401(client, app, make_account):
    account = make_account("user")
    with app.app_context():
        token = create_access_token(
            identity=account.id,
            additional_claims={"role": "user"},
            expires_delta=timedelta(seconds=-1),
        )

    assert_invalid_token(me(client, bearer(token)))


def test_expired_token_forged_with_pyjwt_returns_401(client, app, make_account):
    account = make_account("user")
    past = int(time.time()) - 120
    token = forge(app, claims_for(account, iat=past - 60, nbf=past - 60, exp=past))

    assert_invalid_token(me(client, bearer(token)))


@pytest.mark.parametrize("signature", ["", "c2lnbmF0dXJl"], ids=["unsigned", "junk-signature"])
def test_alg_none_token_returns_401(client, make_account, signature):
    account = make_account("admin")
    header = _b64({"alg": "none", "typ": "JWT"})
    payload = _b64(claims_for(account))

    assert_invalid_token(me(client, bearer(f"{header}.{payload}.{signature}")))


@pytest.mark.parametrize(
    "overrides",
    [
        {"sub": "not-a-uuid"},
        {"sub": None},
        {"role": None},
        {"role": "god"},
    ],
    ids=["sub-not-uuid", "sub-missing", "role-missing", "role-unknown"],
)
def test_token_with_unusable_sub_or_role_returns_401(client, app, make_account, overrides):
    account = make_account("user")
    token = forge(app, claims_for(account, **overrides))

    assert_invalid_token(me(client, bearer(token)))
    assert_invalid_token(client.get("/api/chat/sessions", headers=bearer(token)))


def test_refresh_with_a_sub_that_is_not_a_uuid_returns_401(client, app, make_account):
    account = make_account("user")
    token = forge(app, claims_for(account, sub="not-a-uuid", type="refresh"))

    assert_invalid_token(client.post("/api/auth/refresh", headers=bearer(token)))


def test_refresh_for_a_user_that_does_not_exist_returns_401(client, app, make_account):
    account = make_account("user")
    token = forge(app, claims_for(account, sub=str(uuid.uuid4()), type="refresh"))

    assert_invalid_token(client.post("/api/auth/refresh", headers=bearer(token)))


# --- roles ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/chat/sessions/all"),
        ("get", "/api/chat/sessions/status/pending"),
        ("get", "/api/chat/stats"),
        ("get", f"/api/chat/session/{uuid.uuid4()}/details"),
        ("patch", f"/api/chat/session/{uuid.uuid4()}/priority"),
        ("post", f"/api/chat/session/{uuid.uuid4()}/support-message"),
        ("get", "/api/support/agents"),
    ],
)
def test_user_token_on_a_support_endpoint_returns_403(client, make_account, method, path):
    user = make_account("user")

    response = getattr(client, method)(path, json={}, headers=user.headers)

    assert_error(response, 403, MSG_FORBIDDEN)


def test_support_token_on_an_admin_endpoint_returns_403(client, make_account):
    support = make_account("support")

    assert_error(client.get("/api/support/agents", headers=support.headers), 403, MSG_FORBIDDEN)


def test_support_token_on_a_support_endpoint_is_allowed(client, make_account):
    support = make_account("support")

    assert client.get("/api/chat/sessions/all", headers=support.headers).status_code == 200


# --- rate limits ------------------------------------------------------------------------------


def assert_too_many_requests(response) -> None:
    assert_error(response, 429, MSG_TOO_MANY_REQUESTS)
    retry_after = int(response.headers["Retry-After"])
    assert 1 <= retry_after <= 60


def test_login_is_limited_per_ip(client, app, monkeypatch, make_account):
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "3/minute")
    account = make_account("user")  # the fixture's own login used another budget window
    ip = "10.0.0.1"
    for n in range(3):
        assert login(client, f"person{n}@example.com", ip=ip).status_code == 401

    assert_too_many_requests(login(client, account.email, ip=ip))
    assert login(client, account.email, ip="10.0.0.2").status_code == 200


def test_login_is_limited_per_email_across_ips(client, app, monkeypatch, make_account):
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "3/minute")
    account = make_account("user")
    victim = account.email.upper()
    # The fixture's login already counted once against this email.
    for n in range(2):
        assert login(client, victim, password="guess-wrong", ip=f"10.0.1.{n}").status_code == 401

    response = login(client, account.email, ip="10.0.2.1")

    assert_too_many_requests(response)
    assert login(client, "someone-else@example.com", ip="10.0.2.1").status_code == 401


def test_login_limit_defaults_to_10_per_minute(client, app):
    assert app.config["LOGIN_RATE_LIMIT"] == "10/minute"
    for _ in range(10):
        assert login(client, "nobody@example.com", ip="10.0.3.1").status_code == 401

    assert_too_many_requests(login(client, "nobody@example.com", ip="10.0.3.2"))


def test_registration_is_limited_per_ip(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "REGISTER_RATE_LIMIT", "2/minute")
    ip = {"REMOTE_ADDR": "10.0.4.1"}
    for _ in range(2):
        assert (
            client.post("/api/auth/register", json=registration(), environ_base=ip).status_code
            == 201
        )

    assert_too_many_requests(
        client.post("/api/auth/register", json=registration(), environ_base=ip)
    )
    other_ip = {"REMOTE_ADDR": "10.0.4.2"}
    assert (
        client.post("/api/auth/register", json=registration(), environ_base=other_ip).status_code
        == 201
    )


def test_nul_characters_are_refused_with_400_not_a_server_error(client):
    assert_error(register(client, name="Ana\x00"), 400, field="name")
    assert_error(login(client, "ana\x00@example.com"), 400, field="email")

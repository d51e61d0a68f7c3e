"""Guest visitors (POST /api/auth/guest), guest upgrade through POST /api/auth/register, and
identity verification for host sites without a token service (POST /api/auth/identify)."""

from __future__ import annotations

import hashlib
import hmac
import uuid

import pytest
from sqlalchemy import func, select

from supportapp.extensions import db
from supportapp.models import User
from tests.conftest import all_at_once, assert_error
from tests.helpers import send
from tests.spec_shapes import AUTH_RESULT_FIELDS, USER_FIELDS

MSG_TOO_MANY_REQUESTS = "Demasiadas solicitudes. Intenta de nuevo en unos minutos"
MSG_EMAIL_TAKEN = "El email ya está registrado"
MSG_ALREADY_REGISTERED = "Esta cuenta ya está registrada"
MSG_IDENTIFY_DISABLED = "La verificación de identidad no está configurada en este servicio"
MSG_BAD_USER_HASH = "La verificación de identidad no es válida"
SECRET = "host-site-shared-secret-0123456789"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def new_guest(client, ip: str = "127.0.0.1", **body):
    return client.post("/api/auth/guest", json=body, environ_base={"REMOTE_ADDR": ip})


def user_hash(external_id: str, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), external_id.encode(), hashlib.sha256).hexdigest()


@pytest.fixture
def identity_secret(app, monkeypatch):
    monkeypatch.setitem(app.config, "IDENTITY_SECRET", SECRET)
    return SECRET


def identify(client, external_id: str, hash_: str | None = None, **extra):
    body = {"externalId": external_id, "userHash": hash_ or user_hash(external_id), **extra}
    return client.post("/api/auth/identify", json=body)


# --- guests -----------------------------------------------------------------------------------


def test_guest_returns_201_with_a_guest_user_and_both_tokens(client):
    response = new_guest(client)

    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["success"] is True and body["message"] == "Invitado creado exitosamente"
    data = body["data"]
    assert set(data) == AUTH_RESULT_FIELDS
    user = data["user"]
    assert set(user) == USER_FIELDS
    assert user["isGuest"] is True and user["role"] == "user" and user["email"] is None
    assert user["name"].startswith("Visitante ") and len(user["name"]) > len("Visitante ")
    me = client.get("/api/auth/me", headers=bearer(data["accessToken"])).get_json()["data"]
    assert me == user


def test_guest_names_get_different_short_codes(client):
    names = {new_guest(client).get_json()["data"]["user"]["name"] for _ in range(3)}

    assert len(names) == 3


def test_guest_keeps_the_name_and_email_it_gives(client):
    user = new_guest(client, name="  Carla  ", email="carla@example.com").get_json()["data"]["user"]

    assert (user["name"], user["email"], user["isGuest"]) == ("Carla", "carla@example.com", True)


def test_guest_email_may_repeat_an_accounts_email(client, make_account):
    account = make_account("user")

    assert new_guest(client, email=account.email).status_code == 201


@pytest.mark.parametrize(
    ("body", "field"),
    [({"email": "no-es-un-email"}, "email"), ({"name": ""}, "name"), ({"name": "x" * 101}, "name")],
)
def test_guest_rejects_bad_fields_with_400(client, body, field):
    assert_error(new_guest(client, **body), 400, field=field)


def test_a_guest_uses_the_user_endpoints(client, open_session, make_agent):
    tokens = new_guest(client).get_json()["data"]
    headers = bearer(tokens["accessToken"])
    session = client.post("/api/chat/sessions", json={"message": "Hola"}, headers=headers)
    assert session.status_code == 201
    session_id = session.get_json()["data"]["id"]

    reply = send(client, session_id, headers, "¿Hay alguien?")
    listed = client.get("/api/chat/sessions", headers=headers).get_json()["data"]
    refreshed = client.post("/api/auth/refresh", headers=bearer(tokens["refreshToken"]))

    assert reply.status_code == 201
    assert [s["id"] for s in listed["sessions"]] == [session_id]
    assert refreshed.status_code == 200
    agent_account, _agent = make_agent()
    details = client.get(
        f"/api/chat/session/{session_id}/details", headers=agent_account.headers
    ).get_json()["data"]
    assert details["user"]["isGuest"] is True


def test_guests_are_limited_per_client_address(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "GUEST_RATE_LIMIT", "2/hour")

    assert new_guest(client, ip="10.0.0.1").status_code == 201
    assert new_guest(client, ip="10.0.0.1").status_code == 201
    limited = new_guest(client, ip="10.0.0.1")
    other_address = new_guest(client, ip="10.0.0.2")

    assert_error(limited, 429, MSG_TOO_MANY_REQUESTS)
    assert int(limited.headers["Retry-After"]) > 0
    assert other_address.status_code == 201


def test_guest_limit_defaults_to_10_per_hour(app):
    assert app.config["GUEST_RATE_LIMIT"] == "10/hour"


# --- guest upgrade ------------------------------------------------------------------------------


def registration(**overrides) -> dict:
    return {
        "email": f"ana-{uuid.uuid4().hex[:8]}@example.com",
        "password": "password123",
        "name": "Ana Pérez",
    } | overrides


def test_register_with_a_guest_token_keeps_the_user_id_and_history(client):
    guest = new_guest(client).get_json()["data"]
    headers = bearer(guest["accessToken"])
    session_id = client.post("/api/chat/sessions", json={"message": "Hola"}, headers=headers)
    session_id = session_id.get_json()["data"]["id"]
    body = registration()

    response = client.post("/api/auth/register", json=body, headers=headers)

    assert response.status_code == 201, response.get_json()
    data = response.get_json()["data"]
    assert data["user"] == {
        "id": guest["user"]["id"],
        "email": body["email"],
        "name": "Ana Pérez",
        "role": "user",
        "isGuest": False,
    }
    sessions = client.get("/api/chat/sessions", headers=bearer(data["accessToken"]))
    assert [s["id"] for s in sessions.get_json()["data"]["sessions"]] == [session_id]
    login = client.post(
        "/api/auth/login", json={"email": body["email"], "password": "password123"}
    ).get_json()["data"]
    assert login["user"]["id"] == guest["user"]["id"]


def test_register_with_a_guest_token_and_a_taken_email_returns_409_and_keeps_the_guest(
    client, make_account
):
    account = make_account("user")
    guest = new_guest(client).get_json()["data"]

    response = client.post(
        "/api/auth/register",
        json=registration(email=account.email.upper()),
        headers=bearer(guest["accessToken"]),
    )

    assert_error(response, 409, MSG_EMAIL_TAKEN)
    me = client.get("/api/auth/me", headers=bearer(guest["accessToken"])).get_json()["data"]
    assert me["isGuest"] is True and me["email"] is None


def test_register_with_a_registered_users_token_returns_409(client, make_account):
    account = make_account("user")

    response = client.post("/api/auth/register", json=registration(), headers=account.headers)

    assert_error(response, 409, MSG_ALREADY_REGISTERED)


def test_register_with_an_invalid_token_returns_401(client):
    response = client.post("/api/auth/register", json=registration(), headers=bearer("not-a-token"))

    assert_error(response, 401, "Token inválido o expirado")


def test_a_guest_token_stays_valid_after_the_upgrade(client):
    guest = new_guest(client).get_json()["data"]
    client.post("/api/auth/register", json=registration(), headers=bearer(guest["accessToken"]))

    me = client.get("/api/auth/me", headers=bearer(guest["accessToken"]))

    assert me.status_code == 200 and me.get_json()["data"]["isGuest"] is False


# --- identify -----------------------------------------------------------------------------------


def test_identify_creates_the_user_on_first_use_and_returns_the_same_user_after(
    client, app, identity_secret
):
    first = identify(client, "cliente-42", name="Lucía", email="lucia@example.com")
    again = identify(client, "cliente-42")

    assert first.status_code == 200, first.get_json()
    assert first.get_json()["message"] == "Identidad verificada exitosamente"
    user = first.get_json()["data"]["user"]
    assert set(user) == USER_FIELDS
    assert (user["name"], user["email"], user["isGuest"], user["role"]) == (
        "Lucía",
        "lucia@example.com",
        False,
        "user",
    )
    assert again.get_json()["data"]["user"] == user
    token = again.get_json()["data"]["accessToken"]
    assert client.post("/api/chat/sessions", json={}, headers=bearer(token)).status_code == 201
    with app.app_context():
        assert db.session.scalar(select(User.external_id).where(User.id == user["id"])) == (
            "cliente-42"
        )


def test_identify_updates_the_name_and_email_the_host_site_sends(client, identity_secret):
    identify(client, "cliente-7", name="Luis")

    user = identify(client, "cliente-7", name="Luis G.", email="luis@example.com")

    assert user.get_json()["data"]["user"]["name"] == "Luis G."
    assert user.get_json()["data"]["user"]["email"] == "luis@example.com"


def test_identify_accepts_the_hash_in_upper_case(client, identity_secret):
    assert identify(client, "cliente-9", user_hash("cliente-9").upper()).status_code == 200


@pytest.mark.parametrize(
    "bad_hash",
    [
        user_hash("otro-cliente"),
        user_hash("cliente-1", secret="another-secret-0123456789"),
        "00" * 32,
        "zz",
        "ñ" * 64,
    ],
    ids=["other-id", "other-secret", "zeros", "short", "non-ascii"],
)
def test_identify_with_a_bad_hash_returns_401_and_creates_nobody(
    client, app, identity_secret, bad_hash
):
    assert_error(identify(client, "cliente-1", bad_hash), 401, MSG_BAD_USER_HASH)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 0


def test_identify_compares_the_hash_in_constant_time(client, identity_secret, monkeypatch):
    from supportapp.services import users

    calls = []
    original = users.hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return original(a, b)

    monkeypatch.setattr(users.hmac, "compare_digest", spy)
    identify(client, "cliente-3")

    assert calls == [(user_hash("cliente-3").encode(), user_hash("cliente-3").encode())]


def test_identify_without_identity_secret_returns_403(client, app):
    assert app.config["IDENTITY_SECRET"] is None

    assert_error(identify(client, "cliente-1"), 403, MSG_IDENTIFY_DISABLED)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"userHash": "ab"}, "externalId"),
        ({"externalId": "x"}, "userHash"),
        ({"externalId": "", "userHash": "ab"}, "externalId"),
        ({"externalId": "x" * 256, "userHash": "ab"}, "externalId"),
        ({"externalId": "x", "userHash": "ab", "email": "nope"}, "email"),
    ],
)
def test_identify_rejects_bad_fields_with_400(client, identity_secret, body, field):
    assert_error(client.post("/api/auth/identify", json=body), 400, field=field)


def test_concurrent_first_identifications_create_one_user(app, identity_secret):
    results = all_at_once(app, 8, lambda client: identify(client, "cliente-concurrente"))

    assert [status for status, _body in results] == [200] * 8
    assert len({body["data"]["user"]["id"] for _status, body in results}) == 1
    with app.app_context():
        count = db.session.scalar(
            select(func.count()).where(User.external_id == "cliente-concurrente")
        )
        assert count == 1

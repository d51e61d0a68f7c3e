"""External-issuer mode (JWT_ALGORITHM=RS256 + JWT_PUBLIC_KEY): a valid token for a subject
this service has never seen provisions its user on first use (once, even under concurrency);
the endpoints that hand out tokens answer 403; tokens without `exp` or `jti` are refused."""

from __future__ import annotations

import tempfile
import time
import uuid
from pathlib import Path

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import func, select

from supportapp import config, create_app
from supportapp.config import Config
from supportapp.extensions import db
from supportapp.models import ChatSession, User
from tests.conftest import all_at_once, assert_error
from tests.spec_shapes import USER_FIELDS

MSG_INVALID_TOKEN = "Token inválido o expirado"
MSG_TOKENS_NOT_ISSUED = (
    "Este servicio no emite tokens: inicia sesión con el sistema de autenticación de tu sitio"
)
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PUBLIC_PEM = (
    KEY.public_key()
    .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    .decode()
)


def _external_app(test_environ, **settings):
    """Without JWT_SECRET_KEY: outside production, the links' secret is the development one
    (scripts/dev_secret.py), created here in a private directory."""
    environ = {**test_environ, "JWT_ALGORITHM": "RS256", "JWT_PUBLIC_KEY": PUBLIC_PEM}
    environ.pop("JWT_SECRET_KEY", None)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(config, "VAR_DIR", Path(tempfile.mkdtemp(prefix="supportapp-var-")))
        config.ensure_development_secret()
        return create_app(Config({**environ, **settings}))


@pytest.fixture(scope="module")
def external_app(app, test_environ):
    return _external_app(test_environ)


@pytest.fixture
def ext(external_app):
    return external_app.test_client()


def token(sub: str, **claims) -> str:
    now = int(time.time())
    payload = {"sub": sub, "role": "user", "jti": uuid.uuid4().hex, "iat": now, "exp": now + 600}
    payload.update(claims)
    return pyjwt.encode({k: v for k, v in payload.items() if v is not None}, KEY, algorithm="RS256")


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


def users_with_external_id(app, external_id: str) -> list[User]:
    with app.app_context():
        found = list(db.session.scalars(select(User).where(User.external_id == external_id)))
        db.session.expunge_all()
        return found


def test_a_valid_token_for_an_unknown_subject_opens_a_session(ext, external_app):
    headers = bearer(token("auth0|abc123", email="eva@example.com", name="Eva"))

    created = ext.post("/api/chat/sessions", json={"message": "Hola"}, headers=headers)
    me = ext.get("/api/auth/me", headers=headers)

    assert created.status_code == 201, created.get_json()
    user = me.get_json()["data"]
    assert set(user) == USER_FIELDS
    assert (user["email"], user["name"], user["role"], user["isGuest"]) == (
        "eva@example.com",
        "Eva",
        "user",
        False,
    )
    assert created.get_json()["data"]["userId"] == user["id"]
    [stored] = users_with_external_id(external_app, "auth0|abc123")
    assert str(stored.id) == user["id"] and stored.password_hash is None


def test_a_uuid_subject_becomes_the_user_id(ext):
    sub = str(uuid.uuid4())

    me = ext.get("/api/auth/me", headers=bearer(token(sub)))

    assert me.status_code == 200 and me.get_json()["data"]["id"] == sub


def test_a_subject_that_is_an_existing_users_id_is_that_user(ext, make_account):
    staff = make_account("support")

    me = ext.get("/api/auth/me", headers=bearer(token(staff.id, role="support")))

    assert me.get_json()["data"]["id"] == staff.id
    assert me.get_json()["data"]["email"] == staff.email


def test_the_same_subject_is_the_same_user_on_later_requests(ext, external_app):
    first = ext.get("/api/auth/me", headers=bearer(token("sub-1", name="Primero")))
    second = ext.get("/api/auth/me", headers=bearer(token("sub-1", name="Otro nombre")))

    assert first.get_json()["data"]["id"] == second.get_json()["data"]["id"]
    assert len(users_with_external_id(external_app, "sub-1")) == 1


def test_without_email_or_name_claims_the_user_gets_a_default_name(ext):
    user = ext.get("/api/auth/me", headers=bearer(token("sub-2"))).get_json()["data"]

    assert user["email"] is None and user["name"]


def test_email_and_name_claim_names_are_configurable(app, test_environ):
    configured = _external_app(
        test_environ,
        JWT_EMAIL_CLAIM="https://example.com/email",
        JWT_NAME_CLAIM="nickname",
    )
    claims = {"https://example.com/email": "rosa@example.com", "nickname": "Rosa"}

    me = configured.test_client().get("/api/auth/me", headers=bearer(token("sub-3", **claims)))

    assert me.get_json()["data"]["email"] == "rosa@example.com"
    assert me.get_json()["data"]["name"] == "Rosa"


def test_a_malformed_email_claim_is_not_stored(ext):
    user = ext.get("/api/auth/me", headers=bearer(token("sub-4", email="no-email")))

    assert user.get_json()["data"]["email"] is None


def test_concurrent_first_use_of_one_identity_provisions_it_once(external_app):
    sub = f"concurrent|{uuid.uuid4().hex}"
    headers = bearer(token(sub, email="c@example.com"))

    results = all_at_once(
        external_app, 10, lambda client: client.post("/api/chat/sessions", json={}, headers=headers)
    )

    assert [status for status, _body in results] == [201] * 10
    [user] = users_with_external_id(external_app, sub)
    with external_app.app_context():
        owners = set(db.session.scalars(select(ChatSession.user_id)))
    assert owners == {user.id}


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        (
            "post",
            "/api/auth/register",
            {"email": "a@b.com", "password": "password123", "name": "A"},
        ),
        ("post", "/api/auth/login", {"email": "a@b.com", "password": "password123"}),
        ("post", "/api/auth/refresh", None),
        ("post", "/api/auth/guest", {}),
        ("post", "/api/auth/identify", {"externalId": "x", "userHash": "ab"}),
    ],
)
def test_endpoints_that_issue_tokens_answer_403_and_write_nothing(
    ext, external_app, method, path, body
):
    response = getattr(ext, method)(path, json=body, headers=bearer(token("sub-5", type="refresh")))

    assert_error(response, 403, MSG_TOKENS_NOT_ISSUED)
    with external_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 0


def test_register_with_a_bad_body_still_answers_403(ext):
    assert_error(ext.post("/api/auth/register", json={}), 403, MSG_TOKENS_NOT_ISSUED)


@pytest.mark.parametrize("missing", ["exp", "jti"])
def test_tokens_without_exp_or_jti_are_refused(ext, external_app, missing):
    headers = bearer(token("sub-6", **{missing: None}))

    assert_error(ext.get("/api/auth/me", headers=headers), 401, MSG_INVALID_TOKEN)
    assert_error(ext.post("/api/chat/sessions", json={}, headers=headers), 401, MSG_INVALID_TOKEN)
    assert users_with_external_id(external_app, "sub-6") == []


@pytest.mark.parametrize("missing", ["exp", "jti"])
def test_own_tokens_without_exp_or_jti_are_refused_too(client, app, make_account, missing):
    account = make_account("user")
    now = int(time.time())
    claims = {"sub": account.id, "role": "user", "type": "access", "jti": "j", "exp": now + 60}
    del claims[missing]
    forged = pyjwt.encode(claims, app.config["JWT_SECRET_KEY"], algorithm="HS256")

    assert_error(client.get("/api/auth/me", headers=bearer(forged)), 401, MSG_INVALID_TOKEN)


@pytest.mark.parametrize("sub", ["", "x" * 256])
def test_unusable_subjects_are_refused(ext, sub):
    assert_error(ext.get("/api/auth/me", headers=bearer(token(sub))), 401, MSG_INVALID_TOKEN)


def test_a_token_signed_by_another_key_is_refused(ext):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = int(time.time())
    forged = pyjwt.encode(
        {"sub": "sub-7", "role": "user", "jti": "j", "iat": now, "exp": now + 60},
        other,
        algorithm="RS256",
    )

    assert_error(ext.get("/api/auth/me", headers=bearer(forged)), 401, MSG_INVALID_TOKEN)


def test_logout_revokes_an_external_token(ext):
    headers = bearer(token("sub-8"))

    assert ext.post("/api/auth/logout", headers=headers).status_code == 200
    assert_error(ext.get("/api/auth/me", headers=headers), 401, MSG_INVALID_TOKEN)


def test_a_token_without_a_role_claim_is_a_customer(ext):
    me = ext.get("/api/auth/me", headers=bearer(token("sub-9", role=None)))

    assert me.status_code == 200 and me.get_json()["data"]["role"] == "user"
    assert_error(
        ext.get("/api/support/agents", headers=bearer(token("sub-9", role=None))),
        403,
        "No tienes permisos para realizar esta acción",
    )


def test_a_token_with_an_unknown_role_is_refused(ext):
    assert_error(ext.get("/api/auth/me", headers=bearer(token("sub-10", role="god"))), 401)

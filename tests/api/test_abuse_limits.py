"""Hostile users and proxies (docs/decisions.md): session-opening abuse, input that used to fail
and the client address behind a proxy."""

from __future__ import annotations

import pytest

from supportapp.api.common import MSG_TOO_DEEP
from supportapp.api.smorest import MSG_LONE_SURROGATE
from supportapp.errors import MSG_TOO_MANY_MESSAGES, MSG_TOO_MANY_SESSIONS
from tests.conftest import assert_error
from tests.helpers import close, send

OPEN = "/api/chat/sessions"


@pytest.fixture
def limits(app, monkeypatch):
    """The documented defaults (the suite relaxes them for the other tests)."""
    monkeypatch.setitem(app.config, "MAX_OPEN_SESSIONS_PER_USER", 3)
    monkeypatch.setitem(app.config, "SESSION_OPEN_RATE_LIMIT", "5/minute")
    return app.config


# --- opening sessions ------------------------------------------------------------------


def test_a_fourth_open_session_returns_409(client, make_account, limits):
    user = make_account("user")
    for _ in range(3):
        assert client.post(OPEN, json={}, headers=user.headers).status_code == 201

    body = assert_error(client.post(OPEN, json={}, headers=user.headers), 409)

    assert "3 sesiones" in body["message"]
    listed = client.get("/api/chat/sessions", headers=user.headers).get_json()["data"]
    assert listed["pagination"]["total"] == 3


def test_closing_a_session_frees_a_place(client, make_account, limits):
    user = make_account("user")
    opened = [client.post(OPEN, json={}, headers=user.headers).get_json()["data"] for _ in range(3)]
    assert client.post(OPEN, json={}, headers=user.headers).status_code == 409

    close(client, opened[0]["id"], user, expect=200)

    assert client.post(OPEN, json={}, headers=user.headers).status_code == 201


def test_the_cap_is_per_user(client, make_account, limits):
    alice, bob = make_account("user"), make_account("user")
    for _ in range(3):
        client.post(OPEN, json={}, headers=alice.headers)

    assert client.post(OPEN, json={}, headers=bob.headers).status_code == 201


def test_opening_too_often_returns_429_with_retry_after(client, make_account, limits):
    limits["MAX_OPEN_SESSIONS_PER_USER"] = 100
    user = make_account("user")
    for _ in range(5):
        assert client.post(OPEN, json={}, headers=user.headers).status_code == 201

    response = client.post(OPEN, json={"message": "hola"}, headers=user.headers)

    assert_error(response, 429, MSG_TOO_MANY_SESSIONS)
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    # Nothing was created, and another user is not affected.
    total = client.get("/api/chat/sessions", headers=user.headers).get_json()["data"]
    assert total["pagination"]["total"] == 5
    assert client.post(OPEN, json={}, headers=make_account("user").headers).status_code == 201


def test_refused_openings_still_count_against_the_rate(client, make_account, limits):
    user = make_account("user")
    statuses = [client.post(OPEN, json={}, headers=user.headers).status_code for _ in range(6)]

    assert statuses == [201, 201, 201, 409, 409, 429]


def test_an_opening_message_spends_the_message_budget_too(
    client, make_account, limits, monkeypatch
):
    limits["MAX_OPEN_SESSIONS_PER_USER"] = 100
    monkeypatch.setitem(limits, "MESSAGE_RATE_LIMIT", "2/minute")
    user = make_account("user")
    assert client.post(OPEN, json={"message": "uno"}, headers=user.headers).status_code == 201
    assert client.post(OPEN, json={}, headers=user.headers).status_code == 201  # no message
    session = client.post(OPEN, json={"message": "dos"}, headers=user.headers).get_json()["data"]

    third = client.post(OPEN, json={"message": "tres"}, headers=user.headers)
    message = send(client, session["id"], user, "x")

    assert_error(third, 429, MSG_TOO_MANY_MESSAGES)
    assert_error(message, 429, MSG_TOO_MANY_MESSAGES)
    assert "Retry-After" in message.headers


# --- input -----------------------------------------------------------------------------


def test_a_lone_surrogate_returns_400_on_its_field(client, make_account):
    user = make_account("user")
    session = client.post(OPEN, json={}, headers=user.headers).get_json()["data"]
    raw = '{"message": "hola \\ud800"}'

    response = client.post(
        f"/api/chat/session/{session['id']}/message",
        data=raw,
        headers={**user.headers, "Content-Type": "application/json"},
    )

    assert_error(response, 400, MSG_LONE_SURROGATE, field="message")


@pytest.mark.parametrize(
    ("path", "raw", "field"),
    [
        (
            "/api/auth/register",
            '{"email": "a@b.co", "password": "x\\udfff1234567", "name": "A"}',
            "password",
        ),
        ("/api/auth/login", '{"email": "\\udc00@b.co", "password": "x"}', "email"),
        (OPEN, '{"message": "\\ud83d"}', "message"),
    ],
)
def test_lone_surrogates_anywhere_are_400_never_500(client, make_account, path, raw, field):
    user = make_account("user")
    response = client.post(
        path, data=raw, headers={**user.headers, "Content-Type": "application/json"}
    )

    assert_error(response, 400, MSG_LONE_SURROGATE, field=field)


def test_a_surrogate_pair_is_a_normal_character(client, make_account):
    user = make_account("user")
    response = client.post(
        OPEN,
        data='{"message": "hola \\ud83d\\ude00"}',
        headers={**user.headers, "Content-Type": "application/json"},
    )

    assert response.status_code == 201
    assert response.get_json()["data"]["messages"][0]["message"] == "hola 😀"


@pytest.mark.parametrize(
    "text",
    [
        "\u200b\u200b",  # zero-width spaces
        " \u200d\u2060\ufeff ",  # joiner, word joiner, BOM
        "\u202e\u200f",  # bidi controls
        "\x07\x1b",  # control characters
        "\u3164\u2800",  # Hangul filler, Braille blank
        "\u00a0\u3000\t",  # no-break and ideographic spaces
    ],
)
def test_a_message_of_invisible_characters_is_empty(client, make_account, text):
    user = make_account("user")
    session = client.post(OPEN, json={}, headers=user.headers).get_json()["data"]

    response = send(client, session["id"], user, text)
    opening = client.post(OPEN, json={"message": text}, headers=user.headers)

    assert_error(response, 400, "El mensaje no puede estar vacío", field="message")
    assert_error(opening, 400, "El mensaje no puede estar vacío", field="message")


def test_a_message_with_visible_text_between_invisible_characters_is_kept(client, make_account):
    user = make_account("user")
    response = client.post(OPEN, json={"message": "\u200bhola\u200b"}, headers=user.headers)

    assert response.status_code == 201


@pytest.mark.parametrize(
    "query",
    ["page=101&limit=100", "page=501", "page=10001&limit=1"],
)
def test_pages_past_10000_rows_return_400_on_page(client, make_account, query):
    admin = make_account("admin")
    for path in ("/api/chat/sessions/all", "/api/chat/sessions", "/api/chat/queue"):
        response = client.get(f"{path}?{query}", headers=admin.headers)
        assert_error(response, 400, MSG_TOO_DEEP, field="page")
    assert "filtros" in MSG_TOO_DEEP


def test_the_last_allowed_page_still_answers(client, make_account):
    admin = make_account("admin")

    for query in ("page=100&limit=100", "page=500", "page=10000&limit=1"):
        assert (
            client.get(f"/api/chat/sessions/all?{query}", headers=admin.headers).status_code == 200
        )
    response = client.get("/api/chat/sessions/status/pending?page=201", headers=admin.headers)
    assert_error(response, 400, MSG_TOO_DEEP, field="page")  # default limit 50 there


# --- behind a proxy --------------------------------------------------------------------


def _register(client, n: int, forwarded: str):
    return client.post(
        "/api/auth/register",
        json={"email": f"p{n}@example.com", "password": "password123", "name": "P"},
        headers={"X-Forwarded-For": forwarded},
    )


def test_without_trusted_hops_x_forwarded_for_is_ignored(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "REGISTER_RATE_LIMIT", "2/minute")
    statuses = [_register(client, n, f"203.0.113.{n}").status_code for n in range(3)]

    assert statuses == [201, 201, 429]  # one client address (the test client's) for all


def test_with_one_trusted_hop_each_forwarded_client_has_its_own_limit(test_environ):
    from supportapp import create_app
    from supportapp.config import Config

    proxied = create_app(Config({**test_environ, "TRUSTED_PROXY_HOPS": "1"}))
    proxied.config["REGISTER_RATE_LIMIT"] = "2/minute"
    client = proxied.test_client()

    first = [_register(client, n, f"10.0.0.1, 203.0.113.{n}").status_code for n in range(3)]
    same = [_register(client, 10 + n, "198.51.100.7").status_code for n in range(3)]

    assert first == [201, 201, 201]  # the last hop's address is the client: three clients
    assert same == [201, 201, 429]


def test_with_one_trusted_hop_the_audit_log_records_the_forwarded_address(test_environ):
    from supportapp import create_app
    from supportapp.config import Config
    from supportapp.models import Role
    from supportapp.services import users

    proxied = create_app(Config({**test_environ, "TRUSTED_PROXY_HOPS": "1"}))
    client = proxied.test_client()
    with proxied.app_context():
        admin = users.register_user(
            email="boss@example.com", password="password123", name="Boss", role=Role.ADMIN
        )
        target = users.register_user(
            email="agent@example.com", password="password123", name="Agent", role=Role.SUPPORT
        )
        admin_id, target_id = admin.id, target.id
    proxy = {"X-Forwarded-For": "10.0.0.1, 198.51.100.23", "X-Forwarded-Proto": "https"}
    token = client.post(
        "/api/auth/login",
        json={"email": "boss@example.com", "password": "password123"},
        headers=proxy,
    ).get_json()["data"]["accessToken"]
    headers = {**proxy, "Authorization": f"Bearer {token}"}

    created = client.post(
        "/api/support/agents", json={"userId": str(target_id), "name": "A"}, headers=headers
    )
    logs = client.get("/api/support/logs", headers=headers).get_json()["data"]

    assert created.status_code == 201
    entry = next(e for e in logs["logs"] if e["actorId"] == str(admin_id))
    assert entry["ip"] == "198.51.100.23"

"""The `web` process as the Procfile starts it: gunicorn with gunicorn.conf.py serving wsgi:app,
spoken to over real HTTP."""

from __future__ import annotations

import uuid

import pytest

from testkit.processes import free_port, gunicorn_server

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def web(app, test_environ):
    """One gunicorn (two worker processes, as WEB_CONCURRENCY=2) for the module."""
    with gunicorn_server(test_environ, workers=2, threads=2) as server:
        yield server


def test_readyz_reports_postgres_and_redis(web):
    response = web.request("GET", "/readyz")
    assert response.status == 200, response.body
    assert response.body["success"] is True
    assert response.body["data"] == {"postgres": True, "redis": True}


def test_healthz_and_request_id_echo(web):
    response = web.request("GET", "/healthz", headers={"X-Request-ID": "smoke-test-1"})
    assert response.status == 200
    assert response.body["success"] is True
    assert response.header("X-Request-ID") == "smoke-test-1"
    generated = web.request("GET", "/healthz").header("X-Request-ID")
    assert generated and generated != "smoke-test-1"


def test_errors_are_envelopes_not_html(web):
    missing = web.request("GET", "/api/does-not-exist")
    assert missing.status == 404
    assert missing.body == {"success": False, "message": "Recurso no encontrado"}
    wrong_method = web.request("DELETE", "/api/auth/login")
    assert wrong_method.status == 405
    assert wrong_method.body["success"] is False
    no_token = web.request("GET", "/api/auth/me")
    assert no_token.status == 401
    assert no_token.body == {"success": False, "message": "Token inválido o expirado"}


def test_register_login_and_open_a_session_over_http(web):
    email = f"smoke-{uuid.uuid4().hex[:8]}@example.com"
    registered = web.request(
        "POST",
        "/api/auth/register",
        {"email": email, "password": "password123", "name": "Smoke Test"},
    )
    assert registered.status == 201, registered.body
    assert registered.body["data"]["user"]["role"] == "user"

    login = web.request("POST", "/api/auth/login", {"email": email, "password": "password123"})
    assert login.status == 200, login.body
    data = login.body["data"]
    assert data["user"]["email"] == email
    token = data["accessToken"]

    me = web.request("GET", "/api/auth/me", token=token)
    assert me.status == 200, me.body
    assert me.body["data"]["id"] == data["user"]["id"]

    opened = web.request(
        "POST", "/api/chat/sessions", {"message": "  Hola, necesito ayuda  "}, token=token
    )
    assert opened.status == 201, opened.body
    session = opened.body["data"]
    assert session["status"] == "pending"
    assert session["userId"] == data["user"]["id"]
    assert session["supportAgentId"] is None
    assert [m["message"] for m in session["messages"]] == ["Hola, necesito ayuda"]

    # Another worker process of the same server sees the committed session.
    for _ in range(4):
        listed = web.request("GET", "/api/chat/sessions", token=token)
        assert listed.status == 200, listed.body
        assert [s["id"] for s in listed.body["data"]["sessions"]] == [session["id"]]

    logout = web.request("POST", "/api/auth/logout", token=token)
    assert logout.status == 200, logout.body
    # The blocklist lives in Redis, so every worker process rejects the revoked token.
    for _ in range(4):
        assert web.request("GET", "/api/auth/me", token=token).status == 401


def test_readyz_is_503_when_redis_and_postgres_are_unreachable(app, test_environ):
    dead_port = free_port()
    broken = {
        **test_environ,
        "REDIS_URL": f"redis://127.0.0.1:{dead_port}/0",
        "DATABASE_URL": f"postgresql://postgres@127.0.0.1:{dead_port}/nothing",
    }
    with gunicorn_server(broken, workers=1, threads=2) as server:
        assert server.request("GET", "/healthz").status == 200
        response = server.request("GET", "/readyz", timeout=20)
        assert response.status == 503, response.body
        assert response.body["success"] is False
        assert "postgres" in response.body["message"]
        assert "redis" in response.body["message"]

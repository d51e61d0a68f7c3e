"""Rate limits are shared through Redis: two gunicorn servers (separate processes, separate
ports) enforce one budget per user for messages and one per email / per IP for logins."""

from __future__ import annotations

import uuid

import pytest

from supportapp.errors import MSG_TOO_MANY_MESSAGES, MSG_TOO_MANY_REQUESTS
from testkit.processes import GunicornServer, HttpResponse, gunicorn_server

pytestmark = pytest.mark.slow

PASSWORD = "password123"


@pytest.fixture(scope="module")
def servers(app, test_environ):
    """Two independent web servers on one Redis, both with LOGIN_RATE_LIMIT=3/minute and the
    default MESSAGE_RATE_LIMIT (20/minute)."""
    env = {**test_environ, "LOGIN_RATE_LIMIT": "3/minute"}
    env.pop("MESSAGE_RATE_LIMIT", None)
    with (
        gunicorn_server(env, workers=1, threads=2) as first,
        gunicorn_server(env, workers=1, threads=2) as second,
    ):
        assert first.port != second.port
        yield first, second


def _register(server: GunicornServer) -> tuple[str, str]:
    email = f"rl-{uuid.uuid4().hex[:10]}@example.com"
    response = server.request(
        "POST", "/api/auth/register", {"email": email, "password": PASSWORD, "name": "Limited"}
    )
    assert response.status == 201, response.body
    return email, response.body["data"]["accessToken"]


def _assert_limited(response: HttpResponse, message: str) -> None:
    assert response.status == 429, (response.status, response.body)
    assert response.body == {"success": False, "message": message}
    retry_after = response.header("Retry-After")
    assert retry_after is not None and retry_after.isdigit(), retry_after
    assert 1 <= int(retry_after) <= 60


def test_twenty_first_message_in_a_minute_is_refused_whichever_server_gets_it(servers):
    first, second = servers
    _email, token = _register(first)
    opened = second.request("POST", "/api/chat/sessions", {}, token=token)
    assert opened.status == 201, opened.body
    session_id = opened.body["data"]["id"]
    path = f"/api/chat/session/{session_id}/message"

    for n in range(20):
        server = (first, second)[n % 2]
        sent = server.request("POST", path, {"message": f"mensaje {n}"}, token=token)
        assert sent.status == 201, (n, server.port, sent.body)

    _assert_limited(
        second.request("POST", path, {"message": "uno más"}, token=token), MSG_TOO_MANY_MESSAGES
    )
    _assert_limited(
        first.request("POST", path, {"message": "y otro"}, token=token), MSG_TOO_MANY_MESSAGES
    )

    history = first.request("GET", f"/api/chat/session/{session_id}/messages", token=token)
    assert history.status == 200, history.body
    assert [m["message"] for m in history.body["data"]] == [f"mensaje {n}" for n in range(20)]

    # The budget is per user: someone else still writes through either server.
    _other_email, other_token = _register(second)
    other = first.request("POST", "/api/chat/sessions", {}, token=other_token)
    assert other.status == 201, other.body
    reply = second.request(
        "POST",
        f"/api/chat/session/{other.body['data']['id']}/message",
        {"message": "hola"},
        token=other_token,
    )
    assert reply.status == 201, reply.body


def _login(server: GunicornServer, email: str, password: str, ip: str) -> HttpResponse:
    return server.request(
        "POST", "/api/auth/login", {"email": email, "password": password}, source_address=ip
    )


def test_login_attempts_are_limited_per_email_across_servers(servers):
    first, second = servers
    email, _token = _register(first)
    other_email, _other_token = _register(second)

    # Three attempts for one email, each from another client address and alternating servers:
    # no single IP is over its budget, only the email is.
    assert _login(first, email, "wrong-password", "127.0.0.11").status == 401
    assert _login(second, email.upper(), "wrong-password", "127.0.0.12").status == 401
    assert _login(first, email, PASSWORD, "127.0.0.13").status == 200
    _assert_limited(_login(second, email, PASSWORD, "127.0.0.14"), MSG_TOO_MANY_REQUESTS)
    _assert_limited(_login(first, email, PASSWORD, "127.0.0.15"), MSG_TOO_MANY_REQUESTS)

    # Another email is unaffected.
    assert _login(second, other_email, PASSWORD, "127.0.0.16").status == 200


def test_login_attempts_are_limited_per_ip_across_servers(servers):
    first, second = servers
    email, _token = _register(first)

    ip = "127.0.0.21"
    for n in range(3):
        server = (first, second)[n % 2]
        unknown = f"nobody-{n}-{uuid.uuid4().hex[:6]}@example.com"
        assert _login(server, unknown, "whatever-pass", ip).status == 401
    # The fourth attempt from that address is refused even with good credentials…
    _assert_limited(_login(second, email, PASSWORD, ip), MSG_TOO_MANY_REQUESTS)
    # …while the same account signs in from another address.
    assert _login(first, email, PASSWORD, "127.0.0.22").status == 200

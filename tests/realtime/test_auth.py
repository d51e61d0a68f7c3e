"""Authenticating a /ws connection: the three ways in, every way to be turned away with 4401,
and a token that expires while the socket is open."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta

import jwt as pyjwt
import pytest
from flask_jwt_extended import create_access_token

from testkit.processes import serving
from tests.realtime.harness import Socket, WebServer, connected, http

pytestmark = pytest.mark.slow

UNAUTHORIZED = 4401


@pytest.fixture(scope="module")
def short_ttl_server(server_environ, log_dir) -> Iterator[WebServer]:
    """A web process whose access tokens live three seconds."""
    with serving(WebServer("web-ttl3", server_environ, log_dir, JWT_ACCESS_TTL="3")) as (server,):
        yield server


def test_query_token_authenticates(web, make_account, sockets):
    user = make_account("user")
    sock = Socket.open(web, user.token)
    sockets.append(sock)
    hello = sock.wait_event("connected")
    assert hello["data"] == {"userId": user.id, "role": "user"}


def test_authorization_header_authenticates(web, make_account, sockets):
    agent = make_account("support")
    sock = Socket.open(web, header_token=agent.token)
    sockets.append(sock)
    assert sock.wait_event("connected")["data"] == {"userId": agent.id, "role": "support"}


def test_first_frame_auth_authenticates(web, make_account, sockets):
    user = make_account("user")
    sock = Socket.open(web)
    sockets.append(sock)
    sock.send({"type": "auth", "token": user.token})
    assert sock.wait_event("connected")["data"]["userId"] == user.id
    sock.send({"type": "ping"})
    assert sock.wait_event("pong")


def test_no_auth_frame_closes_after_five_seconds(web, sockets):
    sock = Socket.open(web, timeout=15)
    sockets.append(sock)
    started = time.monotonic()
    assert sock.wait_closed(timeout=12) == UNAUTHORIZED
    assert 4.5 <= time.monotonic() - started < 9
    assert sock.frames == []


def _forged(app, **claims) -> str:
    with app.app_context():
        return create_access_token(identity=claims.pop("sub"), **claims)


@pytest.mark.parametrize(
    "kind", ["garbage", "wrong-signature", "expired", "refresh", "revoked", "unknown-role"]
)
def test_bad_tokens_close_with_4401(kind, app, web, make_account, sockets):
    user = make_account("user")
    if kind == "garbage":
        token = "not-a-jwt"
    elif kind == "wrong-signature":
        claims = pyjwt.decode(user.token, options={"verify_signature": False})
        token = pyjwt.encode(claims, "another-secret-that-is-long-enough-0123456789", "HS256")
    elif kind == "expired":
        token = _forged(
            app,
            sub=user.id,
            additional_claims={"role": "user"},
            expires_delta=timedelta(seconds=-30),
        )
    elif kind == "refresh":
        token = user.refresh_token
    elif kind == "revoked":
        token = user.token
        assert http("POST", f"{web.url}/api/auth/logout", token=token).status == 200
    else:
        token = _forged(app, sub=user.id, additional_claims={"role": "emperor"})

    for method in ("query", "header", "frame"):
        if method == "query":
            sock = Socket.open(web, token)
        elif method == "header":
            sock = Socket.open(web, header_token=token)
        else:
            sock = Socket.open(web)
            sock.send({"type": "auth", "token": token})
        sockets.append(sock)
        assert sock.wait_closed(timeout=5) == UNAUTHORIZED, method
        assert not any(f.get("event") == "connected" for f in sock.frames), method


def test_first_frame_that_is_not_auth_closes_with_4401(web, sockets):
    sock = Socket.open(web)
    sockets.append(sock)
    sock.send({"type": "ping"})
    assert sock.wait_closed(timeout=5) == UNAUTHORIZED


def test_token_expiring_while_connected_closes_with_4401(short_ttl_server, make_account, sockets):
    user = make_account("user")
    login = http(
        "POST",
        f"{short_ttl_server.url}/api/auth/login",
        {"email": user.email, "password": "password123"},
    )
    assert login.status == 200, login.body
    token = login.data["accessToken"]
    exp = pyjwt.decode(token, options={"verify_signature": False})["exp"]
    sock = connected(short_ttl_server, token)
    sockets.append(sock)
    sock.send({"type": "ping"})
    assert sock.wait_event("pong")
    assert sock.wait_closed(timeout=8) == UNAUTHORIZED
    assert time.time() >= exp - 0.5  # closed because it expired, not before

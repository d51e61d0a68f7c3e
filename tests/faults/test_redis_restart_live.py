"""Redis goes away mid-stream and comes back (empty: no persistence): REST keeps working on
PostgreSQL, the failure is logged, the event written meanwhile is relayed from the outbox once
Redis is back, and live events flow again without restarting anything.

It runs on the fault package's own PostgreSQL and Redis: on the suite's database the outbox
relay of any other web process of the suite would publish this test's rows to the suite's
Redis, not to the one this test restarts."""

from __future__ import annotations

import signal

import pytest

from testkit.processes import run_flask, wait_for
from tests.faults.servers import new_user, request
from tests.realtime.harness import Api, Closed, connected

pytestmark = pytest.mark.slow


def _support_token(fault_environ: dict[str, str], base_url: str) -> str:
    """A support agent made with the CLI (the API has no way to create the first one)."""
    email = "agente-redis@example.com"
    args = ["--email", email, "--password", "password123", "--name", "Agente", "--role", "support"]
    run_flask(fault_environ, "users", "create", *args, timeout=60)
    reply = request(
        base_url, "POST", "/api/auth/login", {"email": email, "password": "password123"}
    )
    assert reply.status == 200, reply
    return reply.body["data"]["accessToken"]


def test_redis_restart_mid_stream_then_recovery(private_redis, fault_environ, web_servers, sockets):
    own_redis = private_redis
    web = web_servers("web-redis-restart")
    api = Api(web)
    user_token = new_user(web.url, "cliente")
    staff_token = _support_token(fault_environ, web.url)
    staff_ws = connected(web, staff_token)
    sockets.append(staff_ws)
    session = api.open_session(user_token, "antes")
    before = staff_ws.wait_event("chat_message_received", message__message="antes")

    own_redis.stop(signal.SIGKILL)
    during = api.user_message(user_token, session["id"], "durante")  # 201: PostgreSQL is truth
    wait_for(
        lambda: "could not publish" in web.output(None),
        timeout=10,
        message="the lost event was not logged",
        interval=0.2,
    )
    history = api.call("GET", f"/api/chat/session/{session['id']}/messages", user_token)
    assert [m["id"] for m in history][-1] == during["id"]

    own_redis.start()  # same port, empty
    # The socket survived; the hub got Redis back and tells it that events may be missing.
    notice = staff_ws.wait_event("resync_required", timeout=20)
    assert notice["data"]["reason"]

    # Live events flow again to the socket that stayed and to a new one.
    new_ws = connected(web, staff_token)
    sockets.append(new_ws)
    after = api.user_message(user_token, session["id"], "después")
    for ws in (staff_ws, new_ws):
        frame = ws.wait_event("chat_message_received", message__id=after["id"])
        assert frame["data"]["message"]["message"] == "después"
    # The message written while Redis was down reaches the socket once, before the later one.
    received = [
        f["data"]["message"]["message"]
        for f in staff_ws.events
        if f["event"] == "chat_message_received"
    ]
    assert received == ["antes", "durante", "después"]

    # Resuming from an id the restarted (empty) Redis no longer has → resync_required.
    resumed = connected(web, staff_token, last_event_id=before["id"])
    sockets.append(resumed)
    assert resumed.wait_event("resync_required")
    try:
        resumed.drain(quiet=0.3)
    except Closed:
        pytest.fail("a resumed socket was closed")

"""Redis goes away mid-stream and comes back (empty: no persistence): REST keeps working on
PostgreSQL, the failure is logged, the event written meanwhile is relayed from the outbox once
Redis is back, and live events flow again without restarting anything."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest

from testkit.processes import wait_for
from tests.realtime.harness import (
    Api,
    Closed,
    RedisServer,
    WebServer,
    connected,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def own_redis(log_dir) -> Iterator[RedisServer]:
    """A redis-server of this test's own: the shared one must never be restarted."""
    with RedisServer(log_dir) as server:
        yield server


@pytest.fixture
def web_on_own_redis(server_environ, own_redis, log_dir) -> Iterator[WebServer]:
    server = WebServer("web-own-redis", server_environ, log_dir, REDIS_URL=own_redis.url)
    try:
        yield server.start().wait_healthy()
    finally:
        server.stop()


def test_redis_restart_mid_stream_then_recovery(own_redis, web_on_own_redis, make_account, sockets):
    web = web_on_own_redis
    api = Api(web)
    user, staff = make_account("user"), make_account("support")
    staff_ws = connected(web, staff.token)
    sockets.append(staff_ws)
    session = api.open_session(user.token, "antes")
    before = staff_ws.wait_event("chat_message_received", message__message="antes")

    own_redis.stop(signal.SIGKILL)
    during = api.user_message(user.token, session["id"], "durante")  # 201: PostgreSQL is truth
    wait_for(
        lambda: "could not publish" in web.output(None),
        timeout=10,
        message="the lost event was not logged",
        interval=0.2,
    )
    history = api.call("GET", f"/api/chat/session/{session['id']}/messages", user.token)
    assert [m["id"] for m in history][-1] == during["id"]

    own_redis.start()  # same port, empty
    # The socket survived; the hub got Redis back and tells it that events may be missing.
    notice = staff_ws.wait_event("resync_required", timeout=20)
    assert notice["data"]["reason"]

    # Live events flow again to the socket that stayed and to a new one.
    new_ws = connected(web, staff.token)
    sockets.append(new_ws)
    after = api.user_message(user.token, session["id"], "después")
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
    resumed = connected(web, staff.token, last_event_id=before["id"])
    sockets.append(resumed)
    assert resumed.wait_event("resync_required")
    try:
        resumed.drain(quiet=0.3)
    except Closed:
        pytest.fail("a resumed socket was closed")

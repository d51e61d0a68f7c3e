"""Revocation reaches open WebSockets on every web process, and the WebSocket limits
(docs/realtime.md): sockets per user across processes, resume throttling, bounded
replay steps and the send timeout against a client that stops reading."""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator

import pytest
import redis
import websocket

from supportapp.realtime import bus
from supportapp.realtime.hub import sockets_key
from testkit.processes import serving
from tests.realtime.harness import Socket, WebServer, connected, http

pytestmark = pytest.mark.slow

UNAUTHORIZED = 4401
TOO_MANY = 4429


def login(server: WebServer, account) -> dict:
    reply = http(
        "POST", f"{server.url}/api/auth/login", {"email": account.email, "password": "password123"}
    )
    assert reply.status == 200, reply.body
    return reply.data


def closed_within(sock: Socket, seconds: float) -> tuple[int, float]:
    started = time.monotonic()
    code = sock.wait_closed(timeout=seconds + 3)
    return code, time.monotonic() - started


# --- revocation closes sockets everywhere ---------------------------------------------


def test_logout_closes_the_logins_sockets_on_every_process(servers, make_account, sockets):
    web1, web2 = servers
    user = make_account("user")
    other_login = login(web2, user)["accessToken"]
    here, there = connected(web1, user.token), connected(web2, user.token)
    untouched = connected(web2, other_login)
    sockets.extend([here, there, untouched])

    assert http("POST", f"{web1.url}/api/auth/logout", token=user.token).status == 200

    for sock in (here, there):
        code, took = closed_within(sock, 5)
        assert code == UNAUTHORIZED and took < 5
    untouched.send({"type": "ping"})
    assert untouched.wait_event("pong")


def test_logout_with_the_refresh_token_closes_the_sockets_of_its_access_token(
    servers, make_account, sockets
):
    web1, web2 = servers
    user = make_account("user")
    sock = connected(web2, user.token)
    sockets.append(sock)

    assert http("POST", f"{web1.url}/api/auth/logout", token=user.refresh_token).status == 200

    assert closed_within(sock, 5)[0] == UNAUTHORIZED


def test_logout_all_closes_every_socket_of_the_user(servers, make_account, sockets):
    web1, web2 = servers
    user, bystander = make_account("user"), make_account("user")
    mine = [connected(web1, user.token), connected(web2, login(web2, user)["accessToken"])]
    theirs = connected(web1, bystander.token)
    sockets.extend([*mine, theirs])

    assert http("POST", f"{web2.url}/api/auth/logout-all", token=user.token).status == 200

    for sock in mine:
        code, took = closed_within(sock, 5)
        assert code == UNAUTHORIZED and took < 5
    theirs.send({"type": "ping"})
    assert theirs.wait_event("pong")


def test_a_demoted_users_sockets_are_closed(app, servers, make_account, sockets):
    from supportapp.models import Role
    from supportapp.services import users

    web1, web2 = servers
    agent = make_account("support")
    socks = [connected(web1, agent.token), connected(web2, agent.token)]
    sockets.extend(socks)

    with app.app_context():
        users.set_role(email=agent.email, role=Role.USER)

    for sock in socks:
        code, took = closed_within(sock, 5)
        assert code == UNAUTHORIZED and took < 5
    # Logging in again gives a socket with the new role.
    again = connected(web2, login(web2, agent)["accessToken"])
    sockets.append(again)
    assert again.frames[-1]["data"]["role"] == "user"


def test_an_admins_deactivation_closes_the_agents_sockets(
    servers, make_agent, make_account, sockets
):
    web1, web2 = servers
    account, agent = make_agent()
    admin = make_account("admin")
    sock = connected(web2, account.token)
    admin_sock = connected(web1, admin.token)
    sockets.extend([sock, admin_sock])

    reply = http(
        "PATCH",
        f"{web1.url}/api/support/agents/{agent['id']}",
        {"isActive": False},
        token=admin.token,
    )

    assert reply.status == 200
    assert closed_within(sock, 5)[0] == UNAUTHORIZED
    admin_sock.send({"type": "ping"})
    assert admin_sock.wait_event("pong")


# --- sockets per user across processes -------------------------------------------------


def test_the_socket_past_the_per_user_limit_is_closed_with_4429(
    servers, make_account, sockets, redis_url
):
    web1, web2 = servers
    user = make_account("user")
    opened = [connected(servers[n % 2], user.token) for n in range(20)]  # the default limit
    sockets.extend(opened)

    extra = Socket.open(web2, user.token)
    sockets.append(extra)
    assert extra.wait_closed(timeout=5) == TOO_MANY
    assert not any(frame.get("event") == "connected" for frame in extra.frames)
    other_user = connected(web1, make_account("user").token)  # per user, not global
    sockets.append(other_user)

    opened[0].close()
    client = redis.Redis.from_url(redis_url)

    def slot_freed() -> bool:
        return client.zcard(sockets_key(user.id)) == 19

    deadline = time.monotonic() + 15  # the server notices the close, then releases the slot
    while not slot_freed() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert slot_freed()
    replacement = connected(web1, user.token)
    sockets.append(replacement)


# --- resume throttling and bounded replay ------------------------------------------------


def test_resumes_are_throttled_per_socket(app, web, make_account, sockets):
    staff = make_account("support")
    with app.app_context():
        ids = bus.publish([bus.Event("chat_priority_changed", {"n": n}) for n in range(3)])
    sock = connected(web, staff.token)
    sockets.append(sock)
    last = lambda frame: frame.get("id") == ids[-1]  # noqa: E731

    first_sent = time.monotonic()
    sock.send({"type": "resume", "lastEventId": ids[0]})
    sock.wait_for(last, timeout=5)
    for _ in range(5):
        sock.send({"type": "resume", "lastEventId": ids[0]})
        time.sleep(0.02)
    sock.wait_for(last, timeout=5)
    second_done = time.monotonic()
    sock.drain(quiet=2.5)

    # The first resume is served at once; the five sent right after it wait for the interval
    # and collapse into one (the newest): two replays, not six.
    assert second_done - first_sent >= 0.9
    assert len([frame for frame in sock.events if last(frame)]) == 2


def test_a_replay_is_read_in_bounded_steps(app, monkeypatch):
    from supportapp.auth.actor import Actor
    from supportapp.models import Role
    from supportapp.realtime import ws as ws_module
    from supportapp.realtime.ws import REPLAY_STEP, Connection

    with app.app_context():
        ids = bus.publish(
            [bus.Event("chat_priority_changed", {"n": n}) for n in range(2 * REPLAY_STEP + 50)]
        )
        reads: list[int] = []
        real_replay_after = ws_module.replay_after

        def counting_replay_after(client, last_id, batch):
            reads.append(batch)
            return real_replay_after(client, last_id, batch=batch)

        monkeypatch.setattr(ws_module, "replay_after", counting_replay_after)
        fake = _FakeSocket()
        connection = Connection(
            fake,
            Actor(user_id=uuid.uuid4(), role=Role.SUPPORT, claims={"exp": time.time() + 60}),
            send_timeout=5,
        )
        connection.replay(ids[0])
        sent_per_step = []
        while connection._replay is not None:
            before = len(fake.sent)
            connection._replay_step()
            sent_per_step.append(len(fake.sent) - before)

    assert reads == [REPLAY_STEP]
    assert sent_per_step == [REPLAY_STEP, REPLAY_STEP, 49]
    assert [json.loads(text)["id"] for text in fake.sent] == ids[1:]
    fake.close()


class _FakeSocket:
    """What Connection reads of simple_websocket.Server, with a real socket to select on."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.sock, self._peer = socket.socketpair()
        self.sent: list[str] = []
        self.input_buffer: list = []
        self.connected = True

    def send(self, text: str) -> None:
        self.sent.append(text)

    def close(self) -> None:
        self.sock.close()
        self._peer.close()


# --- a client that stops reading ---------------------------------------------------------


@pytest.fixture(scope="module")
def impatient_server(server_environ, log_dir) -> Iterator[WebServer]:
    impatient = WebServer("web-send-timeout", server_environ, log_dir, WS_SEND_TIMEOUT="2")
    with serving(impatient) as (server,):
        yield server


def test_a_client_that_stops_reading_is_dropped_after_the_send_timeout(
    impatient_server, make_account, redis_url
):
    staff = make_account("support")
    raw = websocket.create_connection(
        f"{impatient_server.ws_url}?token={staff.token}",
        timeout=10,
        sockopt=((socket.SOL_SOCKET, socket.SO_RCVBUF, 4096),),
    )
    client = redis.Redis.from_url(redis_url)
    key = sockets_key(staff.id)
    deadline = time.monotonic() + 10
    while client.zcard(key) != 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert client.zcard(key) == 1
    try:
        # Far more than the socket buffers hold, and the client never reads.
        pad = "x" * 60_000
        for n in range(200):
            client.xadd(
                bus.EVENT_STREAM,
                {
                    "event": "chat_priority_changed",
                    "data": json.dumps({"n": n, "pad": pad}),
                    "user": "",
                    "support": "1",
                    "ts": "2026-01-01T00:00:00.000Z",
                },
            )
        started = time.monotonic()
        while client.zcard(key) != 0 and time.monotonic() - started < 15:
            time.sleep(0.1)

        assert client.zcard(key) == 0  # the socket was given up and its slot released
        assert time.monotonic() - started < 15
        assert "dropped a socket" in impatient_server.output(tail=None)
    finally:
        raw.close(timeout=1)

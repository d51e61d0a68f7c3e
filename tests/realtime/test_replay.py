"""Replay after a disconnect: while events keep coming, clients drop and come back (to either
process, with ?lastEventId= or a resume frame) and end up with exactly the stream's events
they may see, in order, each once. Older than the retention → resync_required."""

from __future__ import annotations

import random
import threading
import time

import pytest
import redis

from supportapp.realtime import bus
from tests.realtime.harness import (
    EVENT_STREAM,
    Api,
    Socket,
    WebServer,
    connected,
    stream_entries,
    stream_tail,
    visible_ids,
)

pytestmark = pytest.mark.slow


class Producer(threading.Thread):
    """Writes messages into two sessions, alternating the web process, until stopped."""

    def __init__(self, servers, writers: list[tuple[str, str]]) -> None:
        super().__init__(daemon=True)
        self.apis = [Api(server) for server in servers]
        self.writers = writers  # (token, session id) of each session's owner
        self.stop_flag = threading.Event()
        self.sent = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            while not self.stop_flag.is_set():
                token, session_id = self.writers[self.sent % len(self.writers)]
                api = self.apis[self.sent % len(self.apis)]
                api.user_message(token, session_id, f"mensaje {self.sent}")
                self.sent += 1
                time.sleep(0.01)
        except BaseException as error:  # surfaced by the test
            self.error = error

    def stop(self) -> None:
        self.stop_flag.set()
        self.join(timeout=15)
        assert self.error is None, self.error


class Reader:
    """One client identity that keeps reconnecting and remembers every event it received."""

    def __init__(self, token: str, audience: dict) -> None:
        self.token = token
        self.audience = audience
        self.received: list[dict] = []
        self.sock: Socket | None = None

    @property
    def last_id(self) -> str | None:
        return self.received[-1]["id"] if self.received else None

    def connect(self, server: WebServer, how: str, last_event_id: str | None = None) -> None:
        last = last_event_id or self.last_id
        if how == "query":
            sock = connected(server, self.token, last_event_id=last)
        elif how == "resume":
            sock = connected(server, self.token)
            time.sleep(0.2)  # within the resume window: still answered before any live event
            sock.send({"type": "resume", "lastEventId": last})
        else:  # first-frame auth, then resume
            sock = Socket.open(server)
            sock.send({"type": "auth", "token": self.token})
            sock.send({"type": "resume", "lastEventId": last})
            sock.wait_event("connected")
        self.sock = sock

    def listen(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            frame = self.sock.receive(left)
            if frame is None:
                continue
            assert frame.get("event") != "resync_required", frame
            if "id" in frame:
                self.received.append(frame)

    def drop(self, abruptly: bool) -> None:
        if abruptly:
            self.sock.ws.shutdown()  # no close frame: the server finds out by itself
        else:
            self.sock.close()
        self.sock = None


def test_reconnecting_clients_miss_nothing_and_get_nothing_twice(
    servers, make_account, make_agent, redis_url
):
    rng = random.Random(4)
    alice, bob = make_account("user"), make_account("user")
    agent_account, _agent = make_agent()
    api = Api(servers[0])
    alice_session = api.open_session(alice.token, "hola")
    bob_session = api.open_session(bob.token, "hola")
    start = stream_tail(redis_url)

    readers = [
        Reader(agent_account.token, {"user_id": agent_account.id, "support": True}),
        Reader(alice.token, {"user_id": alice.id, "support": False}),
    ]
    for reader in readers:
        reader.connect(servers[0], "query", last_event_id=start)

    writers = [(alice.token, alice_session["id"]), (bob.token, bob_session["id"])]
    producer = Producer(servers, writers)
    producer.start()
    try:
        for cycle in range(8):
            for reader in readers:
                reader.listen(rng.uniform(0.1, 0.4))
                reader.drop(abruptly=cycle % 2 == 1)
            time.sleep(rng.uniform(0.1, 0.3))  # events go by while nobody listens
            for index, reader in enumerate(readers):
                how = ("query", "resume", "auth-then-resume")[(cycle + index) % 3]
                reader.connect(servers[(cycle + index) % 2], how)
    finally:
        producer.stop()
    assert producer.sent > 50

    entries = stream_entries(redis_url)
    for reader in readers:
        expected = visible_ids(entries, after=start, **reader.audience)
        deadline = time.monotonic() + 15
        while reader.last_id != expected[-1] and time.monotonic() < deadline:
            reader.listen(0.2)
        reader.listen(0.3)
        got = [frame["id"] for frame in reader.received]
        assert len(got) == len(set(got)), "an event arrived twice"
        assert got == expected
        reader.drop(abruptly=False)


def test_resume_older_than_the_retention_gets_resync_required(
    web, make_account, redis_url, sockets
):
    user, staff = make_account("user"), make_account("support")
    api = Api(web)
    session = api.open_session(user.token, "uno")
    first = stream_tail(redis_url)
    for n in range(30):
        api.user_message(user.token, session["id"], f"m{n}")
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    client.xtrim(EVENT_STREAM, maxlen=10, approximate=False)
    retained = [entry_id for entry_id, _fields in client.xrange(EVENT_STREAM)]
    assert len(retained) == 10

    for how in ("query", "resume"):
        if how == "query":
            sock = connected(web, staff.token, last_event_id=first)
        else:
            sock = connected(web, staff.token)
            sock.send({"type": "resume", "lastEventId": first})
        sockets.append(sock)
        notice = sock.wait_event("resync_required")
        assert set(notice) == {"event", "data"} and notice["data"]["reason"]
        assert sock.events == []  # nothing replayed after a gap
        message = api.user_message(user.token, session["id"], f"after {how}")
        assert sock.wait_event("chat_message_received", message__id=message["id"])

    # An id still retained replays normally.
    sock = connected(web, staff.token, last_event_id=retained[0])
    sockets.append(sock)
    sock.wait_for(lambda frame: frame.get("id") == retained[-1])
    assert [f["id"] for f in sock.events[: len(retained) - 1]] == retained[1:]
    assert "resync_required" not in {f["event"] for f in sock.frames}


def test_publishing_trims_the_stream_to_the_configured_retention(
    app, web, make_account, redis_url, sockets, monkeypatch
):
    monkeypatch.setitem(app.config, "EVENT_STREAM_MAXLEN", 10)
    with app.app_context():
        ids = bus.publish([bus.Event("chat_priority_changed", {"n": n}) for n in range(400)])
    assert len(ids) == 400
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    # XADD MAXLEN ~ drops whole macro nodes (100 entries), keeping at least 10.
    assert 10 <= client.xlen(EVENT_STREAM) <= 200
    assert client.xrange(EVENT_STREAM, count=1)[0][0] != ids[0]

    sock = connected(web, make_account("support").token, last_event_id=ids[0])
    sockets.append(sock)
    assert sock.wait_event("resync_required")
    assert sock.events == []


def test_malformed_last_event_id_gets_resync_required(web, make_account, sockets):
    sock = connected(web, make_account("user").token, last_event_id="yesterday")
    sockets.append(sock)
    assert sock.wait_event("resync_required")["data"]["reason"]

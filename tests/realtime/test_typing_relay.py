"""The typing relay's rules on a controlled clock: throttling to one "typing" per second per
socket and session (coalesced, not lost), stops at once, the 6-second expiry, rights checked
again while typing. Publishing and the permission check are replaced by recorders."""

from __future__ import annotations

import json
import uuid

import pytest

from supportapp.models import Role
from supportapp.realtime import typing as relay_module
from supportapp.realtime.typing import MIN_INTERVAL, TYPING_TTL, TypingRelay
from supportapp.services.typing import TypingRoute

SESSION = str(uuid.uuid4())
OWNER = str(uuid.uuid4())


@pytest.fixture
def sent(monkeypatch) -> list[dict]:
    published: list[dict] = []

    def record(signal):
        published.append(
            {**json.loads(signal.frame_json), "_to": (signal.user_id, signal.to_support)}
        )

    monkeypatch.setattr(relay_module, "publish_ephemeral", record)
    return published


@pytest.fixture
def routes(monkeypatch) -> dict:
    """session id → the TypingRoute the permission check returns (None: not allowed)."""
    table: dict = {uuid.UUID(SESSION): TypingRoute(sender="user", owner_id=OWNER)}
    calls = []

    def route(user_id, role, session_id):
        calls.append(session_id)
        return table.get(session_id)

    monkeypatch.setattr(relay_module, "typing_route", route)
    table["calls"] = calls
    return table


def frame(is_typing, session=SESSION):
    return {"type": "typing", "sessionId": session, "isTyping": is_typing}


def relay() -> TypingRelay:
    return TypingRelay(str(uuid.uuid4()), Role.USER)


def states(sent) -> list[bool]:
    return [f["data"]["isTyping"] for f in sent]


def test_a_users_typing_goes_to_staff_without_an_id(sent, routes):
    r = relay()
    assert r.receive(frame(True), now=100.0) is True
    [out] = sent
    assert set(out) == {"event", "data", "timestamp", "_to"}
    assert out["event"] == "typing"
    assert out["data"] == {"sessionId": SESSION, "sender": "user", "isTyping": True}
    assert out["_to"] == ("", True)


def test_an_agents_typing_goes_to_the_sessions_user_with_the_agent_name(sent, routes):
    routes[uuid.UUID(SESSION)] = TypingRoute(sender="support", owner_id=OWNER, agent_name="Ana")
    relay().receive(frame(True), now=1.0)
    assert sent[0]["data"]["agentName"] == "Ana"
    assert sent[0]["_to"] == (OWNER, False)


def test_typing_is_throttled_to_one_per_second_and_coalesced(sent, routes):
    r = relay()
    for step in range(25):  # a frame every 0.1 s for 2.5 s
        r.receive(frame(True), now=10.0 + step * 0.1)
    assert states(sent) == [True, True, True]  # at 10.0, 11.0, 12.0
    r.receive(frame(True), now=12.5)
    assert len(sent) == 3
    assert r.next_deadline() == pytest.approx(13.0)
    r.tick(now=13.0)  # the coalesced refresh goes out when its second is up
    assert states(sent) == [True, True, True, True]
    assert r.next_deadline() == pytest.approx(12.5 + TYPING_TTL)


def test_a_stop_goes_out_at_once_and_only_once(sent, routes):
    r = relay()
    r.receive(frame(True), now=1.0)
    assert r.receive(frame(False), now=1.1) is True
    assert r.receive(frame(False), now=1.2) is False
    assert states(sent) == [True, False]
    # A new "typing" right after the stop waits for its second instead of flapping.
    assert r.receive(frame(True), now=1.3) is False
    r.tick(now=1.0 + MIN_INTERVAL)
    assert states(sent) == [True, False, True]


def test_a_stop_without_a_start_is_not_forwarded(sent, routes):
    assert relay().receive(frame(False), now=1.0) is False
    assert sent == []
    assert routes["calls"] == []


def test_typing_not_refreshed_for_6_seconds_counts_as_stopped(sent, routes):
    r = relay()
    r.receive(frame(True), now=50.0)
    assert r.next_deadline() == pytest.approx(50.0 + TYPING_TTL)
    r.tick(now=55.9)
    assert states(sent) == [True]
    r.tick(now=50.0 + TYPING_TTL)
    assert states(sent) == [True, False]
    assert r.next_deadline() is None


def test_closing_the_socket_stops_what_it_was_typing(sent, routes):
    r = relay()
    r.receive(frame(True), now=1.0)
    r.stop_all()
    assert states(sent) == [True, False]


def test_frames_of_someone_without_rights_are_dropped(sent, routes):
    other = str(uuid.uuid4())
    assert relay().receive(frame(True, session=other), now=1.0) is False
    assert sent == []


@pytest.mark.parametrize(
    "bad",
    [
        {"type": "typing", "sessionId": SESSION},
        {"type": "typing", "sessionId": SESSION, "isTyping": "yes"},
        {"type": "typing", "sessionId": "nope", "isTyping": True},
        {"type": "typing", "sessionId": 5, "isTyping": True},
    ],
)
def test_malformed_frames_are_dropped(sent, routes, bad):
    assert relay().receive(bad, now=1.0) is False
    assert sent == []


def test_rights_are_checked_again_while_typing(sent, routes):
    r = relay()
    r.receive(frame(True), now=1.0)
    routes[uuid.UUID(SESSION)] = None  # e.g. the chat was transferred away
    assert r.receive(frame(True), now=2.5) is False
    assert states(sent) == [True]


def test_each_session_is_throttled_on_its_own(sent, routes):
    second = str(uuid.uuid4())
    routes[uuid.UUID(second)] = TypingRoute(sender="user", owner_id=OWNER)
    r = relay()
    r.receive(frame(True), now=1.0)
    r.receive(frame(True, session=second), now=1.1)
    assert [f["data"]["sessionId"] for f in sent] == [SESSION, second]

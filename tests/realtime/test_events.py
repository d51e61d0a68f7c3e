"""Each event is emitted by the action that causes it, with the REST shapes as its data, on
sockets held by another web process than the one that handled the request."""

from __future__ import annotations

import re
from datetime import datetime

import pytest

from tests.realtime.harness import (
    Api,
    connected,
    stream_entries,
    stream_tail,
    visible_ids,
)
from tests.spec_shapes import FRAME_FIELDS, MESSAGE_FIELDS, SESSION_FIELDS

pytestmark = pytest.mark.slow

STREAM_ID = re.compile(r"^\d+-\d+$")


def _without_messages(session: dict) -> dict:
    return {k: v for k, v in session.items() if k != "messages"}


def _check_frame(frame: dict) -> None:
    assert set(frame) == FRAME_FIELDS, frame
    assert STREAM_ID.match(frame["id"]), frame
    assert frame["timestamp"].endswith("Z")
    datetime.fromisoformat(frame["timestamp"].replace("Z", "+00:00"))


def _check_session(session: dict, expected: dict, messages: list[dict]) -> None:
    assert set(session) == SESSION_FIELDS, session
    assert _without_messages(session) == _without_messages(expected)
    assert session["messages"] == messages


def _message_received_everywhere(sockets, message: dict) -> list[dict]:
    """Each socket's chat_message_received for `message`, carrying the message and its session
    with that message as the most recent one; those sessions."""
    sessions = []
    for ws in sockets:
        data = ws.wait_event("chat_message_received", message__id=message["id"])["data"]
        assert data["message"] == message
        assert data["session"]["messages"] == [message]
        sessions.append(data["session"])
    return sessions


def test_every_action_emits_its_event_with_the_rest_shape(
    servers, make_account, make_agent, redis_url, sockets
):
    web1, web2 = servers
    api = Api(web2)  # every action goes through the other process
    user = make_account("user")
    agent_account, agent = make_agent(max_chats=3)
    start = stream_tail(redis_url)
    user_ws = connected(web1, user.token)
    support_ws = connected(web1, agent_account.token)
    sockets += [user_ws, support_ws]
    both = (user_ws, support_ws)

    # chat_created + chat_message_received (user side), from opening a session with a message
    session = api.open_session(user.token, "Hola, necesito ayuda")
    first = session["messages"][0]
    assert set(first) == MESSAGE_FIELDS
    for ws in both:
        created = ws.wait_event("chat_created")
        assert created["data"] == {"session": session}
        received = ws.wait_event("chat_message_received")
        assert received["data"]["message"] == first
        _check_session(received["data"]["session"], session, [first])
        assert int(received["id"].split("-")[0]) >= int(created["id"].split("-")[0])

    # chat_message_received from the user
    second = api.user_message(user.token, session["id"], "¿Hay alguien?")
    assert second["sender"] == "user"
    for received in _message_received_everywhere(both, second):
        assert received["lastMessageAt"] == second["timestamp"]

    # chat_assigned + chat_status_changed (pending → active), from an assignment
    assigned = api.assign(agent_account.token, session["id"], agent["id"])
    assert assigned["status"] == "active"
    for ws in both:
        data = ws.wait_event("chat_assigned")["data"]
        assert set(data) == {"session", "agent", "previousAgentId"}
        _check_session(data["session"], assigned, [])
        assert data["agent"] == {"id": agent["id"], "name": agent["name"]}
        assert data["previousAgentId"] is None
        data = ws.wait_event("chat_status_changed")["data"]
        assert data == {"session": data["session"], "previousStatus": "pending"}
        _check_session(data["session"], assigned, [])

    # chat_message_received from support
    reply = api.support_message(agent_account.token, session["id"], "Hola, soy soporte")
    assert reply["sender"] == "support"
    for received in _message_received_everywhere(both, reply):
        assert received["supportAgentId"] == agent["id"]

    # chat_priority_changed
    raised = api.set_priority(agent_account.token, session["id"], "high")
    for ws in both:
        data = ws.wait_event("chat_priority_changed")["data"]
        assert set(data) == {"session", "previousPriority"}
        assert data["previousPriority"] == "medium"
        _check_session(data["session"], raised, [])
        assert data["session"]["priority"] == "high"

    # messages_read, from each side marking the other side's messages
    path = f"/api/chat/session/{session['id']}/read"
    assert api.call("PATCH", path, agent_account.token)["marked"] == 2
    for ws in both:
        data = ws.wait_event("messages_read", sender="user")["data"]
        assert data == {"sessionId": session["id"], "sender": "user", "count": 2}
    assert api.call("PATCH", path, user.token)["marked"] == 1
    for ws in both:
        data = ws.wait_event("messages_read", sender="support")["data"]
        assert data == {"sessionId": session["id"], "sender": "support", "count": 1}

    # agent_status_changed: support staff only
    away = api.call("PATCH", "/api/support/agents/me", agent_account.token, {"isActive": False})
    assert support_ws.wait_event("agent_status_changed")["data"] == {"agent": away}

    # chat_status_changed (active → closed), from the owner closing it
    closed = api.close(user.token, session["id"])
    for ws in both:
        data = ws.wait_event("chat_status_changed", previousStatus="active")["data"]
        _check_session(data["session"], closed, [])
        assert data["session"]["status"] == "closed" and data["session"]["closedAt"]

    expected_user = [
        "chat_created",
        "chat_message_received",
        "chat_message_received",
        "chat_assigned",
        "chat_status_changed",
        "chat_message_received",
        "chat_priority_changed",
        "messages_read",
        "messages_read",
        "chat_status_changed",
    ]
    # The agent's own socket made them online first (staff only).
    expected_support = [
        "agent_status_changed",
        *expected_user[:-1],
        "agent_status_changed",
        "chat_status_changed",
    ]
    user_ws.drain()
    support_ws.drain()
    assert [f["event"] for f in user_ws.events] == expected_user
    assert [f["event"] for f in support_ws.events] == expected_support
    online = support_ws.events[0]["data"]["agent"]
    assert (online["id"], online["presence"]) == (agent["id"], "online")

    # Every frame is well formed and is the stream entry with its id, in stream order.
    entries = stream_entries(redis_url)
    by_id = dict(entries)
    audiences = {user_ws: (user.id, False), support_ws: (agent_account.id, True)}
    for ws, (user_id, support) in audiences.items():
        for frame in ws.events:
            _check_frame(frame)
            assert by_id[frame["id"]]["event"] == frame["event"]
        expected = visible_ids(entries, user_id=user_id, support=support, after=start)
        assert [f["id"] for f in ws.events] == expected

"""Who receives what: a user only their own sessions' events, staff every session event and
agent events, across both web processes whichever one handled the request."""

from __future__ import annotations

import pytest

from tests.realtime.harness import (
    Api,
    connected,
    id_key,
    stream_entries,
    stream_tail,
    visible_ids,
)

pytestmark = pytest.mark.slow


def _session_of(frame: dict) -> str | None:
    data = frame["data"]
    return data["session"]["id"] if "session" in data else data.get("sessionId")


def test_users_see_only_their_own_sessions_and_staff_see_everything(
    servers, make_account, make_agent, redis_url, sockets
):
    web1, web2 = servers
    alice, bob = make_account("user"), make_account("user")
    agent_account, _agent = make_agent(max_chats=5)
    admin = make_account("admin")
    start = stream_tail(redis_url)
    alice_ws = connected(web1, alice.token)
    bob_ws = connected(web2, bob.token)
    # The admin listens before the agent connects: the agent's socket makes them online,
    # an event every staff socket open by then receives.
    admin_ws = connected(web2, admin.token)
    agent_ws = connected(web1, agent_account.token)
    sockets += [alice_ws, bob_ws, agent_ws, admin_ws]

    api1, api2 = Api(web1), Api(web2)
    alice_session = api1.open_session(alice.token, "Soy Alice")
    bob_session = api2.open_session(bob.token, "Soy Bob")
    api2.user_message(alice.token, alice_session["id"], "Alice otra vez")
    api1.user_message(bob.token, bob_session["id"], "Bob otra vez")
    api1.support_message(agent_account.token, bob_session["id"], "Hola Bob")
    api2.support_message(agent_account.token, alice_session["id"], "Hola Alice")
    api1.set_priority(admin.token, bob_session["id"], "low")
    api2.call("PATCH", f"/api/chat/session/{alice_session['id']}/read", alice.token)
    api1.call("PATCH", "/api/support/agents/me", agent_account.token, {"isActive": False})
    closed = api2.close(bob.token, bob_session["id"])

    # Staff see the last event; then every socket has had time for everything it will get.
    last = stream_tail(redis_url)
    for ws in (agent_ws, admin_ws):
        ws.wait_for(lambda frame: frame.get("id") == last)
    for ws in sockets:
        ws.drain(quiet=0.5)

    entries = stream_entries(redis_url)
    assert [f["id"] for f in alice_ws.events] == visible_ids(
        entries, user_id=alice.id, support=False, after=start
    )
    assert [f["id"] for f in bob_ws.events] == visible_ids(
        entries, user_id=bob.id, support=False, after=start
    )
    everything = visible_ids(entries, user_id=None, support=True, after=start)
    assert [f["id"] for f in agent_ws.events] == everything
    assert [f["id"] for f in admin_ws.events] == everything

    assert {_session_of(f) for f in alice_ws.events} == {alice_session["id"]}
    assert {_session_of(f) for f in bob_ws.events} == {bob_session["id"]}
    for ws in (alice_ws, bob_ws):
        assert "agent_status_changed" not in {f["event"] for f in ws.events}
    staff_events = [f["event"] for f in agent_ws.events]
    # Coming online (the agent's socket), then going inactive (PATCH /agents/me).
    assert staff_events.count("agent_status_changed") == 2
    assert staff_events.count("chat_created") == 2
    assert bob_ws.events[-1]["data"]["session"]["status"] == closed["status"] == "closed"
    assert alice_ws.events[-1]["event"] == "messages_read"


def test_events_cross_between_web_processes(servers, make_account, sockets):
    """A POST handled by one process reaches the sockets held by the other, both ways."""
    web1, web2 = servers
    user = make_account("user")
    staff = make_account("support")
    on1, on2 = connected(web1, user.token), connected(web2, user.token)
    staff1, staff2 = connected(web1, staff.token), connected(web2, staff.token)
    sockets += [on1, on2, staff1, staff2]

    session = Api(web2).open_session(user.token, "desde el proceso 2")
    message = Api(web1).user_message(user.token, session["id"], "desde el proceso 1")
    for ws in (on1, on2, staff1, staff2):
        assert ws.wait_event("chat_created", session__id=session["id"])
        first = ws.wait_event("chat_message_received", message__message="desde el proceso 2")
        second = ws.wait_event("chat_message_received", message__id=message["id"])
        assert id_key(first["id"]) < id_key(second["id"])
    ids = {tuple(f["id"] for f in ws.events) for ws in (on1, on2, staff1, staff2)}
    assert len(ids) == 1  # the same events, with the same ids, everywhere

"""Internal notes and transfer notes never reach the session's user: not live on their socket,
not in a replay; staff sockets get them."""

from __future__ import annotations

import json

import pytest

from tests.realtime.harness import Api, connected, stream_tail

pytestmark = pytest.mark.slow

SECRET = "nota interna: cliente moroso"
HANDOVER = "pasale el caso a facturación"


def test_notes_never_reach_the_users_socket_or_replay(
    servers, make_account, make_agent, redis_url, sockets
):
    web1, web2 = servers
    user = make_account("user")
    ana_account, ana = make_agent(name="Ana")
    _beto_account, beto = make_agent(name="Beto")
    admin = make_account("admin")
    api1, api2 = Api(web1), Api(web2)
    session = api1.open_session(user.token, "Hola")
    path = f"/api/chat/session/{session['id']}"
    api1.assign(admin.token, session["id"], ana["id"])
    before = stream_tail(redis_url)
    user_ws = connected(web1, user.token)
    staff_ws = connected(web2, admin.token)
    sockets += [user_ws, staff_ws]

    note = api2.call("POST", f"{path}/notes", ana_account.token, {"note": SECRET}, expect=201)
    api1.call(
        "POST",
        f"{path}/transfer",
        ana_account.token,
        {"supportAgentId": beto["id"], "note": HANDOVER},
    )
    api2.user_message(user.token, session["id"], "¿Sigue alguien ahí?")

    added = staff_ws.wait_event("chat_note_added")
    assert added["data"] == {"note": note}
    moved = staff_ws.wait_event("chat_transferred")
    assert moved["data"]["note"] == HANDOVER
    user_ws.wait_event("chat_message_received")  # everything before it has arrived too
    user_ws.drain(0.5)
    live = [f["event"] for f in user_ws.events]
    assert "chat_note_added" not in live and "chat_transferred" not in live
    assert "chat_assigned" in live  # the user learns the new agent, without the note
    assert all(
        SECRET not in json.dumps(f) and HANDOVER not in json.dumps(f) for f in user_ws.frames
    )

    replayed = connected(web2, user.token, last_event_id=before)
    sockets.append(replayed)
    replayed.wait_event("chat_message_received")
    replayed.drain(0.5)
    assert [f["id"] for f in replayed.events] == [f["id"] for f in user_ws.events]
    assert all(
        SECRET not in json.dumps(f) and HANDOVER not in json.dumps(f) for f in replayed.frames
    )
    # The user's REST view has no notes either.
    assert SECRET not in json.dumps(api1.call("GET", f"{path}/messages", user.token))

"""An event whose transaction did not commit never reaches a socket nor the stream."""

from __future__ import annotations

import pytest

from supportapp.extensions import db
from tests.helpers import send
from tests.realtime.harness import Api, connected, id_key, stream_entries, stream_tail

pytestmark = pytest.mark.slow


def _message_texts(ws) -> list[str]:
    """The texts of the messages a socket was told about, in order."""
    return [
        f["data"]["message"]["message"] for f in ws.events if f["event"] == "chat_message_received"
    ]


def _names_after(redis_url: str, start: str) -> list[tuple[str, str]]:
    return [
        (fields["event"], fields["data"])
        for entry_id, fields in stream_entries(redis_url)
        if id_key(entry_id) > id_key(start)
    ]


def test_refused_action_sends_nothing(servers, make_account, make_agent, redis_url, sockets):
    """A support message to a closed session is refused (409): no chat_message_received."""
    web1, web2 = servers
    user = make_account("user")
    agent_account, _agent = make_agent()
    staff_ws = connected(web1, agent_account.token)
    user_ws = connected(web2, user.token)
    sockets += [staff_ws, user_ws]
    api = Api(web2)
    session = api.open_session(user.token, "hola")
    api.close(user.token, session["id"])
    start = stream_tail(redis_url)

    api.chat(
        "POST",
        session["id"],
        "support-message",
        agent_account.token,
        {"message": "demasiado tarde"},
        expect=409,
    )
    marker = api.open_session(user.token, "marcador")

    for ws in (staff_ws, user_ws):
        ws.wait_event("chat_created", session__id=marker["id"])
        texts = _message_texts(ws)
        assert "demasiado tarde" not in texts
    assert not any("demasiado tarde" in data for _name, data in _names_after(redis_url, start))


def test_event_of_a_failed_commit_is_never_published(
    app, client, servers, make_account, redis_url, sockets, monkeypatch
):
    """The service emitted the event, then COMMIT failed: the event must die with it."""
    user = make_account("user")
    staff = make_account("support")
    staff_ws = connected(servers[0], staff.token)
    user_ws = connected(servers[1], user.token)
    sockets += [staff_ws, user_ws]
    session = Api(servers[0]).open_session(user.token, "hola")
    start = stream_tail(redis_url)

    def failing_commit():
        raise RuntimeError("commit failed")

    with monkeypatch.context() as patch:
        patch.setattr(db.session, "commit", failing_commit)
        try:
            response = send(client, session["id"], user, "nunca confirmado")
            assert response.status_code >= 500
        except RuntimeError:
            pass  # propagated by the test client: the transaction failed either way
    with app.app_context():
        db.session.remove()

    after = Api(servers[1]).user_message(user.token, session["id"], "confirmado")
    history = Api(servers[0]).call("GET", f"/api/chat/session/{session['id']}/messages", user.token)
    assert [m["message"] for m in history] == ["hola", "confirmado"]
    for ws in (staff_ws, user_ws):
        ws.wait_event("chat_message_received", message__id=after["id"])
        texts = _message_texts(ws)
        assert texts == ["hola", "confirmado"]
    names = _names_after(redis_url, start)
    assert [name for name, _data in names] == ["chat_message_received"]
    assert not any("nunca confirmado" in data for _name, data in names)

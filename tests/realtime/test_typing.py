"""Typing indicators through two real web processes: who hears whom, the frame's shape (no
id), throttling, the stop on close, and that nothing of it is stored or replayed."""

from __future__ import annotations

import time

import pytest

from tests.realtime.harness import Api, connected, id_key, stream_entries, stream_tail

pytestmark = pytest.mark.slow

QUIET = 0.8  # long enough for a frame that would arrive to have arrived


def typing_frames(sock, quiet: float = QUIET) -> list[dict]:
    return [f for f in sock.drain(quiet) if f.get("event") == "typing"]


def send_typing(sock, session_id: str, is_typing: bool = True) -> None:
    sock.send({"type": "typing", "sessionId": session_id, "isTyping": is_typing})


def stop(chat, sock) -> None:
    """`sock` stops typing; every socket is drained of what that caused."""
    send_typing(sock, chat.session["id"], False)
    for other in chat.all:
        other.drain(0.3)


@pytest.fixture
def chat(servers, make_account, make_agent, sockets):
    """A session of `owner` assigned to agent `ana`, with sockets on both processes for the
    owner, another user, ana, another agent and an admin."""
    web1, web2 = servers

    class Chat:
        owner, stranger = make_account("user"), make_account("user")
        ana_account, ana = make_agent(name="Ana")
        other_account, _other = make_agent(name="Otro")
        admin = make_account("admin", name="Admin Uno")

    api = Api(web1)
    Chat.session = api.open_session(Chat.owner.token, "Hola")
    api.assign(Chat.admin.token, Chat.session["id"], Chat.ana["id"])
    Chat.owner_ws = connected(web1, Chat.owner.token)
    Chat.stranger_ws = connected(web2, Chat.stranger.token)
    Chat.ana_ws = connected(web2, Chat.ana_account.token)
    Chat.other_ws = connected(web1, Chat.other_account.token)
    Chat.admin_ws = connected(web2, Chat.admin.token)
    Chat.all = [Chat.owner_ws, Chat.stranger_ws, Chat.ana_ws, Chat.other_ws, Chat.admin_ws]
    sockets.extend(Chat.all)
    for sock in Chat.all:
        sock.drain(0.3)
    return Chat


def test_typing_reaches_only_the_other_side(chat, redis_url):
    session_id = chat.session["id"]
    before = stream_tail(redis_url)

    # The session's user → every staff socket, on both processes.
    send_typing(chat.owner_ws, session_id)
    for staff in (chat.ana_ws, chat.other_ws, chat.admin_ws):
        got = staff.wait_event("typing", sessionId=session_id)
        assert set(got) == {"event", "data", "timestamp"}  # no id: never replayed
        assert got["data"] == {"sessionId": session_id, "sender": "user", "isTyping": True}
        assert got["timestamp"].endswith("Z")
    assert typing_frames(chat.owner_ws) == []
    assert typing_frames(chat.stranger_ws) == []
    stop(chat, chat.owner_ws)

    # The assigned agent → the session's user only.
    send_typing(chat.ana_ws, session_id)
    got = chat.owner_ws.wait_event("typing", sessionId=session_id)
    assert got["data"] == {
        "sessionId": session_id,
        "sender": "support",
        "isTyping": True,
        "agentName": "Ana",
    }
    for sock in (chat.stranger_ws, chat.other_ws, chat.admin_ws, chat.ana_ws):
        assert typing_frames(sock) == []
    stop(chat, chat.ana_ws)

    # An admin may reply to any session, so may type in it.
    send_typing(chat.admin_ws, session_id)
    got = chat.owner_ws.wait_event("typing", sessionId=session_id)
    assert got["data"]["agentName"] == "Admin Uno"
    stop(chat, chat.admin_ws)

    # Anyone else's frame is dropped: an agent the session is not assigned to, another user.
    send_typing(chat.other_ws, session_id)
    send_typing(chat.stranger_ws, session_id)
    for sock in chat.all:
        assert typing_frames(sock) == []

    # Nothing of it reached the event stream.
    assert all(
        fields["event"] != "typing"
        for entry_id, fields in stream_entries(redis_url)
        if id_key(entry_id) > id_key(before)
    )


def test_typing_is_throttled_and_a_stop_follows_at_once(chat):
    session_id = chat.session["id"]
    started = time.monotonic()
    while time.monotonic() - started < 2.5:  # a frame every 0.1 s for 2.5 s
        send_typing(chat.owner_ws, session_id)
        time.sleep(0.1)
    received = typing_frames(chat.ana_ws, quiet=1.2)
    assert 2 <= len(received) <= 4, received
    assert all(f["data"]["isTyping"] for f in received)

    stopped_at = time.monotonic()
    send_typing(chat.owner_ws, session_id, False)
    stop = chat.ana_ws.wait_event("typing", sessionId=session_id, isTyping=False, timeout=3)
    assert time.monotonic() - stopped_at < 1.0
    assert stop["data"]["sender"] == "user"


def test_closing_a_typing_socket_tells_the_other_side_it_stopped(chat):
    session_id = chat.session["id"]
    send_typing(chat.ana_ws, session_id)
    chat.owner_ws.wait_event("typing", sessionId=session_id, isTyping=True)
    chat.ana_ws.close()
    chat.owner_ws.wait_event("typing", sessionId=session_id, isTyping=False, timeout=5)


def test_typing_is_never_replayed(chat, servers, redis_url, sockets):
    session_id = chat.session["id"]
    before = stream_tail(redis_url)
    send_typing(chat.owner_ws, session_id)
    chat.ana_ws.wait_event("typing", sessionId=session_id)
    Api(servers[0]).user_message(chat.owner.token, session_id, "¿Hay alguien?")
    replayed = connected(servers[1], chat.ana_account.token, last_event_id=before)
    sockets.append(replayed)
    frames = replayed.drain(QUIET)
    assert [f["event"] for f in frames if "id" in f] == ["chat_message_received"]
    assert not any(f.get("event") == "typing" for f in frames)


def test_typing_in_a_closed_session_is_dropped(chat, servers):
    session_id = chat.session["id"]
    Api(servers[0]).close(chat.owner.token, session_id)
    for sock in chat.all:
        sock.drain(0.3)
    send_typing(chat.owner_ws, session_id)
    send_typing(chat.ana_ws, session_id)
    for sock in chat.all:
        assert typing_frames(sock) == []

"""Internal notes (POST/GET /api/chat/session/:id/notes): staff only, never a message."""

from __future__ import annotations

import uuid

import pytest

from tests.api.test_transfers import audit_rows, stream_events
from tests.conftest import assert_error
from tests.helpers import close
from tests.spec_shapes import NOTE_FIELDS

MSG_SESSION_NOT_FOUND = "Sesión de chat no encontrada"
MSG_NOTE_EMPTY = "La nota no puede estar vacía"


def add_note(client, session_id, account, **body):
    headers = account.headers if account else {}
    return client.post(f"/api/chat/session/{session_id}/notes", json=body, headers=headers)


def get_notes(client, session_id, account, **query):
    headers = account.headers if account else {}
    return client.get(f"/api/chat/session/{session_id}/notes", query_string=query, headers=headers)


@pytest.fixture
def chat(make_account, make_agent, open_session):
    class Chat:
        user = make_account("user")
        staff, agent = make_agent(name="Ana")
        admin = make_account("admin")
        session = open_session(user)

    return Chat


@pytest.mark.parametrize("who", ["staff", "admin"])
def test_staff_adds_a_note(app, client, chat, who):
    author = getattr(chat, who)
    response = add_note(client, chat.session["id"], author, note="  cliente VIP  ")

    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["success"] is True
    assert body["message"] == "Nota agregada exitosamente"
    note = body["data"]
    assert set(note) == NOTE_FIELDS
    assert note["sessionId"] == chat.session["id"]
    assert note["authorId"] == author.id
    assert note["authorName"] == author.name
    assert note["note"] == "cliente VIP"
    assert note["createdAt"].endswith("Z")
    [entry] = audit_rows(app, "session.note_added")
    assert entry["after"] == {"length": len("cliente VIP")}


def test_notes_are_listed_oldest_first_and_paginated(client, chat):
    for text in ("uno", "dos", "tres"):
        assert add_note(client, chat.session["id"], chat.staff, note=text).status_code == 201

    response = get_notes(client, chat.session["id"], chat.admin, page=1, limit=2)

    assert response.status_code == 200
    body = response.get_json()
    assert body["message"] == "Notas obtenidas exitosamente"
    assert [n["note"] for n in body["data"]["notes"]] == ["uno", "dos"]
    assert body["data"]["pagination"] == {"page": 1, "limit": 2, "total": 3, "totalPages": 2}
    second = get_notes(client, chat.session["id"], chat.staff, page=2, limit=2).get_json()
    assert [n["note"] for n in second["data"]["notes"]] == ["tres"]


def test_notes_are_not_messages(client, chat):
    add_note(client, chat.session["id"], chat.staff, note="solo para el equipo")
    messages = client.get(
        f"/api/chat/session/{chat.session['id']}/messages", headers=chat.staff.headers
    ).get_json()["data"]
    assert [m["message"] for m in messages] == ["Hola, necesito ayuda"]
    details = client.get(
        f"/api/chat/session/{chat.session['id']}/details", headers=chat.staff.headers
    ).get_json()["data"]
    assert len(details["session"]["messages"]) == 1
    listed = client.get("/api/chat/sessions/all", headers=chat.staff.headers).get_json()
    [session] = listed["data"]["sessions"]
    assert session["unreadCount"] == 1
    assert session["lastMessageAt"] == chat.session["lastMessageAt"]
    own = client.get("/api/chat/sessions", headers=chat.user.headers).get_json()
    assert "solo para el equipo" not in str(own)


def test_note_event_is_for_staff_only(app, client, chat):
    note = add_note(client, chat.session["id"], chat.staff, note="interno").get_json()["data"]
    [(fields, data)] = stream_events(app, "chat_note_added")
    assert fields["user"] == ""
    assert fields["support"] == "1"
    assert data == {"note": note}


def test_the_sessions_user_gets_404_on_both_routes(client, chat):
    add_note(client, chat.session["id"], chat.staff, note="interno")
    assert_error(
        add_note(client, chat.session["id"], chat.user, note="hola"), 404, MSG_SESSION_NOT_FOUND
    )
    assert_error(get_notes(client, chat.session["id"], chat.user), 404, MSG_SESSION_NOT_FOUND)


@pytest.mark.parametrize("session_id", [str(uuid.uuid4()), "nope"])
def test_notes_of_an_unknown_session_return_404(client, chat, session_id):
    assert_error(add_note(client, session_id, chat.staff, note="x"), 404, MSG_SESSION_NOT_FOUND)
    assert_error(get_notes(client, session_id, chat.staff), 404, MSG_SESSION_NOT_FOUND)


def test_notes_without_token_return_401(client, chat):
    assert_error(add_note(client, chat.session["id"], None, note="x"), 401)
    assert_error(get_notes(client, chat.session["id"], None), 401)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, MSG_NOTE_EMPTY),
        ({"note": None}, MSG_NOTE_EMPTY),
        ({"note": ""}, MSG_NOTE_EMPTY),
        ({"note": "   \n\t "}, MSG_NOTE_EMPTY),
        ({"note": "x" * 2001}, "La nota no puede superar los 2000 caracteres"),
        ({"note": 5}, "La nota debe ser texto"),
    ],
)
def test_invalid_note_returns_400_and_stores_nothing(client, chat, body, message):
    response = add_note(client, chat.session["id"], chat.staff, **body)
    assert_error(response, 400, message, field="note")
    assert get_notes(client, chat.session["id"], chat.staff).get_json()["data"]["notes"] == []


def test_a_note_of_2000_characters_is_accepted(client, chat):
    response = add_note(client, chat.session["id"], chat.staff, note="n" * 2000)
    assert response.status_code == 201


@pytest.mark.parametrize("query", [{"page": 0}, {"limit": 101}, {"limit": "x"}])
def test_notes_with_invalid_pagination_return_400(client, chat, query):
    assert_error(get_notes(client, chat.session["id"], chat.staff, **query), 400)


def test_closed_sessions_can_still_be_annotated(client, chat):
    close(client, chat.session["id"], chat.user, expect=200)
    assert add_note(client, chat.session["id"], chat.staff, note="cerrada").status_code == 201

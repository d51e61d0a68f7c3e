"""The user side of chat: opening sessions, listing one's own, writing,
reading, closing and marking read. A session the caller may not see answers 404."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from tests.conftest import assert_error
from tests.helpers import assign, chat_action, close, reply, send
from tests.spec_shapes import MESSAGE_FIELDS, MSG_FORBIDDEN, MSG_SESSION_NOT_FOUND, SESSION_FIELDS

MSG_TOO_MANY_MESSAGES = "Demasiados mensajes enviados. Intenta de nuevo en unos minutos"
MSG_EMPTY = "El mensaje no puede estar vacío"
MSG_TOO_LONG = "El mensaje no puede superar los 1000 caracteres"


# --- helpers ----------------------------------------------------------------------------------


def messages_of(client, account, session_id: str) -> list[dict]:
    response = client.get(f"/api/chat/session/{session_id}/messages", headers=account.headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["data"]


def mark_read(client, account, session_id: str):
    return client.patch(f"/api/chat/session/{session_id}/read", headers=account.headers)


def own_sessions(client, account, **query) -> dict:
    response = client.get("/api/chat/sessions", query_string=query, headers=account.headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["data"]


def stored_message_count(app, session_id: str) -> int:
    from supportapp.extensions import db
    from supportapp.models import ChatMessage

    with app.app_context():
        count = db.session.scalar(
            select(func.count(ChatMessage.id)).where(
                ChatMessage.session_id == uuid.UUID(session_id)
            )
        )
        db.session.remove()
    return count


def agent_load(client, admin, agent_id: str) -> int:
    response = client.get("/api/support/agents", headers=admin.headers)
    assert response.status_code == 200, response.get_json()
    (agent,) = [a for a in response.get_json()["data"] if a["id"] == agent_id]
    return agent["currentActiveChats"]


def unread_count_for_support(client, support, session_id: str) -> int:
    response = client.get("/api/chat/sessions/all", headers=support.headers)
    assert response.status_code == 200, response.get_json()
    (session,) = [s for s in response.get_json()["data"]["sessions"] if s["id"] == session_id]
    return session["unreadCount"]


# --- POST /api/chat/sessions ------------------------------------------------------------------


def test_open_session_with_a_message_returns_201_pending_with_the_trimmed_message(client, user):
    response = client.post(
        "/api/chat/sessions", json={"message": "  Hola, necesito ayuda  "}, headers=user.headers
    )

    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["success"] is True
    session = body["data"]
    assert set(session) == SESSION_FIELDS
    assert session["userId"] == user.id
    assert session["status"] == "pending"
    assert session["priority"] == "medium"
    assert session["supportAgentId"] is None
    assert session["assignedAt"] is None
    assert session["createdAt"].endswith("Z")
    (message,) = session["messages"]
    assert set(message) == MESSAGE_FIELDS
    assert message["message"] == "Hola, necesito ayuda"
    assert message["sender"] == "user"
    assert message["sessionId"] == session["id"]
    assert message["isRead"] is False


@pytest.mark.parametrize("body", [{}, {"message": None}, None], ids=["empty", "null", "no-body"])
def test_open_session_without_a_message_returns_201_with_no_messages(client, app, user, body):
    kwargs = {"json": body} if body is not None else {}

    response = client.post("/api/chat/sessions", headers=user.headers, **kwargs)

    assert response.status_code == 201, response.get_json()
    session = response.get_json()["data"]
    assert session["status"] == "pending"
    assert session["messages"] == []
    assert stored_message_count(app, session["id"]) == 0


@pytest.mark.parametrize(
    ("text", "error"),
    [("", MSG_EMPTY), ("   \n\t ", MSG_EMPTY), ("x" * 1001, MSG_TOO_LONG)],
    ids=["empty", "whitespace", "1001-chars"],
)
def test_open_session_with_a_bad_message_returns_400_and_creates_nothing(client, user, text, error):
    response = client.post("/api/chat/sessions", json={"message": text}, headers=user.headers)

    assert_error(response, 400, error, field="message")
    assert own_sessions(client, user)["pagination"]["total"] == 0


def test_open_session_accepts_1000_chars_after_trimming(client, user):
    text = "  " + "x" * 1000 + "  "

    response = client.post("/api/chat/sessions", json={"message": text}, headers=user.headers)

    assert response.status_code == 201
    assert response.get_json()["data"]["messages"][0]["message"] == "x" * 1000


def test_open_session_with_a_non_string_message_returns_400(client, user):
    response = client.post("/api/chat/sessions", json={"message": 42}, headers=user.headers)

    assert_error(response, 400, field="message")


def test_open_session_without_a_token_returns_401(client):
    assert_error(
        client.post("/api/chat/sessions", json={"message": "hola"}),
        401,
        "Token inválido o expirado",
    )


# --- GET /api/chat/sessions -------------------------------------------------------------------


def test_list_sessions_returns_only_the_callers_own_sessions(
    client, user, other_user, open_session
):
    mine = {open_session(user)["id"], open_session(user, None)["id"]}
    open_session(other_user)

    data = own_sessions(client, user)

    assert {s["id"] for s in data["sessions"]} == mine
    assert all(s["userId"] == user.id for s in data["sessions"])
    assert data["pagination"] == {"page": 1, "limit": 20, "total": 2, "totalPages": 1}


def test_list_sessions_is_paginated(client, user, open_session):
    created = [open_session(user, f"Mensaje {n}")["id"] for n in range(5)]

    first = own_sessions(client, user, page=1, limit=2)
    last = own_sessions(client, user, page=3, limit=2)
    beyond = own_sessions(client, user, page=4, limit=2)

    assert first["pagination"] == {"page": 1, "limit": 2, "total": 5, "totalPages": 3}
    assert last["pagination"] == {"page": 3, "limit": 2, "total": 5, "totalPages": 3}
    assert len(first["sessions"]) == 2
    assert len(last["sessions"]) == 1
    assert beyond["sessions"] == []
    pages = [own_sessions(client, user, page=p, limit=2)["sessions"] for p in (1, 2, 3)]
    assert sorted(s["id"] for page in pages for s in page) == sorted(created)


def test_list_sessions_carries_the_most_recent_message(client, user, open_session):
    session = open_session(user, "primero")
    send(client, session["id"], user, "segundo")

    (listed,) = own_sessions(client, user)["sessions"]

    assert [m["message"] for m in listed["messages"]] == ["segundo"]


@pytest.mark.parametrize("query", [{"page": 0}, {"limit": 0}, {"limit": 101}, {"page": "x"}])
def test_list_sessions_rejects_bad_pagination_with_400(client, user, query):
    response = client.get("/api/chat/sessions", query_string=query, headers=user.headers)

    assert_error(response, 400, field=next(iter(query)))


def test_list_sessions_without_a_token_returns_401(client):
    assert_error(client.get("/api/chat/sessions"), 401, "Token inválido o expirado")


# --- POST /api/chat/session/:id/message -------------------------------------------------------


def test_owner_message_returns_201_with_sender_user(client, user, open_session):
    session = open_session(user)

    response = send(client, session["id"], user, "  ¿Siguen ahí?  ")

    assert response.status_code == 201, response.get_json()
    message = response.get_json()["data"]
    assert set(message) == MESSAGE_FIELDS
    assert message["sender"] == "user"
    assert message["message"] == "¿Siguen ahí?"
    assert message["sessionId"] == session["id"]
    assert message["isRead"] is False
    (listed,) = own_sessions(client, user)["sessions"]
    assert listed["lastMessageAt"] == message["timestamp"]


def test_message_to_another_users_session_returns_404_and_stores_nothing(
    client, app, user, other_user, open_session
):
    session = open_session(user)

    assert_error(send(client, session["id"], other_user), 404, MSG_SESSION_NOT_FOUND)
    assert stored_message_count(app, session["id"]) == 1


def test_support_cannot_write_as_the_user_in_someone_elses_session(
    client, app, user, make_account, open_session
):
    session = open_session(user)
    support = make_account("support")

    assert_error(send(client, session["id"], support), 404, MSG_SESSION_NOT_FOUND)
    assert stored_message_count(app, session["id"]) == 1


@pytest.mark.parametrize("session_id", ["not-a-uuid", "123", str(uuid.uuid4())])
def test_message_to_a_malformed_or_unknown_session_returns_404(client, user, session_id):
    assert_error(send(client, session_id, user), 404, MSG_SESSION_NOT_FOUND)


def test_message_to_a_closed_session_returns_409_and_stores_nothing(
    client, app, user, open_session
):
    session = open_session(user)
    assert close(client, session["id"], user).status_code == 200

    response = send(client, session["id"], user)

    assert_error(response, 409, "La sesión de chat está cerrada")
    assert stored_message_count(app, session["id"]) == 1


@pytest.mark.parametrize(
    ("text", "error"),
    [("", MSG_EMPTY), ("  \n ", MSG_EMPTY), ("y" * 1001, MSG_TOO_LONG), (None, MSG_EMPTY)],
    ids=["empty", "whitespace", "1001-chars", "null"],
)
def test_bad_message_returns_400_and_stores_nothing(client, app, user, open_session, text, error):
    session = open_session(user)

    response = send(client, session["id"], user, text)

    assert_error(response, 400, error, field="message")
    assert stored_message_count(app, session["id"]) == 1


def test_message_without_a_body_returns_400(client, user, open_session):
    session = open_session(user)

    response = chat_action(client, "POST", session["id"], "message", user, {})

    assert_error(response, 400, MSG_EMPTY, field="message")


def test_message_without_a_token_returns_401(client, user, open_session):
    session = open_session(user)

    response = send(client, session["id"], None, "hola")

    assert_error(response, 401, "Token inválido o expirado")


def assert_too_many_messages(response) -> None:
    assert_error(response, 429, MSG_TOO_MANY_MESSAGES)
    assert 1 <= int(response.headers["Retry-After"]) <= 60


def test_the_21st_message_in_a_minute_returns_429_with_retry_after(
    client, app, user, other_user, open_session
):
    session = open_session(user, None)
    for n in range(20):
        assert send(client, session["id"], user, f"mensaje {n}").status_code == 201

    assert_too_many_messages(send(client, session["id"], user, "uno más"))
    assert stored_message_count(app, session["id"]) == 20
    # The budget is per user.
    theirs = open_session(other_user, None)
    assert send(client, theirs["id"], other_user).status_code == 201


def test_user_and_support_messages_share_one_budget(client, make_account, open_session):
    support = make_account("support")
    own = open_session(support, None)
    customer = open_session(make_account("user"), None)
    for n in range(10):
        assert send(client, own["id"], support, f"como usuario {n}").status_code == 201
        assert reply(client, customer["id"], support, f"como soporte {n}").status_code == 201

    assert_too_many_messages(send(client, own["id"], support))
    assert_too_many_messages(reply(client, customer["id"], support, "Te ayudo enseguida"))


# --- GET /api/chat/session/:id/messages -------------------------------------------------------


def test_owner_reads_the_conversation_oldest_first(client, user, make_account, open_session):
    session = open_session(user, "uno")
    support = make_account("support")
    assert send(client, session["id"], user, "dos").status_code == 201
    assert reply(client, session["id"], support, "tres").status_code == 201
    assert send(client, session["id"], user, "cuatro").status_code == 201

    response = client.get(f"/api/chat/session/{session['id']}/messages", headers=user.headers)

    assert response.status_code == 200
    data = response.get_json()["data"]
    assert [m["message"] for m in data] == ["uno", "dos", "tres", "cuatro"]
    assert [m["sender"] for m in data] == ["user", "user", "support", "user"]
    assert [m["timestamp"] for m in data] == sorted(m["timestamp"] for m in data)
    assert all(set(m) == MESSAGE_FIELDS for m in data)


@pytest.mark.parametrize("role", ["support", "admin", "superadmin"])
def test_support_roles_read_any_conversation(client, user, make_account, open_session, role):
    session = open_session(user, "hola")

    data = messages_of(client, make_account(role), session["id"])

    assert [m["message"] for m in data] == ["hola"]


def test_another_user_reading_the_conversation_gets_404(client, user, other_user, open_session):
    session = open_session(user)

    response = client.get(f"/api/chat/session/{session['id']}/messages", headers=other_user.headers)

    assert_error(response, 404, MSG_SESSION_NOT_FOUND)


@pytest.mark.parametrize("session_id", ["nope", str(uuid.uuid4())])
def test_reading_a_malformed_or_unknown_session_returns_404(client, user, session_id):
    response = client.get(f"/api/chat/session/{session_id}/messages", headers=user.headers)

    assert_error(response, 404, MSG_SESSION_NOT_FOUND)


def test_reading_messages_has_no_side_effects(client, user, make_account, open_session):
    session = open_session(user)
    support = make_account("support")

    messages_of(client, support, session["id"])

    assert [m["isRead"] for m in messages_of(client, user, session["id"])] == [False]
    assert unread_count_for_support(client, support, session["id"]) == 1


# --- PATCH /api/chat/session/:id/close --------------------------------------------------------


def test_owner_closes_the_session(client, user, open_session):
    session = open_session(user)

    response = close(client, session["id"], user)

    assert response.status_code == 200, response.get_json()
    data = response.get_json()["data"]
    assert data["status"] == "closed"
    assert data["closedAt"] is not None
    assert set(data) == SESSION_FIELDS
    (listed,) = own_sessions(client, user)["sessions"]
    assert listed["status"] == "closed"


def test_assigned_agent_closes_the_session_and_their_load_drops_at_once(
    client, user, make_account, make_agent, open_session
):
    admin = make_account("admin")
    agent_account, agent = make_agent(max_chats=3)
    session = open_session(user)
    assert assign(client, session["id"], agent["id"], admin, expect=200)["status"] == "active"
    assert agent_load(client, admin, agent["id"]) == 1

    response = close(client, session["id"], agent_account)

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["data"]["status"] == "closed"
    assert agent_load(client, admin, agent["id"]) == 0


def test_owner_closing_an_assigned_session_frees_the_agent(
    client, user, make_account, make_agent, open_session
):
    admin = make_account("admin")
    _agent_account, agent = make_agent(max_chats=1)
    session = open_session(user)
    assign(client, session["id"], agent["id"], admin, expect=200)

    assert close(client, session["id"], user).status_code == 200

    assert agent_load(client, admin, agent["id"]) == 0


@pytest.mark.parametrize("role", ["admin", "superadmin"])
def test_admins_close_any_session(client, user, make_account, open_session, role):
    session = open_session(user)

    response = close(client, session["id"], make_account(role))

    assert response.status_code == 200
    assert response.get_json()["data"]["status"] == "closed"


def test_support_user_who_is_not_the_assigned_agent_gets_403(
    client, user, make_account, make_agent, open_session
):
    admin = make_account("admin")
    _assigned, agent = make_agent()
    outsider, _their_agent = make_agent()
    session = open_session(user)
    assign(client, session["id"], agent["id"], admin, expect=200)

    assert_error(close(client, session["id"], outsider), 403, MSG_FORBIDDEN)
    assert own_sessions(client, user)["sessions"][0]["status"] == "active"


def test_support_user_cannot_close_an_unassigned_session(client, user, make_account, open_session):
    session = open_session(user)

    assert_error(close(client, session["id"], make_account("support")), 403, MSG_FORBIDDEN)
    assert own_sessions(client, user)["sessions"][0]["status"] == "pending"


def test_another_user_closing_gets_404(client, user, other_user, open_session):
    session = open_session(user)

    assert_error(close(client, session["id"], other_user), 404, MSG_SESSION_NOT_FOUND)
    assert own_sessions(client, user)["sessions"][0]["status"] == "pending"


def test_closing_a_closed_session_returns_409(client, user, open_session):
    session = open_session(user)
    assert close(client, session["id"], user).status_code == 200

    assert_error(close(client, session["id"], user), 409, "La sesión de chat ya está cerrada")


@pytest.mark.parametrize("session_id", ["zzz", str(uuid.uuid4())])
def test_closing_a_malformed_or_unknown_session_returns_404(client, user, session_id):
    assert_error(close(client, session_id, user), 404, MSG_SESSION_NOT_FOUND)


# --- PATCH /api/chat/session/:id/read ---------------------------------------------------------


def test_support_marks_the_users_messages_read(client, user, make_account, open_session):
    session = open_session(user, "uno")
    send(client, session["id"], user, "dos")
    support = make_account("support")
    assert reply(client, session["id"], support, "Te ayudo enseguida").status_code == 201
    assert unread_count_for_support(client, support, session["id"]) == 2

    response = mark_read(client, support, session["id"])

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["data"] == {"marked": 2}
    read = {m["message"]: m["isRead"] for m in messages_of(client, user, session["id"])}
    assert read == {"uno": True, "dos": True, "Te ayudo enseguida": False}
    assert unread_count_for_support(client, support, session["id"]) == 0


def test_owner_marks_the_support_messages_read(client, user, make_account, open_session):
    session = open_session(user, "hola")
    support = make_account("support")
    reply(client, session["id"], support, "primera respuesta")
    reply(client, session["id"], support, "segunda respuesta")

    response = mark_read(client, user, session["id"])

    assert response.status_code == 200
    assert response.get_json()["data"] == {"marked": 2}
    by_sender = {
        m["message"]: (m["sender"], m["isRead"]) for m in messages_of(client, user, session["id"])
    }
    assert by_sender == {
        "hola": ("user", False),
        "primera respuesta": ("support", True),
        "segunda respuesta": ("support", True),
    }
    assert unread_count_for_support(client, support, session["id"]) == 1


def test_marking_read_twice_marks_nothing_the_second_time(client, user, make_account, open_session):
    session = open_session(user)
    support = make_account("support")
    assert mark_read(client, support, session["id"]).get_json()["data"] == {"marked": 1}

    assert mark_read(client, support, session["id"]).get_json()["data"] == {"marked": 0}


def test_another_user_marking_read_gets_404(client, user, other_user, open_session):
    session = open_session(user)

    assert_error(mark_read(client, other_user, session["id"]), 404, MSG_SESSION_NOT_FOUND)
    assert [m["isRead"] for m in messages_of(client, user, session["id"])] == [False]


def test_opening_a_session_with_a_message_spends_the_message_budget(
    client, app, monkeypatch, user, open_session
):
    monkeypatch.setitem(app.config, "MESSAGE_RATE_LIMIT", "3/minute")
    open_session(user, "primero")
    session = open_session(user, "segundo")
    assert send(client, session["id"], user, "tercero").status_code == 201

    response = client.post("/api/chat/sessions", json={"message": "cuarto"}, headers=user.headers)

    assert_too_many_messages(response)
    assert own_sessions(client, user)["pagination"]["total"] == 2
    # Opening without a message writes no message, so it is not counted.
    assert client.post("/api/chat/sessions", json={}, headers=user.headers).status_code == 201


def test_message_with_a_nul_character_returns_400_and_stores_nothing(
    client, app, user, open_session
):
    session = open_session(user)

    response = send(client, session["id"], user, "hola\x00mundo")

    assert_error(response, 400, field="message")
    assert stored_message_count(app, session["id"]) == 1
    opening = client.post("/api/chat/sessions", json={"message": "\x00"}, headers=user.headers)
    assert_error(opening, 400, field="message")

"""POST /api/chat/session/:id/support-message."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from supportapp.extensions import db
from tests.conftest import assert_error
from tests.helpers import assert_taken_by, assign, chat_action, close, fetch_one, load_of, reply
from tests.spec_shapes import MESSAGE_FIELDS

SUPPORT_ROLES = ("support", "admin", "superadmin")
MSG_SENT = "Mensaje enviado exitosamente"
MSG_EMPTY = "El mensaje no puede estar vacío"
MSG_TOO_LONG = "El mensaje no puede superar los 1000 caracteres"
MSG_TOO_MANY = "Demasiados mensajes enviados. Intenta de nuevo en unos minutos"
OLD_TIME = datetime(2024, 1, 1, 8, 0, tzinfo=UTC)


# --- helpers ----------------------------------------------------------------------------------


def session_state(app, session_id: str) -> dict:
    return fetch_one(
        app,
        "SELECT status::text AS status, support_agent_id, assigned_at, last_message_at,"
        " (SELECT count(*) FROM chat_messages m WHERE m.session_id = s.id) AS messages"
        " FROM chat_sessions s WHERE id = :id",
        id=session_id,
    )


def support_message_count(app) -> int:
    return fetch_one(app, "SELECT count(*) AS n FROM chat_messages WHERE sender = 'support'")["n"]


def age_session(app, session_id: str) -> None:
    with app.app_context():
        db.session.execute(
            text("UPDATE chat_sessions SET last_message_at = :t WHERE id = :id"),
            {"t": OLD_TIME, "id": session_id},
        )
        db.session.commit()
        db.session.remove()


# --- success ----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", SUPPORT_ROLES)
def test_support_message_returns_201_for_each_support_role(
    app, client, make_account, open_session, role
):
    session = open_session(make_account("user"))

    response = reply(client, session["id"], make_account(role))

    assert response.status_code == 201
    body = response.get_json()
    assert body["success"] is True
    assert body["message"] == MSG_SENT
    data = body["data"]
    assert set(data) == MESSAGE_FIELDS
    assert data["attachments"] == []
    assert uuid.UUID(data["id"])
    assert data["sessionId"] == session["id"]
    assert data["message"] == "Hola, ¿en qué puedo ayudarte?"
    assert data["sender"] == "support"
    assert data["isRead"] is False
    assert data["timestamp"].endswith("Z")
    assert session_state(app, session["id"])["messages"] == 2


def test_support_message_appears_in_the_conversation(client, make_account, open_session):
    user, support = make_account("user"), make_account("support")
    session = open_session(user, message="Tengo un problema")
    sent = reply(client, session["id"], support, "Cuéntame").get_json()["data"]

    history = client.get(f"/api/chat/session/{session['id']}/messages", headers=user.headers)

    assert [(m["sender"], m["message"]) for m in history.get_json()["data"]] == [
        ("user", "Tengo un problema"),
        ("support", "Cuéntame"),
    ]
    assert history.get_json()["data"][-1] == sent


def test_support_message_is_stored_trimmed(app, client, make_account, open_session):
    session = open_session(make_account("user"))

    response = reply(client, session["id"], make_account("support"), "  \n Hola \t ")

    assert response.get_json()["data"]["message"] == "Hola"
    stored = fetch_one(
        app,
        "SELECT message FROM chat_messages WHERE id = :id",
        id=response.get_json()["data"]["id"],
    )
    assert stored["message"] == "Hola"


def test_support_message_of_exactly_1000_characters_is_accepted(client, make_account, open_session):
    session = open_session(make_account("user"))
    response = reply(client, session["id"], make_account("support"), "a" * 1000)
    assert response.status_code == 201
    assert len(response.get_json()["data"]["message"]) == 1000


def test_support_message_length_is_counted_after_trimming(client, make_account, open_session):
    session = open_session(make_account("user"))
    response = reply(client, session["id"], make_account("support"), "   " + "b" * 1000 + "   ")
    assert response.status_code == 201
    assert response.get_json()["data"]["message"] == "b" * 1000


def test_support_message_updates_last_message_at(app, client, make_account, open_session):
    support = make_account("support")
    session = open_session(make_account("user"))
    age_session(app, session["id"])

    sent = reply(client, session["id"], support).get_json()["data"]

    assert session_state(app, session["id"])["last_message_at"] > OLD_TIME
    details = client.get(f"/api/chat/session/{session['id']}/details", headers=support.headers)
    assert details.get_json()["data"]["session"]["lastMessageAt"] == sent["timestamp"]


def test_first_reply_to_pending_session_assigns_it_to_the_replying_agent(
    app, client, make_account, make_agent, open_session
):
    agent_account, agent = make_agent(max_chats=2)
    session = open_session(make_account("user"))

    assert reply(client, session["id"], agent_account).status_code == 201

    assert_taken_by(app, session["id"], agent["id"], load=1)


def test_reply_to_pending_session_by_agent_at_capacity_leaves_it_pending(
    app, client, make_account, make_agent, open_session
):
    agent_account, agent = make_agent(max_chats=1)
    user = make_account("user")
    assign(client, open_session(user)["id"], agent["id"], agent_account, expect=200)
    session = open_session(user)

    assert reply(client, session["id"], agent_account).status_code == 201

    state = session_state(app, session["id"])
    assert state["status"] == "pending"
    assert state["support_agent_id"] is None
    assert state["messages"] == 2
    assert load_of(app, agent["id"]) == 1


def test_reply_to_pending_session_by_inactive_agent_leaves_it_pending(
    app, client, make_account, make_agent, open_session
):
    agent_account, agent = make_agent(max_chats=2)
    away = client.patch(
        "/api/support/agents/me", json={"isActive": False}, headers=agent_account.headers
    )
    assert away.status_code == 200
    session = open_session(make_account("user"))

    assert reply(client, session["id"], agent_account).status_code == 201

    assert session_state(app, session["id"])["status"] == "pending"
    assert load_of(app, agent["id"]) == 0


@pytest.mark.parametrize("role", SUPPORT_ROLES)
def test_reply_by_staff_without_agent_profile_leaves_session_pending(
    app, client, make_account, open_session, role
):
    session = open_session(make_account("user"))
    assert reply(client, session["id"], make_account(role)).status_code == 201
    state = session_state(app, session["id"])
    assert state["status"] == "pending"
    assert state["support_agent_id"] is None


def test_reply_to_session_of_another_agent_does_not_take_it(
    app, client, make_account, make_agent, open_session
):
    owner_account, owner = make_agent(max_chats=2)
    helper_account, helper = make_agent(max_chats=2)
    session = open_session(make_account("user"))
    assign(client, session["id"], owner["id"], owner_account, expect=200)

    assert reply(client, session["id"], helper_account).status_code == 201

    assert str(session_state(app, session["id"])["support_agent_id"]) == owner["id"]
    assert (load_of(app, owner["id"]), load_of(app, helper["id"])) == (1, 0)


def test_later_replies_by_the_assigned_agent_keep_the_counter(
    app, client, make_account, make_agent, open_session
):
    agent_account, agent = make_agent(max_chats=2)
    session = open_session(make_account("user"))
    for _ in range(3):
        assert reply(client, session["id"], agent_account).status_code == 201
    assert load_of(app, agent["id"]) == 1


# --- failures ---------------------------------------------------------------------------------


def test_support_message_with_user_token_returns_403(app, client, make_account, open_session):
    user = make_account("user")
    session = open_session(user)

    response = reply(client, session["id"], user)

    assert_error(response, 403, "No tienes permisos para realizar esta acción")
    assert session_state(app, session["id"])["messages"] == 1


def test_support_message_without_token_returns_401(app, client, make_account, open_session):
    session = open_session(make_account("user"))
    assert_error(reply(client, session["id"], None), 401, "Token inválido o expirado")
    assert session_state(app, session["id"])["messages"] == 1


def test_support_message_to_unknown_session_returns_404(app, client, make_account):
    response = reply(client, str(uuid.uuid4()), make_account("support"))
    assert_error(response, 404, "Sesión de chat no encontrada")
    assert support_message_count(app) == 0


def test_support_message_to_malformed_session_id_returns_404(client, make_account):
    assert_error(reply(client, "abc", make_account("support")), 404, "Sesión de chat no encontrada")


def test_support_message_to_closed_session_returns_409(app, client, make_account, open_session):
    user, support = make_account("user"), make_account("support")
    session = open_session(user)
    close(client, session["id"], user, expect=200)
    before = session_state(app, session["id"])

    response = reply(client, session["id"], support)

    assert_error(response, 409, "La sesión de chat está cerrada")
    assert session_state(app, session["id"]) == before


@pytest.mark.parametrize(
    ("message", "error"),
    [
        ("", MSG_EMPTY),
        ("   ", MSG_EMPTY),
        ("\n\t ", MSG_EMPTY),
        (None, MSG_EMPTY),
        ("x" * 1001, MSG_TOO_LONG),
        (" " + "x" * 1001 + " ", MSG_TOO_LONG),
        (42, "El mensaje debe ser texto"),
        (["hola"], "El mensaje debe ser texto"),
    ],
)
def test_support_message_invalid_text_returns_400(
    app, client, make_account, open_session, message, error
):
    session = open_session(make_account("user"))
    age_session(app, session["id"])
    before = session_state(app, session["id"])

    response = reply(client, session["id"], make_account("support"), message)

    body = assert_error(response, 400, error, field="message")
    assert body["errors"]["message"] == [error]
    assert session_state(app, session["id"]) == before


def test_support_message_without_message_field_returns_400(app, client, make_account, open_session):
    session = open_session(make_account("user"))
    response = chat_action(
        client, "POST", session["id"], "support-message", make_account("support"), {}
    )
    assert_error(response, 400, MSG_EMPTY, field="message")
    assert session_state(app, session["id"])["messages"] == 1


def test_support_message_with_non_json_body_returns_400(app, client, make_account, open_session):
    session = open_session(make_account("user"))
    response = client.post(
        f"/api/chat/session/{session['id']}/support-message",
        data="hola",
        content_type="text/plain",
        headers=make_account("support").headers,
    )
    assert_error(response, 400)
    assert session_state(app, session["id"])["messages"] == 1


def test_invalid_message_to_pending_session_does_not_assign_it(
    app, client, make_account, make_agent, open_session
):
    agent_account, agent = make_agent(max_chats=2)
    session = open_session(make_account("user"))
    assert_error(reply(client, session["id"], agent_account, "  "), 400, field="message")
    assert session_state(app, session["id"])["status"] == "pending"
    assert load_of(app, agent["id"]) == 0


# --- rate limit -------------------------------------------------------------------------------


def test_21st_support_message_in_a_minute_returns_429(app, client, make_account, open_session):
    support = make_account("support")
    session = open_session(make_account("user"))
    for i in range(20):
        response = reply(client, session["id"], support, f"Mensaje {i}")
        assert response.status_code == 201, (i, response.get_json())

    response = reply(client, session["id"], support, "Uno de más")

    assert_error(response, 429, MSG_TOO_MANY)
    retry_after = int(response.headers["Retry-After"])
    assert 1 <= retry_after <= 60
    assert support_message_count(app) == 20


def test_message_rate_limit_counts_across_sessions(app, client, make_account, open_session):
    support, user = make_account("support"), make_account("user")
    sessions = [open_session(user)["id"] for _ in range(2)]
    for i in range(20):
        assert reply(client, sessions[i % 2], support, f"Mensaje {i}").status_code == 201
    assert_error(reply(client, sessions[0], support), 429, MSG_TOO_MANY)
    assert_error(reply(client, sessions[1], support), 429, MSG_TOO_MANY)
    assert support_message_count(app) == 20


def test_message_rate_limit_is_per_user(client, make_account, open_session):
    busy, other = make_account("support"), make_account("support")
    session = open_session(make_account("user"))
    for i in range(20):
        assert reply(client, session["id"], busy, f"Mensaje {i}").status_code == 201
    assert_error(reply(client, session["id"], busy), 429, MSG_TOO_MANY)
    assert reply(client, session["id"], other).status_code == 201


# --- concurrency ------------------------------------------------------------------------------


def test_concurrent_first_replies_take_only_as_many_sessions_as_capacity(
    app, client, make_account, make_agent, open_session
):
    """Ten first replies at once from one agent of capacity 2 to ten pending sessions: every
    reply is sent, exactly two sessions become the agent's, the rest stay in the queue."""
    agent_account, agent = make_agent(max_chats=2)
    user = make_account("user")
    session_ids = [open_session(user)["id"] for _ in range(10)]
    start = threading.Barrier(len(session_ids))

    def attempt(session_id: str) -> int:
        own_client = app.test_client()
        start.wait(timeout=30)
        return reply(own_client, session_id, agent_account).status_code

    with ThreadPoolExecutor(max_workers=len(session_ids)) as pool:
        statuses = list(pool.map(attempt, session_ids))

    assert statuses == [201] * len(session_ids)
    states = [session_state(app, sid) for sid in session_ids]
    assert [s["messages"] for s in states] == [2] * len(session_ids)
    taken = [s for s in states if s["status"] == "active"]
    assert len(taken) == 2
    assert {str(s["support_agent_id"]) for s in taken} == {agent["id"]}
    assert sum(s["status"] == "pending" for s in states) == 8
    assert load_of(app, agent["id"]) == 2

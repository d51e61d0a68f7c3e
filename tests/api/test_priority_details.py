"""PATCH priority, GET details and GET messages for support roles."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

from supportapp.extensions import db
from tests.conftest import assert_error
from tests.helpers import assert_ok, assign, chat_action, close, set_priority
from tests.spec_shapes import (
    DETAILS_FIELDS,
    MESSAGE_FIELDS,
    MSG_FORBIDDEN,
    MSG_SESSION_NOT_FOUND,
    MSG_UNAUTHORIZED,
    SESSION_FIELDS,
    SESSION_USER_FIELDS,
)

SUPPORT_ROLES = ("support", "admin", "superadmin")
MSG_PRIORITY = "La prioridad debe ser low, medium o high"


# --- helpers ----------------------------------------------------------------------------------


def details(client, session_id, account):
    return client.get(
        f"/api/chat/session/{session_id}/details", headers=account.headers if account else {}
    )


def messages(client, session_id, account):
    return client.get(
        f"/api/chat/session/{session_id}/messages", headers=account.headers if account else {}
    )


def stored_priority(app, session_id: str) -> str:
    with app.app_context():
        value = db.session.scalar(
            text("SELECT priority::text FROM chat_sessions WHERE id = :id"), {"id": session_id}
        )
        db.session.remove()
    return value


def conversation(client, session_id, user, support, count: int) -> list[str]:
    """Alternate user and support messages; returns their texts in the order sent."""
    texts = []
    for i in range(count):
        if i % 2:
            url, account, body = "support-message", support, f"Respuesta {i}"
        else:
            url, account, body = "message", user, f"Pregunta {i}"
        response = client.post(
            f"/api/chat/session/{session_id}/{url}", json={"message": body}, headers=account.headers
        )
        assert response.status_code == 201, response.get_json()
        texts.append(body)
    return texts


# --- PATCH /api/chat/session/:id/priority -----------------------------------------------------


@pytest.mark.parametrize("role", SUPPORT_ROLES)
def test_priority_change_returns_200_for_each_support_role(
    app, client, make_account, open_session, role
):
    session = open_session(make_account("user"), message="Hola")

    response = set_priority(client, session["id"], "high", make_account(role))

    assert response.status_code == 200
    body = response.get_json()
    assert body["success"] is True
    assert body["message"] == "Prioridad actualizada exitosamente"
    assert body["data"]["id"] == session["id"]
    assert body["data"]["priority"] == "high"
    assert set(body["data"]) == SESSION_FIELDS
    assert [m["message"] for m in body["data"]["messages"]] == ["Hola"]
    assert stored_priority(app, session["id"]) == "high"


@pytest.mark.parametrize("priority", ["low", "medium", "high"])
def test_priority_accepts_each_spec_value(app, client, make_account, open_session, priority):
    session = open_session(make_account("user"))
    response = set_priority(client, session["id"], priority, make_account("support"))
    assert response.status_code == 200
    assert response.get_json()["data"]["priority"] == priority
    assert stored_priority(app, session["id"]) == priority


def test_priority_of_active_session_can_change(app, client, make_account, make_agent, open_session):
    agent_account, agent = make_agent(max_chats=2)
    session = open_session(make_account("user"))
    assign(client, session["id"], agent["id"], agent_account, expect=200)

    response = set_priority(client, session["id"], "low", agent_account)

    assert response.status_code == 200
    assert response.get_json()["data"]["status"] == "active"
    assert response.get_json()["data"]["supportAgentId"] == agent["id"]
    assert stored_priority(app, session["id"]) == "low"


def test_setting_the_same_priority_succeeds_unchanged(app, client, make_account, open_session):
    session = open_session(make_account("user"))
    response = set_priority(client, session["id"], "medium", make_account("support"))
    assert response.status_code == 200
    assert response.get_json()["data"]["priority"] == "medium"
    assert stored_priority(app, session["id"]) == "medium"


def test_counters_stay_exact_through_messages_priority_and_close(
    app, client, make_account, make_agent, open_session
):
    """Messages only move last_message_at and unread counts (the counter trigger exits
    early); assignment, priority and closing change counted columns."""
    from supportapp.analytics.counters import CHECK_SQL, check_counters

    def assert_exact() -> None:
        with app.app_context():
            assert check_counters() == dict.fromkeys(CHECK_SQL, 0)
            db.session.remove()

    agent_account, agent = make_agent(max_chats=2)
    user = make_account("user")
    session = open_session(user, message="Hola")
    conversation(client, session["id"], user, agent_account, 3)  # the first reply assigns
    assert (
        details(client, session["id"], agent_account).get_json()["data"]["agent"]["id"]
        == (agent["id"])
    )
    assert_exact()
    for priority in ("high", "high", "low"):
        assert set_priority(client, session["id"], priority, agent_account).status_code == 200
        conversation(client, session["id"], user, agent_account, 2)
        assert_exact()
    close(client, session["id"], agent_account, expect=200)
    assert_exact()
    me = client.get("/api/support/agents/me", headers=agent_account.headers).get_json()["data"]
    assert (me["id"], me["currentActiveChats"]) == (agent["id"], 0)


@pytest.mark.parametrize("value", ["urgent", "HIGH", "", " high", None, 3, ["high"], {"v": 1}])
def test_invalid_priority_returns_400_and_leaves_priority_unchanged(
    app, client, make_account, open_session, value
):
    support = make_account("support")
    session = open_session(make_account("user"))
    assert set_priority(client, session["id"], "high", support).status_code == 200

    response = set_priority(client, session["id"], value, support)

    body = assert_error(response, 400, MSG_PRIORITY, field="priority")
    assert body["errors"]["priority"] == [MSG_PRIORITY]
    assert body["message"] == [MSG_PRIORITY]
    assert stored_priority(app, session["id"]) == "high"


def test_missing_priority_returns_400(app, client, make_account, open_session):
    session = open_session(make_account("user"))
    response = chat_action(client, "PATCH", session["id"], "priority", make_account("support"), {})
    body = assert_error(response, 400, MSG_PRIORITY, field="priority")
    assert body["errors"]["priority"] == [MSG_PRIORITY]
    assert stored_priority(app, session["id"]) == "medium"


def test_priority_of_unknown_session_returns_404(client, make_account):
    response = set_priority(client, str(uuid.uuid4()), "high", make_account("support"))
    assert_error(response, 404, MSG_SESSION_NOT_FOUND)


def test_priority_of_malformed_session_id_returns_404(client, make_account):
    assert_error(
        set_priority(client, "123", "high", make_account("admin")), 404, MSG_SESSION_NOT_FOUND
    )


def test_priority_of_closed_session_returns_409(app, client, make_account, open_session):
    user = make_account("user")
    session = open_session(user)
    close(client, session["id"], user, expect=200)

    response = set_priority(client, session["id"], "high", make_account("support"))

    assert_error(response, 409, "La sesión de chat está cerrada")
    assert stored_priority(app, session["id"]) == "medium"


def test_priority_change_by_user_returns_403(app, client, make_account, open_session):
    user = make_account("user")
    session = open_session(user)
    assert_error(set_priority(client, session["id"], "high", user), 403, MSG_FORBIDDEN)
    assert stored_priority(app, session["id"]) == "medium"


def test_priority_change_without_token_returns_401(app, client, make_account, open_session):
    session = open_session(make_account("user"))
    assert_error(set_priority(client, session["id"], "high", None), 401, MSG_UNAUTHORIZED)
    assert stored_priority(app, session["id"]) == "medium"


# --- GET /api/chat/session/:id/details --------------------------------------------------------


@pytest.mark.parametrize("role", SUPPORT_ROLES)
def test_details_returns_session_user_and_null_agent_for_each_role(
    client, make_account, open_session, role
):
    user = make_account("user", name="Ana Pérez")
    session = open_session(user, message="Necesito ayuda")

    response = details(client, session["id"], make_account(role))

    data = assert_ok(response, 200, "Detalles obtenidos exitosamente")
    assert set(data) == DETAILS_FIELDS
    assert data["transfers"] == []
    assert data["rating"] is None  # post-chat rating, once the user gives one
    assert data["user"] == {
        "id": user.id,
        "email": user.email,
        "name": "Ana Pérez",
        "isGuest": False,
        "sessionsCount": 1,
        "lastSessionAt": session["createdAt"],
    }
    assert set(data["user"]) == SESSION_USER_FIELDS
    assert data["agent"] is None
    assert set(data["session"]) == SESSION_FIELDS
    assert data["session"]["id"] == session["id"]
    assert data["session"]["status"] == "pending"
    assert [m["message"] for m in data["session"]["messages"]] == ["Necesito ayuda"]


def test_details_include_the_full_history_oldest_first(
    client, make_account, make_agent, open_session
):
    user = make_account("user")
    agent_account, _agent = make_agent(max_chats=2)
    session = open_session(user, message="Hola")
    texts = ["Hola", *conversation(client, session["id"], user, agent_account, 6)]

    data = details(client, session["id"], agent_account).get_json()["data"]

    history = data["session"]["messages"]
    assert [m["message"] for m in history] == texts
    assert [m["sender"] for m in history] == ["user"] + ["user", "support"] * 3
    timestamps = [m["timestamp"] for m in history]
    assert timestamps == sorted(timestamps)
    assert {m["sessionId"] for m in history} == {session["id"]}
    for message in history:
        assert set(message) == MESSAGE_FIELDS
        assert message["attachments"] == []
    assert data["session"]["lastMessageAt"] == timestamps[-1]


def test_details_name_the_assigned_agent(client, make_account, make_agent, open_session):
    agent_account, agent = make_agent(max_chats=2, name="Agente Luis")
    session = open_session(make_account("user"))
    assign(client, session["id"], agent["id"], agent_account, expect=200)

    data = details(client, session["id"], make_account("admin")).get_json()["data"]

    assert data["agent"] == {"id": agent["id"], "name": "Agente Luis"}
    assert data["session"]["supportAgentId"] == agent["id"]
    assert data["session"]["status"] == "active"
    assert data["session"]["assignedAt"] is not None


def test_details_of_session_without_messages_has_empty_history(client, make_account, open_session):
    session = open_session(make_account("user"), message=None)
    data = details(client, session["id"], make_account("support")).get_json()["data"]
    assert data["session"]["messages"] == []


def test_details_of_closed_session_are_still_readable(client, make_account, open_session):
    user = make_account("user")
    session = open_session(user)
    close(client, session["id"], user, expect=200)
    response = details(client, session["id"], make_account("support"))
    assert response.status_code == 200
    assert response.get_json()["data"]["session"]["status"] == "closed"


def test_details_have_no_side_effects(client, make_account, open_session):
    support = make_account("support")
    session = open_session(make_account("user"))
    first = details(client, session["id"], support).get_json()["data"]
    second = details(client, session["id"], support).get_json()["data"]
    assert first == second
    assert first["session"]["messages"][0]["isRead"] is False


def test_details_of_unknown_session_returns_404(client, make_account):
    assert_error(
        details(client, str(uuid.uuid4()), make_account("support")), 404, MSG_SESSION_NOT_FOUND
    )


def test_details_of_malformed_session_id_returns_404(client, make_account):
    assert_error(details(client, "nope", make_account("support")), 404, MSG_SESSION_NOT_FOUND)


def test_details_for_user_role_returns_403_even_for_the_owner(client, make_account, open_session):
    user = make_account("user")
    session = open_session(user)
    assert_error(details(client, session["id"], user), 403, MSG_FORBIDDEN)


def test_details_without_token_returns_401(client, make_account, open_session):
    session = open_session(make_account("user"))
    assert_error(details(client, session["id"], None), 401, MSG_UNAUTHORIZED)


# --- GET /api/chat/session/:id/messages -------------------------------------------------------


@pytest.mark.parametrize("role", SUPPORT_ROLES)
def test_messages_returns_the_conversation_to_each_support_role(
    client, make_account, open_session, role
):
    user, helper = make_account("user"), make_account("support")
    session = open_session(user, message="Hola")
    texts = ["Hola", *conversation(client, session["id"], user, helper, 3)]

    response = messages(client, session["id"], make_account(role))

    assert response.status_code == 200
    body = response.get_json()
    assert body["success"] is True
    assert body["message"] == "Mensajes obtenidos exitosamente"
    assert isinstance(body["data"], list)
    assert [m["message"] for m in body["data"]] == texts
    timestamps = [m["timestamp"] for m in body["data"]]
    assert timestamps == sorted(timestamps)


def test_messages_match_the_details_history(client, make_account, open_session):
    user, support = make_account("user"), make_account("support")
    session = open_session(user, message="Hola")
    conversation(client, session["id"], user, support, 4)
    listed = messages(client, session["id"], support).get_json()["data"]
    history = details(client, session["id"], support).get_json()["data"]["session"]["messages"]
    assert listed == history


def test_messages_still_work_for_the_owner(client, make_account, open_session):
    user = make_account("user")
    session = open_session(user, message="Hola")
    response = messages(client, session["id"], user)
    assert response.status_code == 200
    assert [m["message"] for m in response.get_json()["data"]] == ["Hola"]


def test_messages_of_someone_elses_session_return_404_for_a_user(
    client, make_account, open_session
):
    session = open_session(make_account("user"))
    assert_error(messages(client, session["id"], make_account("user")), 404, MSG_SESSION_NOT_FOUND)


def test_messages_of_unknown_session_return_404_for_support(client, make_account):
    assert_error(
        messages(client, str(uuid.uuid4()), make_account("support")), 404, MSG_SESSION_NOT_FOUND
    )


def test_messages_without_token_return_401(client, make_account, open_session):
    session = open_session(make_account("user"))
    assert_error(messages(client, session["id"], None), 401, MSG_UNAUTHORIZED)

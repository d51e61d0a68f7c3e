"""POST /api/chat/session/:id/transfer: handing a chat to another agent with a staff-only note."""

from __future__ import annotations

import json
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import text

from supportapp.extensions import db, redis_client
from supportapp.realtime.bus import EVENT_STREAM
from tests.api.test_assign import real_active_count
from tests.conftest import assert_error
from tests.helpers import assign, close, fetch_one, load_of
from tests.spec_shapes import AGENT_FIELDS, MSG_UNAUTHORIZED

MSG_TRANSFERRED = "Sesión transferida exitosamente"
MSG_AGENT_NOT_FOUND = "El agente de soporte no existe"
MSG_AGENT_INACTIVE = "El agente de soporte no está activo"
MSG_AT_CAPACITY = "El agente de soporte ha alcanzado su límite de chats concurrentes"
MSG_SESSION_NOT_FOUND = "Sesión de chat no encontrada"
MSG_FORBIDDEN = "No tienes permisos para realizar esta acción"


def transfer(client, session_id, account, **body):
    headers = account.headers if account else {}
    return client.post(f"/api/chat/session/{session_id}/transfer", json=body, headers=headers)


def stream_events(app, name: str) -> list[tuple[dict, dict]]:
    """(fields, data) of every `name` event in the stream, oldest first."""
    with app.app_context():
        entries = redis_client.client.xrange(EVENT_STREAM)
    found = []
    for _id, fields in entries:
        if fields["event"] == name:
            found.append((fields, json.loads(fields["data"])))
    return found


def audit_rows(app, action: str) -> list[dict]:
    with app.app_context():
        rows = db.session.execute(
            text("SELECT * FROM audit_logs WHERE action = :a ORDER BY id"), {"a": action}
        ).mappings()
        result = [dict(r) for r in rows]
        db.session.remove()
    return result


@pytest.fixture
def chat(client, make_account, make_agent, open_session):
    """A session assigned to agent A; agent B is another agent with room."""

    class Chat:
        admin = make_account("admin")
        user = make_account("user")
        a_account, a = make_agent(max_chats=3, name="Ana")
        b_account, b = make_agent(max_chats=3, name="Bruno")
        session = open_session(user)

    response = assign(client, Chat.session["id"], Chat.a["id"], Chat.admin)
    assert response.status_code == 200, response.get_json()
    return Chat


def test_assigned_agent_transfers_with_a_note(app, client, chat):
    response = transfer(
        client, chat.session["id"], chat.a_account, supportAgentId=chat.b["id"], note="  VIP  "
    )

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["success"] is True
    assert body["message"] == MSG_TRANSFERRED
    session = body["data"]
    assert session["id"] == chat.session["id"]
    assert session["supportAgentId"] == chat.b["id"]
    assert session["status"] == "active"
    assert len(session["messages"]) == 1
    assert load_of(app, chat.a["id"]) == 0 == real_active_count(app, chat.a["id"])
    assert load_of(app, chat.b["id"]) == 1 == real_active_count(app, chat.b["id"])

    details = client.get(
        f"/api/chat/session/{chat.session['id']}/details", headers=chat.b_account.headers
    ).get_json()["data"]
    [shown] = details["transfers"]
    assert shown["fromAgentId"] == chat.a["id"]
    assert shown["toAgentId"] == chat.b["id"]
    assert shown["byUserId"] == chat.a_account.id
    assert shown["note"] == "VIP"
    assert shown["createdAt"].endswith("Z")
    assert details["agent"]["id"] == chat.b["id"]

    [entry] = audit_rows(app, "session.transferred")
    assert str(entry["actor_id"]) == chat.a_account.id
    assert entry["before"] == {"supportAgentId": chat.a["id"], "status": "active"}
    assert entry["after"] == {"supportAgentId": chat.b["id"], "status": "active", "note": "VIP"}


def test_transfer_events_give_the_note_to_staff_only(app, client, chat):
    transfer(client, chat.session["id"], chat.a_account, supportAgentId=chat.b["id"], note="VIP")

    [(fields, data)] = stream_events(app, "chat_transferred")
    assert fields["user"] == ""  # no user's socket or replay matches it
    assert fields["support"] == "1"
    assert data["fromAgentId"] == chat.a["id"]
    assert data["toAgentId"] == chat.b["id"]
    assert data["note"] == "VIP"
    assert data["session"]["supportAgentId"] == chat.b["id"]
    # The user learns the new agent through chat_assigned, which has no note.
    assigned = stream_events(app, "chat_assigned")
    fields, data = assigned[-1]
    assert fields["user"] == chat.user.id
    assert data["agent"] == {"id": chat.b["id"], "name": "Bruno"}
    assert data["previousAgentId"] == chat.a["id"]
    assert "VIP" not in json.dumps(data)


def test_admin_transfers_a_pending_session(app, client, make_account, make_agent, open_session):
    admin = make_account("admin")
    _account, agent = make_agent()
    session = open_session(make_account("user"))

    response = transfer(client, session["id"], admin, supportAgentId=agent["id"])

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["data"]["supportAgentId"] == agent["id"]
    details = client.get(
        f"/api/chat/session/{session['id']}/details", headers=admin.headers
    ).get_json()["data"]
    assert details["transfers"][0]["fromAgentId"] is None
    assert details["transfers"][0]["note"] is None
    assert load_of(app, agent["id"]) == 1
    [(_fields, data)] = stream_events(app, "chat_status_changed")
    assert data["previousStatus"] == "pending"


def test_admin_transfers_between_other_agents(app, client, chat):
    response = transfer(client, chat.session["id"], chat.admin, supportAgentId=chat.b["id"])
    assert response.status_code == 200, response.get_json()
    assert load_of(app, chat.b["id"]) == 1


def test_transfer_by_another_support_agent_returns_403(app, client, chat):
    response = transfer(client, chat.session["id"], chat.b_account, supportAgentId=chat.b["id"])
    assert_error(response, 403, MSG_FORBIDDEN)
    assert load_of(app, chat.a["id"]) == 1


def test_support_agent_cannot_transfer_a_pending_session(
    client, make_agent, make_account, open_session
):
    account, agent = make_agent()
    session = open_session(make_account("user"))
    response = transfer(client, session["id"], account, supportAgentId=agent["id"])
    assert_error(response, 403, MSG_FORBIDDEN)


def test_transfer_by_the_sessions_user_returns_403(client, chat):
    response = transfer(client, chat.session["id"], chat.user, supportAgentId=chat.b["id"])
    assert_error(response, 403, MSG_FORBIDDEN)


def test_transfer_without_token_returns_401(client, chat):
    response = transfer(client, chat.session["id"], None, supportAgentId=chat.b["id"])
    assert_error(response, 401)


@pytest.mark.parametrize("session_id", [str(uuid.uuid4()), "not-a-uuid"])
def test_transfer_of_unknown_session_returns_404(client, chat, session_id):
    response = transfer(client, session_id, chat.admin, supportAgentId=chat.b["id"])
    assert_error(response, 404, MSG_SESSION_NOT_FOUND)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "El agente de soporte es obligatorio"),
        ({"supportAgentId": None}, "El agente de soporte es obligatorio"),
        ({"supportAgentId": "nope"}, MSG_AGENT_NOT_FOUND),
        ({"supportAgentId": str(uuid.uuid4())}, MSG_AGENT_NOT_FOUND),
    ],
)
def test_transfer_to_a_missing_agent_returns_400(app, client, chat, body, message):
    response = transfer(client, chat.session["id"], chat.a_account, **body)
    assert_error(response, 400, message, field="supportAgentId")
    assert load_of(app, chat.a["id"]) == 1
    assert audit_rows(app, "session.transferred") == []


def test_transfer_to_an_inactive_agent_returns_400(app, client, chat):
    client.patch(
        f"/api/support/agents/{chat.b['id']}", json={"isActive": False}, headers=chat.admin.headers
    )
    response = transfer(client, chat.session["id"], chat.a_account, supportAgentId=chat.b["id"])
    assert_error(response, 400, MSG_AGENT_INACTIVE, field="supportAgentId")


def test_transfer_to_the_same_agent_returns_400(client, chat):
    response = transfer(client, chat.session["id"], chat.a_account, supportAgentId=chat.a["id"])
    assert_error(response, 400, "La sesión ya está asignada a ese agente", field="supportAgentId")


@pytest.mark.parametrize("note", ["x" * 501, 12, ["a"]])
def test_transfer_with_an_invalid_note_returns_400(app, client, chat, note):
    response = transfer(
        client, chat.session["id"], chat.a_account, supportAgentId=chat.b["id"], note=note
    )
    assert_error(response, 400, field="note")
    assert load_of(app, chat.b["id"]) == 0


def test_transfer_note_of_500_characters_after_trimming_is_accepted(client, chat):
    response = transfer(
        client,
        chat.session["id"],
        chat.a_account,
        supportAgentId=chat.b["id"],
        note="  " + "n" * 500 + "  ",
    )
    assert response.status_code == 200, response.get_json()


def test_transfer_of_a_closed_session_returns_409(client, chat):
    close(client, chat.session["id"], chat.user, expect=200)
    response = transfer(client, chat.session["id"], chat.admin, supportAgentId=chat.b["id"])
    assert_error(response, 409, "La sesión de chat está cerrada")


def test_transfer_to_an_agent_at_capacity_returns_409(
    app, client, chat, make_account, open_session
):
    user = make_account("user")
    for _ in range(3):
        other = open_session(user)
        assert assign(client, other["id"], chat.b["id"], chat.admin).status_code == 200
    response = transfer(client, chat.session["id"], chat.a_account, supportAgentId=chat.b["id"])
    assert_error(response, 409, MSG_AT_CAPACITY)
    assert load_of(app, chat.a["id"]) == 1 == real_active_count(app, chat.a["id"])
    assert load_of(app, chat.b["id"]) == 3 == real_active_count(app, chat.b["id"])


CONCURRENT = 30
CAPACITY = 5


def test_30_concurrent_transfers_into_one_agent_fill_exactly_its_free_slots(
    app, client, make_account, make_agent, open_session
):
    """30 sessions held by 6 agents are handed to one agent of capacity 5 (1 slot taken) at the
    same moment, each by its own agent: exactly the 4 free slots are won, counters exact."""
    admin = make_account("admin")
    user = make_account("user")
    _target_account, target = make_agent(max_chats=CAPACITY)
    busy = open_session(user)
    assert assign(client, busy["id"], target["id"], admin).status_code == 200
    holders = [make_agent(max_chats=CAPACITY) for _ in range(CONCURRENT // CAPACITY)]
    jobs = []
    for account, agent in holders:
        for _ in range(CAPACITY):
            session = open_session(user, message=None)
            assert assign(client, session["id"], agent["id"], admin).status_code == 200
            jobs.append((session["id"], account))
    start = threading.Barrier(CONCURRENT)

    def attempt(job) -> tuple[int, dict]:
        session_id, account = job
        own_client = app.test_client()
        start.wait(timeout=30)
        response = transfer(own_client, session_id, account, supportAgentId=target["id"])
        return response.status_code, response.get_json()

    with ThreadPoolExecutor(max_workers=CONCURRENT) as pool:
        results = list(pool.map(attempt, jobs))

    statuses = [status for status, _ in results]
    free = CAPACITY - 1
    assert statuses.count(200) == free, statuses
    assert statuses.count(409) == CONCURRENT - free, statuses
    assert all(body["message"] == MSG_AT_CAPACITY for status, body in results if status == 409)
    assert load_of(app, target["id"]) == CAPACITY == real_active_count(app, target["id"])
    for _account, agent in holders:
        assert load_of(app, agent["id"]) == real_active_count(app, agent["id"])
    moved = sum(CAPACITY - load_of(app, agent["id"]) for _account, agent in holders)
    assert moved == free
    assert len(audit_rows(app, "session.transferred")) == free
    count = fetch_one(app, "SELECT count(*) AS n FROM chat_transfers")["n"]
    assert count == free


# --- GET /api/support/agents/transfer-targets ---------------------------------------------------


def transfer_targets(client, account):
    headers = account.headers if account else {}
    return client.get("/api/support/agents/transfer-targets", headers=headers)


def test_a_support_agent_lists_the_colleagues_a_chat_can_go_to(
    client, chat, make_agent, mark_online
):
    c_account, c = make_agent(max_chats=2, name="Carla")
    _, d = make_agent(max_chats=2, name="Diego")
    response = client.patch(
        f"/api/support/agents/{d['id']}", json={"isActive": False}, headers=chat.admin.headers
    )
    assert response.status_code == 200, response.get_json()
    mark_online(c_account.id)

    response = transfer_targets(client, chat.a_account)

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["success"] is True
    assert body["message"] == "Agentes obtenidos exitosamente"
    # Not Ana herself, not the inactive Diego; online Carla before offline Bruno.
    assert [agent["name"] for agent in body["data"]] == ["Carla", "Bruno"]
    assert body["data"][0]["id"] == c["id"]
    assert body["data"][0]["presence"] == "online"
    assert all(set(agent) == AGENT_FIELDS for agent in body["data"])


def test_transfer_targets_order_the_least_loaded_first_and_serve_admins(client, chat, make_agent):
    make_agent(max_chats=2, name="Carla")
    # Ana now holds 1 of 3; Bruno and Carla hold none; an admin without a profile sees all.
    response = transfer_targets(client, chat.admin)

    assert response.status_code == 200, response.get_json()
    names = [agent["name"] for agent in response.get_json()["data"]]
    assert names == ["Bruno", "Carla", "Ana"]


def test_transfer_targets_are_staff_only(client, chat):
    assert_error(transfer_targets(client, chat.user), 403, MSG_FORBIDDEN)
    assert_error(transfer_targets(client, None), 401, MSG_UNAUTHORIZED)

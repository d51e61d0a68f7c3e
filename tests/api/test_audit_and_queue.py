"""The audit trail (GET /api/support/logs) and the pending queue (GET /api/chat/queue,
GET /api/chat/session/:id/queue)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from supportapp.extensions import db
from tests.conftest import assert_error
from tests.helpers import assign, close, get_data, reply, set_priority
from tests.spec_shapes import (
    LOG_FIELDS,
    MSG_FORBIDDEN,
    MSG_SESSION_NOT_FOUND,
    MSG_UNAUTHORIZED,
    QUEUE_POSITION_FIELDS,
    SESSION_FIELDS,
)

LOGS_URL = "/api/support/logs"
QUEUE_URL = "/api/chat/queue"


# --- helpers ----------------------------------------------------------------------------------


def logs(client, account, **params):
    response = client.get(LOGS_URL, query_string=params, headers=account.headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["data"]


def audit_rows(app, action: str | None = None) -> list[dict]:
    sql = "SELECT id, action, actor_id, session_id, target_id FROM audit_logs"
    if action:
        sql += " WHERE action = :action"
    with app.app_context():
        rows = [dict(r._mapping) for r in db.session.execute(text(sql), {"action": action})]
        db.session.remove()
    return rows


def date_audit_rows(app, created_at: datetime, **where) -> None:
    condition = " AND ".join(f"{column} = :{column}" for column in where)
    with app.app_context():
        db.session.execute(
            text(f"UPDATE audit_logs SET created_at = :created_at WHERE {condition}"),
            {"created_at": created_at, **where},
        )
        db.session.commit()
        db.session.remove()


def only(entries: list[dict], action: str) -> dict:
    (entry,) = [e for e in entries if e["action"] == action]
    return entry


# --- what gets audited ------------------------------------------------------------------------


def test_assignment_writes_an_audit_row(client, make_account, make_agent, open_session):
    agent_account, agent = make_agent(max_chats=2)
    session = open_session(make_account("user"))
    response = assign(client, session["id"], agent["id"], agent_account)
    assert response.status_code == 200

    entry = only(logs(client, make_account("admin"))["logs"], "session.assigned")

    assert set(entry) == LOG_FIELDS
    assert entry["actorId"] == agent_account.id
    assert entry["actorRole"] == "support"
    assert entry["targetType"] == "chat_session"
    assert entry["targetId"] == session["id"]
    assert entry["sessionId"] == session["id"]
    assert entry["before"] == {"supportAgentId": None, "status": "pending"}
    assert entry["after"] == {"supportAgentId": agent["id"], "status": "active"}
    assert entry["ip"] == "127.0.0.1"
    assert entry["requestId"] == response.headers["X-Request-ID"]
    assert entry["createdAt"].endswith("Z")


def test_support_message_writes_an_audit_row(client, make_account, open_session):
    support = make_account("support")
    session = open_session(make_account("user"))
    sent = reply(client, session["id"], support, "  Hola, te ayudo  ")
    assert sent.status_code == 201

    entries = logs(client, make_account("admin"))["logs"]

    assert [e["action"] for e in entries] == ["session.support_message"]
    entry = entries[0]
    assert entry["actorId"] == support.id
    assert entry["targetType"] == "chat_message"
    assert entry["targetId"] == sent.get_json()["data"]["id"]
    assert entry["sessionId"] == session["id"]
    assert entry["after"] == {"length": len("Hola, te ayudo")}


def test_first_reply_that_takes_a_session_audits_both_assignment_and_message(
    client, make_account, make_agent, open_session
):
    agent_account, _agent = make_agent(max_chats=2)
    session = open_session(make_account("user"))
    assert reply(client, session["id"], agent_account, "Hola").status_code == 201

    entries = logs(client, make_account("admin"), sessionId=session["id"])["logs"]

    assert sorted(e["action"] for e in entries) == ["session.assigned", "session.support_message"]
    assert {e["actorId"] for e in entries} == {agent_account.id}


@pytest.mark.parametrize("role", ["support", "admin", "superadmin"])
def test_priority_change_writes_an_audit_row(client, make_account, open_session, role):
    actor = make_account(role)
    session = open_session(make_account("user"))
    assert set_priority(client, session["id"], "high", actor).status_code == 200

    entry = only(logs(client, make_account("admin"))["logs"], "session.priority_changed")

    assert entry["actorId"] == actor.id
    assert entry["actorRole"] == role
    assert entry["sessionId"] == session["id"]
    assert entry["before"] == {"priority": "medium"}
    assert entry["after"] == {"priority": "high"}


def test_priority_set_to_its_current_value_writes_no_audit_row(
    app, client, make_account, open_session
):
    session = open_session(make_account("user"))
    assert set_priority(client, session["id"], "medium", make_account("support")).status_code == 200
    assert audit_rows(app, "session.priority_changed") == []


def test_close_by_the_assigned_agent_writes_an_audit_row(
    client, make_account, make_agent, open_session
):
    agent_account, agent = make_agent(max_chats=2)
    session = open_session(make_account("user"))
    assert assign(client, session["id"], agent["id"], agent_account).status_code == 200
    assert close(client, session["id"], agent_account).status_code == 200

    entry = only(logs(client, make_account("admin"))["logs"], "session.closed")

    assert entry["actorId"] == agent_account.id
    assert entry["actorRole"] == "support"
    assert entry["sessionId"] == session["id"]
    assert entry["before"] == {"status": "active"}
    assert entry["after"] == {"status": "closed"}


def test_close_by_an_admin_writes_an_audit_row(app, client, make_account, open_session):
    admin = make_account("admin")
    session = open_session(make_account("user"))
    assert close(client, session["id"], admin).status_code == 200
    entry = only(logs(client, admin)["logs"], "session.closed")
    assert entry["actorId"] == admin.id
    assert entry["before"] == {"status": "pending"}


def test_close_by_the_owner_is_not_a_support_action(app, client, make_account, open_session):
    user = make_account("user")
    session = open_session(user)
    assert close(client, session["id"], user).status_code == 200
    assert audit_rows(app) == []


def test_agent_creation_writes_an_audit_row(client, make_account):
    admin, staff = make_account("admin"), make_account("support")
    created = client.post(
        "/api/support/agents",
        json={"userId": staff.id, "name": "Nueva", "maxConcurrentChats": 3},
        headers=admin.headers,
    )
    assert created.status_code == 201
    agent = created.get_json()["data"]

    entry = only(logs(client, admin)["logs"], "agent.created")

    assert entry["actorId"] == admin.id
    assert entry["actorRole"] == "admin"
    assert entry["targetType"] == "support_agent"
    assert entry["targetId"] == agent["id"]
    assert entry["sessionId"] is None
    assert entry["after"]["userId"] == staff.id
    assert entry["after"]["maxConcurrentChats"] == 3


def test_agent_update_by_admin_writes_before_and_after(client, make_account, make_agent):
    admin = make_account("superadmin")
    _staff, agent = make_agent(max_chats=3)
    response = client.patch(
        f"/api/support/agents/{agent['id']}",
        json={"maxConcurrentChats": 7, "name": agent["name"]},
        headers=admin.headers,
    )
    assert response.status_code == 200

    entry = only(logs(client, admin)["logs"], "agent.updated")

    assert entry["actorId"] == admin.id
    assert entry["actorRole"] == "superadmin"
    assert entry["targetId"] == agent["id"]
    assert entry["before"]["maxConcurrentChats"] == 3
    assert entry["after"]["maxConcurrentChats"] == 7


def test_agent_toggling_their_availability_writes_an_audit_row(client, make_account, make_agent):
    staff, agent = make_agent(max_chats=3)
    away = client.patch("/api/support/agents/me", json={"isActive": False}, headers=staff.headers)
    assert away.status_code == 200

    entry = only(logs(client, make_account("admin"))["logs"], "agent.updated")

    assert entry["actorId"] == staff.id
    assert entry["targetId"] == agent["id"]
    assert entry["before"] == {"isActive": True}
    assert entry["after"] == {"isActive": False}


# --- failed actions write nothing ----------------------------------------------------------


def test_assignment_refused_at_capacity_writes_no_audit_row(
    app, client, make_account, make_agent, open_session
):
    agent_account, agent = make_agent(max_chats=1)
    user = make_account("user")
    assert assign(client, open_session(user)["id"], agent["id"], agent_account).status_code == 200
    before = audit_rows(app)

    assert assign(client, open_session(user)["id"], agent["id"], agent_account).status_code == 409

    assert audit_rows(app) == before


def test_forbidden_assignment_writes_no_audit_row(
    app, client, make_account, make_agent, open_session
):
    me, _mine = make_agent(max_chats=2)
    _other_account, other = make_agent(max_chats=2)
    session = open_session(make_account("user"))
    before = audit_rows(app)
    assert assign(client, session["id"], other["id"], me).status_code == 403
    assert audit_rows(app) == before


def test_invalid_priority_writes_no_audit_row(app, client, make_account, open_session):
    session = open_session(make_account("user"))
    assert set_priority(client, session["id"], "urgent", make_account("admin")).status_code == 400
    assert audit_rows(app) == []


def test_support_message_to_closed_session_writes_no_audit_row(
    app, client, make_account, open_session
):
    user, support = make_account("user"), make_account("support")
    session = open_session(user)
    assert close(client, session["id"], user).status_code == 200
    assert reply(client, session["id"], support, "Hola").status_code == 409
    assert audit_rows(app) == []


def test_closing_a_closed_session_writes_no_second_audit_row(
    app, client, make_account, open_session
):
    admin = make_account("admin")
    session = open_session(make_account("user"))
    assert close(client, session["id"], admin).status_code == 200
    assert close(client, session["id"], admin).status_code == 409
    assert len(audit_rows(app, "session.closed")) == 1


def test_refused_agent_creation_writes_no_audit_row(app, client, make_account, make_agent):
    staff, _agent = make_agent(max_chats=2)
    before = audit_rows(app)
    again = client.post(
        "/api/support/agents",
        json={"userId": staff.id, "name": "Duplicado"},
        headers=make_account("admin").headers,
    )
    assert again.status_code == 409
    assert audit_rows(app) == before


def test_invalid_agent_update_writes_no_audit_row(app, client, make_account, make_agent):
    _staff, agent = make_agent(max_chats=2)
    before = audit_rows(app)
    response = client.patch(
        f"/api/support/agents/{agent['id']}",
        json={"maxConcurrentChats": 99},
        headers=make_account("admin").headers,
    )
    assert response.status_code == 400
    assert audit_rows(app) == before


# --- GET /api/support/logs ----------------------------------------------------------------------


@pytest.fixture
def audit_history(client, make_account, make_agent, open_session):
    """Two agents and an admin act on two sessions; returns who did what."""
    admin = make_account("admin")
    first_account, first = make_agent(max_chats=5)
    second_account, second = make_agent(max_chats=5)
    user = make_account("user")
    one, two = open_session(user)["id"], open_session(user)["id"]
    assert assign(client, one, first["id"], first_account).status_code == 200
    assert reply(client, one, first_account, "Hola").status_code == 201
    assert assign(client, two, second["id"], second_account).status_code == 200
    assert set_priority(client, two, "high", admin).status_code == 200
    assert close(client, one, first_account).status_code == 200
    return {
        "admin": admin,
        "first": first_account,
        "second": second_account,
        "sessions": (one, two),
    }


@pytest.mark.parametrize("role", ["admin", "superadmin"])
def test_logs_are_listed_newest_first_for_admin_roles(client, make_account, audit_history, role):
    data = get_data(client, LOGS_URL, make_account(role), "Registros obtenidos exitosamente")
    entries = data["logs"]
    # Two agent creations, then the five console actions.
    assert [e["action"] for e in entries] == [
        "session.closed",
        "session.priority_changed",
        "session.assigned",
        "session.support_message",
        "session.assigned",
        "agent.created",
        "agent.created",
    ]
    stamps = [e["createdAt"] for e in entries]
    assert stamps == sorted(stamps, reverse=True)
    assert data["pagination"] == {"page": 1, "limit": 20, "total": 7, "totalPages": 1}


def test_logs_filter_by_actor(client, audit_history):
    first = audit_history["first"]
    data = logs(client, audit_history["admin"], actorId=first.id)
    assert [e["action"] for e in data["logs"]] == [
        "session.closed",
        "session.support_message",
        "session.assigned",
    ]
    assert {e["actorId"] for e in data["logs"]} == {first.id}
    assert data["pagination"]["total"] == 3


def test_logs_filter_by_action(client, audit_history):
    data = logs(client, audit_history["admin"], action="session.assigned")
    assert [e["actorId"] for e in data["logs"]] == [
        audit_history["second"].id,
        audit_history["first"].id,
    ]
    assert data["pagination"]["total"] == 2


def test_logs_filter_by_session(client, audit_history):
    _one, two = audit_history["sessions"]
    data = logs(client, audit_history["admin"], sessionId=two)
    assert [e["action"] for e in data["logs"]] == ["session.priority_changed", "session.assigned"]
    assert {e["sessionId"] for e in data["logs"]} == {two}


def test_logs_filters_combine(client, audit_history):
    one, _two = audit_history["sessions"]
    data = logs(client, audit_history["admin"], sessionId=one, action="session.closed", limit=5)
    assert [(e["action"], e["sessionId"]) for e in data["logs"]] == [("session.closed", one)]


def test_logs_filter_by_date_range(app, client, audit_history):
    admin = audit_history["admin"]
    date_audit_rows(app, datetime(2024, 3, 1, 23, 59, tzinfo=UTC), action="agent.created")
    date_audit_rows(app, datetime(2024, 3, 2, 10, 0, tzinfo=UTC), action="session.assigned")
    date_audit_rows(app, datetime(2024, 3, 3, 0, 0, tzinfo=UTC), action="session.closed")

    same_day = logs(client, admin, **{"from": "2024-03-02", "to": "2024-03-02"})
    assert [e["action"] for e in same_day["logs"]] == ["session.assigned", "session.assigned"]
    assert same_day["pagination"]["total"] == 2

    until = logs(client, admin, to="2024-03-02")
    assert (
        sorted(e["action"] for e in until["logs"])
        == ["agent.created"] * 2 + ["session.assigned"] * 2
    )

    since = logs(client, admin, **{"from": "2024-03-02T12:00:00Z", "to": "2024-03-03T01:00:00Z"})
    assert [e["action"] for e in since["logs"]] == ["session.closed"]

    recent = logs(client, admin, **{"from": "2024-03-04"})
    assert sorted(e["action"] for e in recent["logs"]) == [
        "session.priority_changed",
        "session.support_message",
    ]


def test_logs_pages_have_no_duplicates_or_gaps(client, audit_history):
    admin = audit_history["admin"]
    everything = [e["id"] for e in logs(client, admin, limit=100)["logs"]]
    seen = []
    for page in (1, 2, 3, 4):
        data = logs(client, admin, page=page, limit=2)
        assert data["pagination"] == {"page": page, "limit": 2, "total": 7, "totalPages": 4}
        seen.extend(e["id"] for e in data["logs"])
    assert seen == everything
    assert len(set(seen)) == 7
    assert logs(client, admin, page=5, limit=2)["logs"] == []


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("page", "0"),
        ("limit", "101"),
        ("actorId", "nobody"),
        ("sessionId", "x"),
        ("from", "yesterday"),
        ("to", "2024-13-01"),
    ],
)
def test_logs_invalid_parameter_returns_400(client, make_account, param, value):
    response = client.get(
        LOGS_URL, query_string={param: value}, headers=make_account("admin").headers
    )
    assert_error(response, 400, field=param)


def test_logs_from_after_to_returns_400(client, make_account):
    response = client.get(
        LOGS_URL,
        query_string={"from": "2024-03-05", "to": "2024-03-01"},
        headers=make_account("admin").headers,
    )
    assert_error(response, 400, field="from")


@pytest.mark.parametrize("role", ["support", "user"])
def test_logs_for_non_admin_role_return_403(client, make_account, role):
    assert_error(client.get(LOGS_URL, headers=make_account(role).headers), 403, MSG_FORBIDDEN)


def test_logs_without_token_return_401(client):
    assert_error(client.get(LOGS_URL), 401, MSG_UNAUTHORIZED)


# --- GET /api/chat/queue -----------------------------------------------------------------------


@pytest.fixture
def queue_fixture(client, make_account, make_agent, open_session):
    """Six pending sessions in known priorities, plus an active and a closed one."""
    support = make_account("support")
    agent_account, agent = make_agent(max_chats=3)
    user = make_account("user")
    ids = {}
    for name, priority in [
        ("m1", "medium"),
        ("l1", "low"),
        ("h1", "high"),
        ("m2", "medium"),
        ("h2", "high"),
        ("l2", "low"),
    ]:
        ids[name] = open_session(user)["id"]
        if priority != "medium":
            assert set_priority(client, ids[name], priority, support).status_code == 200
    ids["active"] = open_session(user)["id"]
    assert assign(client, ids["active"], agent["id"], agent_account).status_code == 200
    ids["closed"] = open_session(user)["id"]
    assert close(client, ids["closed"], user).status_code == 200
    return {"ids": ids, "support": support, "user": user, "agent": (agent_account, agent)}


QUEUE_ORDER = ["h1", "h2", "m1", "m2", "l1", "l2"]


@pytest.mark.parametrize("role", ["support", "admin", "superadmin"])
def test_queue_lists_pending_sessions_by_priority_then_oldest(
    client, make_account, queue_fixture, role
):
    ids = queue_fixture["ids"]
    data = get_data(client, QUEUE_URL, make_account(role), "Cola obtenida exitosamente")
    entries = data["sessions"]
    assert [e["id"] for e in entries] == [ids[name] for name in QUEUE_ORDER]
    assert [e["position"] for e in entries] == [1, 2, 3, 4, 5, 6]
    assert {e["status"] for e in entries} == {"pending"}
    for entry in entries:
        assert set(entry) == SESSION_FIELDS | {"position"}
        assert len(entry["messages"]) <= 1
    assert data["pagination"] == {"page": 1, "limit": 20, "total": 6, "totalPages": 1}


def test_queue_positions_continue_across_pages(client, queue_fixture):
    ids, support = queue_fixture["ids"], queue_fixture["support"]
    response = client.get(QUEUE_URL, query_string={"page": 2, "limit": 4}, headers=support.headers)
    data = response.get_json()["data"]
    assert [(e["id"], e["position"]) for e in data["sessions"]] == [(ids["l1"], 5), (ids["l2"], 6)]
    assert data["pagination"] == {"page": 2, "limit": 4, "total": 6, "totalPages": 2}


def test_queue_reflects_a_priority_raise(client, queue_fixture):
    ids, support = queue_fixture["ids"], queue_fixture["support"]
    assert set_priority(client, ids["l2"], "high", support).status_code == 200
    entries = client.get(QUEUE_URL, headers=support.headers).get_json()["data"]["sessions"]
    # Raised to high but still the newest of the high ones.
    assert [e["id"] for e in entries][:3] == [ids["h1"], ids["h2"], ids["l2"]]


def test_queue_for_user_role_returns_403(client, make_account):
    assert_error(client.get(QUEUE_URL, headers=make_account("user").headers), 403, MSG_FORBIDDEN)


def test_queue_without_token_returns_401(client):
    assert_error(client.get(QUEUE_URL), 401, MSG_UNAUTHORIZED)


@pytest.mark.parametrize(("param", "value"), [("page", "0"), ("limit", "500")])
def test_queue_invalid_page_returns_400(client, make_account, param, value):
    response = client.get(
        QUEUE_URL, query_string={param: value}, headers=make_account("support").headers
    )
    assert_error(response, 400, field=param)


# --- GET /api/chat/session/:id/queue ------------------------------------------------------------


def position_of(client, session_id, account):
    return client.get(f"/api/chat/session/{session_id}/queue", headers=account.headers)


def test_owner_sees_their_position_in_the_queue(client, queue_fixture):
    ids, user = queue_fixture["ids"], queue_fixture["user"]
    for expected, name in enumerate(QUEUE_ORDER, start=1):
        response = position_of(client, ids[name], user)
        assert response.status_code == 200
        body = response.get_json()
        assert body["message"] == "Posición en la cola obtenida exitosamente"
        assert body["data"]["position"] == expected
        assert body["data"]["total"] == 6
        assert set(body["data"]) == QUEUE_POSITION_FIELDS


@pytest.mark.parametrize("role", ["support", "admin", "superadmin"])
def test_support_roles_see_a_sessions_position(client, make_account, queue_fixture, role):
    response = position_of(client, queue_fixture["ids"]["m2"], make_account(role))
    assert response.status_code == 200
    assert (response.get_json()["data"]["position"], response.get_json()["data"]["total"]) == (4, 6)


def test_estimated_wait_is_null_without_history(client, make_account, open_session):
    user = make_account("user")
    session = open_session(user)
    data = position_of(client, session["id"], user).get_json()["data"]
    assert data == {"position": 1, "total": 1, "estimatedWaitMinutes": None}


def test_estimated_wait_is_a_number_once_sessions_were_assigned(client, queue_fixture):
    data = position_of(client, queue_fixture["ids"]["h1"], queue_fixture["user"]).get_json()
    estimate = data["data"]["estimatedWaitMinutes"]
    assert isinstance(estimate, int | float)
    assert estimate >= 0


def test_position_is_null_once_assigned(client, queue_fixture):
    ids, user = queue_fixture["ids"], queue_fixture["user"]
    agent_account, agent = queue_fixture["agent"]
    assert assign(client, ids["h1"], agent["id"], agent_account).status_code == 200

    assigned = position_of(client, ids["h1"], user).get_json()["data"]
    assert assigned["position"] is None
    assert assigned["total"] == 5
    assert assigned["estimatedWaitMinutes"] is None
    assert position_of(client, ids["h2"], user).get_json()["data"]["position"] == 1


def test_position_is_null_for_a_closed_session(client, queue_fixture):
    ids, user = queue_fixture["ids"], queue_fixture["user"]
    assert position_of(client, ids["closed"], user).get_json()["data"]["position"] is None


def test_other_users_session_queue_returns_404(client, make_account, queue_fixture):
    response = position_of(client, queue_fixture["ids"]["h1"], make_account("user"))
    assert_error(response, 404, MSG_SESSION_NOT_FOUND)


def test_unknown_session_queue_returns_404(client, make_account):
    assert_error(
        position_of(client, str(uuid.uuid4()), make_account("user")), 404, MSG_SESSION_NOT_FOUND
    )


def test_session_queue_without_token_returns_401(client, queue_fixture):
    response = client.get(f"/api/chat/session/{queue_fixture['ids']['h1']}/queue")
    assert_error(response, 401, MSG_UNAUTHORIZED)

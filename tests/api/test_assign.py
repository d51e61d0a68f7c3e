"""PATCH /api/chat/session/:id/assign, with the assignment rules of docs/contract.md."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from testkit.processes import GunicornServer, gunicorn_server
from tests.conftest import assert_error
from tests.helpers import (
    assert_taken_by,
    assign,
    assignment_of,
    chat_action,
    close,
    load_of,
    reply,
    scalar,
)
from tests.spec_shapes import MSG_FORBIDDEN, MSG_SESSION_NOT_FOUND

MSG_ASSIGNED = "Sesión asignada exitosamente"
MSG_AGENT_NOT_FOUND = "El agente de soporte no existe"
MSG_AT_CAPACITY = "El agente de soporte ha alcanzado su límite de chats concurrentes"


# --- helpers ----------------------------------------------------------------------------------


def real_active_count(app, agent_id: str) -> int:
    sql = "SELECT count(*) FROM chat_sessions WHERE support_agent_id = :id AND status = 'active'"
    return scalar(app, sql, id=agent_id)


def assignment_audit_rows(app) -> int:
    return scalar(app, "SELECT count(*) FROM audit_logs WHERE action = 'session.assigned'")


def assert_still_pending(app, session_id: str) -> None:
    state = assignment_of(app, session_id)
    assert state == {"status": "pending", "support_agent_id": None, "assigned_at": None}


def set_agent(client, admin, agent_id, **changes):
    response = client.patch(f"/api/support/agents/{agent_id}", json=changes, headers=admin.headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["data"]


def fill(client, app, agent_account, agent, user, open_session, count: int) -> list[str]:
    ids = []
    for _ in range(count):
        sid = open_session(user, message=None)["id"]
        assert assign(client, sid, agent["id"], agent_account).status_code == 200
        ids.append(sid)
    assert load_of(app, agent["id"]) == count
    return ids


# --- success ----------------------------------------------------------------------------------


def test_support_self_assign_activates_the_session(
    app, client, make_account, make_agent, open_session
):
    agent_account, agent = make_agent(max_chats=3)
    session = open_session(make_account("user"), message="Hola")

    response = assign(client, session["id"], agent["id"], agent_account)

    assert response.status_code == 200
    body = response.get_json()
    assert body["success"] is True
    assert body["message"] == MSG_ASSIGNED
    data = body["data"]
    assert data["id"] == session["id"]
    assert data["status"] == "active"
    assert data["supportAgentId"] == agent["id"]
    assert data["assignedAt"] is not None
    assert data["assignedAt"].endswith("Z")
    assert data["priority"] == "medium"
    assert [m["message"] for m in data["messages"]] == ["Hola"]
    assert_taken_by(app, session["id"], agent["id"], load=1)


def test_self_assign_increments_current_active_chats_seen_by_the_agent(
    client, make_account, make_agent, open_session
):
    agent_account, agent = make_agent(max_chats=3)
    user = make_account("user")
    for expected in (1, 2):
        assert (
            assign(client, open_session(user)["id"], agent["id"], agent_account).status_code == 200
        )
        me = client.get("/api/support/agents/me", headers=agent_account.headers)
        assert me.get_json()["data"]["currentActiveChats"] == expected


@pytest.mark.parametrize("role", ["admin", "superadmin"])
def test_admin_roles_assign_to_any_agent(app, client, make_account, make_agent, open_session, role):
    _agent_account, agent = make_agent(max_chats=2)
    session = open_session(make_account("user"))

    response = assign(client, session["id"], agent["id"], make_account(role))

    assert response.status_code == 200
    assert response.get_json()["data"]["supportAgentId"] == agent["id"]
    assert response.get_json()["data"]["status"] == "active"
    assert load_of(app, agent["id"]) == 1


def test_admin_with_an_agent_profile_may_self_assign(
    app, client, make_agent, open_session, make_account
):
    admin_account, agent = make_agent(max_chats=2, role="admin")
    session = open_session(make_account("user"))
    assert assign(client, session["id"], agent["id"], admin_account).status_code == 200
    assert load_of(app, agent["id"]) == 1


def test_reassign_to_the_same_agent_is_a_noop_success(
    app, client, make_account, make_agent, open_session
):
    agent_account, agent = make_agent(max_chats=2)
    session = open_session(make_account("user"))
    first = assign(client, session["id"], agent["id"], agent_account).get_json()["data"]
    audit_rows = assignment_audit_rows(app)

    again = assign(client, session["id"], agent["id"], agent_account)

    assert again.status_code == 200
    assert again.get_json()["message"] == MSG_ASSIGNED
    assert again.get_json()["data"]["assignedAt"] == first["assignedAt"]
    assert again.get_json()["data"]["supportAgentId"] == agent["id"]
    assert load_of(app, agent["id"]) == 1
    assert assignment_audit_rows(app) == audit_rows


def test_reassign_to_the_same_agent_at_capacity_is_still_a_noop_success(
    app, client, make_account, make_agent, open_session
):
    agent_account, agent = make_agent(max_chats=1)
    session = open_session(make_account("user"))
    assert assign(client, session["id"], agent["id"], agent_account).status_code == 200

    assert assign(client, session["id"], agent["id"], agent_account).status_code == 200
    assert load_of(app, agent["id"]) == 1


def test_moving_a_session_between_agents_moves_the_counters(
    app, client, make_account, make_agent, open_session
):
    admin = make_account("admin")
    _first_account, first = make_agent(max_chats=2)
    _second_account, second = make_agent(max_chats=2)
    session = open_session(make_account("user"))
    assert assign(client, session["id"], first["id"], admin).status_code == 200
    assert (load_of(app, first["id"]), load_of(app, second["id"])) == (1, 0)

    response = assign(client, session["id"], second["id"], admin)

    assert response.status_code == 200
    assert response.get_json()["data"]["supportAgentId"] == second["id"]
    assert response.get_json()["data"]["status"] == "active"
    assert (load_of(app, first["id"]), load_of(app, second["id"])) == (0, 1)
    assert real_active_count(app, first["id"]) == 0
    assert real_active_count(app, second["id"]) == 1


def test_moving_to_an_agent_at_capacity_returns_409_and_keeps_the_first_agent(
    app, client, make_account, make_agent, open_session
):
    admin, user = make_account("admin"), make_account("user")
    _first_account, first = make_agent(max_chats=2)
    full_account, full = make_agent(max_chats=1)
    session = open_session(user)["id"]
    assert assign(client, session, first["id"], admin).status_code == 200
    fill(client, app, full_account, full, user, open_session, 1)

    assert_error(assign(client, session, full["id"], admin), 409, MSG_AT_CAPACITY)

    assert str(assignment_of(app, session)["support_agent_id"]) == first["id"]
    assert (load_of(app, first["id"]), load_of(app, full["id"])) == (1, 1)


# --- failures, each leaving the database untouched -----------------------------------------


def test_support_assigning_to_another_agent_returns_403(
    app, client, make_account, make_agent, open_session
):
    me_account, _me = make_agent(max_chats=2)
    _other_account, other = make_agent(max_chats=2)
    session = open_session(make_account("user"))

    assert_error(assign(client, session["id"], other["id"], me_account), 403, MSG_FORBIDDEN)

    assert_still_pending(app, session["id"])
    assert load_of(app, other["id"]) == 0
    assert assignment_audit_rows(app) == 0


def test_support_without_agent_profile_assigning_returns_403(
    app, client, make_account, make_agent, open_session
):
    _agent_account, agent = make_agent(max_chats=2)
    session = open_session(make_account("user"))

    response = assign(client, session["id"], agent["id"], make_account("support"))

    assert_error(response, 403, MSG_FORBIDDEN)
    assert_still_pending(app, session["id"])


def test_user_role_assigning_returns_403(app, client, make_account, make_agent, open_session):
    _agent_account, agent = make_agent(max_chats=2)
    user = make_account("user")
    session = open_session(user)
    assert_error(assign(client, session["id"], agent["id"], user), 403, MSG_FORBIDDEN)
    assert_still_pending(app, session["id"])
    assert load_of(app, agent["id"]) == 0


def test_assign_without_token_returns_401(app, client, make_account, make_agent, open_session):
    _agent_account, agent = make_agent(max_chats=2)
    session = open_session(make_account("user"))
    assert_error(assign(client, session["id"], agent["id"], None), 401, "Token inválido o expirado")
    assert_still_pending(app, session["id"])


def test_assign_to_unknown_agent_returns_400(app, client, make_account, open_session):
    session = open_session(make_account("user"))

    response = assign(client, session["id"], str(uuid.uuid4()), make_account("admin"))

    body = assert_error(response, 400, MSG_AGENT_NOT_FOUND, field="supportAgentId")
    assert body["errors"]["supportAgentId"] == [MSG_AGENT_NOT_FOUND]
    assert MSG_AGENT_NOT_FOUND in body["message"]
    assert_still_pending(app, session["id"])


@pytest.mark.parametrize("agent_id", ["not-a-uuid", "", 12, None, ["x"]])
def test_assign_with_malformed_agent_id_returns_400(
    app, client, make_account, open_session, agent_id
):
    session = open_session(make_account("user"))
    response = assign(client, session["id"], agent_id, make_account("admin"))
    assert_error(response, 400, field="supportAgentId")
    assert_still_pending(app, session["id"])


def test_assign_without_agent_id_returns_400(app, client, make_account, open_session):
    session = open_session(make_account("user"))
    response = chat_action(client, "PATCH", session["id"], "assign", make_account("admin"), {})
    assert_error(response, 400, field="supportAgentId")
    assert_still_pending(app, session["id"])


def test_assign_to_inactive_agent_returns_400(app, client, make_account, make_agent, open_session):
    admin = make_account("admin")
    _agent_account, agent = make_agent(max_chats=2)
    set_agent(client, admin, agent["id"], isActive=False)
    session = open_session(make_account("user"))

    response = assign(client, session["id"], agent["id"], admin)

    body = assert_error(response, 400, field="supportAgentId")
    assert body["errors"]["supportAgentId"] == ["El agente de soporte no está activo"]
    assert_still_pending(app, session["id"])
    assert load_of(app, agent["id"]) == 0


def test_inactive_agent_cannot_self_assign(app, client, make_account, make_agent, open_session):
    agent_account, agent = make_agent(max_chats=2)
    away = client.patch(
        "/api/support/agents/me", json={"isActive": False}, headers=agent_account.headers
    )
    assert away.status_code == 200
    session = open_session(make_account("user"))

    assert_error(
        assign(client, session["id"], agent["id"], agent_account), 400, field="supportAgentId"
    )
    assert_still_pending(app, session["id"])


def test_assign_unknown_session_returns_404(app, client, make_agent):
    agent_account, agent = make_agent(max_chats=2)
    response = assign(client, str(uuid.uuid4()), agent["id"], agent_account)
    assert_error(response, 404, MSG_SESSION_NOT_FOUND)
    assert load_of(app, agent["id"]) == 0


def test_assign_malformed_session_id_returns_404(client, make_agent):
    agent_account, agent = make_agent(max_chats=2)
    assert_error(
        assign(client, "not-a-uuid", agent["id"], agent_account), 404, MSG_SESSION_NOT_FOUND
    )


def test_assign_closed_session_returns_409(app, client, make_account, make_agent, open_session):
    agent_account, agent = make_agent(max_chats=2)
    user = make_account("user")
    session = open_session(user)
    close(client, session["id"], user, expect=200)

    response = assign(client, session["id"], agent["id"], agent_account)

    assert_error(response, 409)
    state = assignment_of(app, session["id"])
    assert state["status"] == "closed"
    assert state["support_agent_id"] is None
    assert load_of(app, agent["id"]) == 0


def test_assign_session_closed_by_its_agent_returns_409_and_frees_the_slot(
    app, client, make_account, make_agent, open_session
):
    agent_account, agent = make_agent(max_chats=1)
    session = open_session(make_account("user"))
    assert assign(client, session["id"], agent["id"], agent_account).status_code == 200
    close(client, session["id"], agent_account, expect=200)
    assert load_of(app, agent["id"]) == 0

    assert_error(assign(client, session["id"], agent["id"], agent_account), 409)
    assert load_of(app, agent["id"]) == 0


@pytest.mark.parametrize(("assigner", "capacity"), [("agent", 2), ("superadmin", 1)])
def test_assign_returns_409_when_agent_at_capacity(
    app, client, make_account, make_agent, open_session, assigner, capacity
):
    """The agent themself or an admin: a full agent takes no more, and nothing changes."""
    agent_account, agent = make_agent(max_chats=capacity)
    user = make_account("user")
    fill(client, app, agent_account, agent, user, open_session, capacity)
    session = open_session(user)
    audit_rows = assignment_audit_rows(app)
    account = agent_account if assigner == "agent" else make_account(assigner)

    response = assign(client, session["id"], agent["id"], account)

    assert_error(response, 409, MSG_AT_CAPACITY)
    assert_still_pending(app, session["id"])
    assert load_of(app, agent["id"]) == capacity == real_active_count(app, agent["id"])
    assert assignment_audit_rows(app) == audit_rows


def test_freed_slot_can_be_taken_again(app, client, make_account, make_agent, open_session):
    agent_account, agent = make_agent(max_chats=1)
    user = make_account("user")
    (taken,) = fill(client, app, agent_account, agent, user, open_session, 1)
    waiting = open_session(user)["id"]
    assert_error(assign(client, waiting, agent["id"], agent_account), 409, MSG_AT_CAPACITY)

    close(client, taken, user, expect=200)
    assert assign(client, waiting, agent["id"], agent_account).status_code == 200
    assert load_of(app, agent["id"]) == 1 == real_active_count(app, agent["id"])


# --- lowered capacity ------------------------------------------------------------------------


def test_capacity_lowered_below_current_load_blocks_new_assignments(
    app, client, make_account, make_agent, open_session
):
    admin, user = make_account("admin"), make_account("user")
    agent_account, agent = make_agent(max_chats=3)
    fill(client, app, agent_account, agent, user, open_session, 3)

    lowered = set_agent(client, admin, agent["id"], maxConcurrentChats=1)

    assert lowered["maxConcurrentChats"] == 1
    assert lowered["currentActiveChats"] == 3
    session = open_session(user)["id"]
    assert_error(assign(client, session, agent["id"], agent_account), 409, MSG_AT_CAPACITY)
    assert_error(assign(client, session, agent["id"], admin), 409, MSG_AT_CAPACITY)
    assert_still_pending(app, session)
    assert load_of(app, agent["id"]) == 3 == real_active_count(app, agent["id"])


def test_capacity_lowered_below_load_keeps_existing_chats_working(
    app, client, make_account, make_agent, open_session
):
    admin, user = make_account("admin"), make_account("user")
    agent_account, agent = make_agent(max_chats=2)
    first, second = fill(client, app, agent_account, agent, user, open_session, 2)
    set_agent(client, admin, agent["id"], maxConcurrentChats=1)

    reply(client, first, agent_account, "Sigo aquí", expect=201)
    close(client, first, user, expect=200)
    assert load_of(app, agent["id"]) == 1
    # Still at the lowered capacity: one chat open, capacity one.
    assert_error(assign(client, open_session(user)["id"], agent["id"], agent_account), 409)
    close(client, second, user, expect=200)
    assert assign(client, open_session(user)["id"], agent["id"], agent_account).status_code == 200


# --- concurrency ------------------------------------------------------------------------------


CONCURRENT_REQUESTS = 30
CAPACITY = 5


def assert_capacity_held(app, agent_id: str, session_ids: list[str], results: list[tuple]) -> None:
    statuses = [status for status, _body in results]
    assert statuses.count(200) == CAPACITY, statuses
    assert statuses.count(409) == CONCURRENT_REQUESTS - CAPACITY, statuses
    for status, body in results:
        assert body["success"] is (status == 200)
        if status == 409:
            assert body["message"] == MSG_AT_CAPACITY
    assert load_of(app, agent_id) == CAPACITY == real_active_count(app, agent_id)
    states = [assignment_of(app, sid) for sid in session_ids]
    assert sum(s["status"] == "active" for s in states) == CAPACITY
    assert sum(s["status"] == "pending" and s["support_agent_id"] is None for s in states) == (
        CONCURRENT_REQUESTS - CAPACITY
    )
    assert assignment_audit_rows(app) == CAPACITY


def test_concurrent_assignments_from_threads_never_exceed_capacity(
    app, client, make_account, make_agent, open_session
):
    """30 threads, each with its own test client (own app context, own pooled connection),
    assign 30 distinct pending sessions to one agent of capacity 5 at the same moment."""
    agent_account, agent = make_agent(max_chats=CAPACITY)
    user = make_account("user")
    session_ids = [open_session(user, message=None)["id"] for _ in range(CONCURRENT_REQUESTS + 2)]
    targets = session_ids[:CONCURRENT_REQUESTS]
    start = threading.Barrier(CONCURRENT_REQUESTS)

    def attempt(session_id: str) -> tuple[int, dict]:
        own_client = app.test_client()
        start.wait(timeout=30)
        response = assign(own_client, session_id, agent["id"], agent_account)
        return response.status_code, response.get_json()

    with ThreadPoolExecutor(max_workers=CONCURRENT_REQUESTS) as pool:
        results = list(pool.map(attempt, targets))

    assert_capacity_held(app, agent["id"], targets, results)
    for sid in session_ids[CONCURRENT_REQUESTS:]:
        assert_still_pending(app, sid)


def test_concurrent_admin_assignments_from_threads_never_exceed_capacity(
    app, client, make_account, make_agent, open_session
):
    """Same race driven by two admins at once, so the role check is not what serialises it."""
    _agent_account, agent = make_agent(max_chats=CAPACITY)
    admins = [make_account("admin"), make_account("superadmin")]
    user = make_account("user")
    session_ids = [open_session(user, message=None)["id"] for _ in range(CONCURRENT_REQUESTS)]
    start = threading.Barrier(CONCURRENT_REQUESTS)

    def attempt(index: int) -> tuple[int, dict]:
        own_client = app.test_client()
        start.wait(timeout=30)
        response = assign(own_client, session_ids[index], agent["id"], admins[index % 2])
        return response.status_code, response.get_json()

    with ThreadPoolExecutor(max_workers=CONCURRENT_REQUESTS) as pool:
        results = list(pool.map(attempt, range(CONCURRENT_REQUESTS)))

    assert_capacity_held(app, agent["id"], session_ids, results)


@pytest.fixture(scope="module")
def live_server(test_environ, app) -> Iterator[GunicornServer]:
    """The app under gunicorn (the Procfile way): 4 worker processes × 8 threads, on the test
    database."""
    with gunicorn_server(
        test_environ, workers=4, threads=8, timeout=60, GUNICORN_WORKER_CLASS="gthread"
    ) as server:
        yield server


@pytest.mark.slow
@pytest.mark.skipif(os.name != "posix", reason="gunicorn needs a POSIX system")
def test_concurrent_assignments_across_server_processes_never_exceed_capacity(
    live_server, app, make_account, make_agent, open_session
):
    """The same race against a real multi-process server: the lock must hold across processes."""
    agent_account, agent = make_agent(max_chats=CAPACITY)
    user = make_account("user")
    session_ids = [open_session(user, message=None)["id"] for _ in range(CONCURRENT_REQUESTS)]
    start = threading.Barrier(CONCURRENT_REQUESTS)

    def attempt(session_id: str) -> tuple[int, dict]:
        start.wait(timeout=30)
        response = live_server.request(
            "PATCH",
            f"/api/chat/session/{session_id}/assign",
            {"supportAgentId": agent["id"]},
            token=agent_account.token,
            timeout=60,
        )
        return response.status, response.body

    with ThreadPoolExecutor(max_workers=CONCURRENT_REQUESTS) as pool:
        results = list(pool.map(attempt, session_ids))

    assert_capacity_held(app, agent["id"], session_ids, results)


def test_concurrent_swaps_between_two_agents_neither_deadlock_nor_drift(
    app, client, make_account, make_agent, open_session
):
    """Sessions move A→B and B→A at the same time: the agent rows are locked in one order, so
    no request dies in a deadlock, and both counters still equal the real counts."""
    admin = make_account("admin")
    _a_account, agent_a = make_agent(max_chats=20)
    _b_account, agent_b = make_agent(max_chats=20)
    user = make_account("user")
    on_a = [open_session(user, message=None)["id"] for _ in range(8)]
    on_b = [open_session(user, message=None)["id"] for _ in range(8)]
    for sid in on_a:
        assert assign(client, sid, agent_a["id"], admin).status_code == 200
    for sid in on_b:
        assert assign(client, sid, agent_b["id"], admin).status_code == 200
    moves = [(sid, agent_b["id"]) for sid in on_a] + [(sid, agent_a["id"]) for sid in on_b]
    start = threading.Barrier(len(moves))

    def attempt(move: tuple[str, str]) -> int:
        own_client = app.test_client()
        start.wait(timeout=30)
        return assign(own_client, move[0], move[1], admin).status_code

    with ThreadPoolExecutor(max_workers=len(moves)) as pool:
        statuses = list(pool.map(attempt, moves))

    assert statuses == [200] * len(moves)
    for agent in (agent_a, agent_b):
        assert load_of(app, agent["id"]) == 8 == real_active_count(app, agent["id"])
    assert {str(assignment_of(app, sid)["support_agent_id"]) for sid in on_a} == {agent_b["id"]}
    assert {str(assignment_of(app, sid)["support_agent_id"]) for sid in on_b} == {agent_a["id"]}

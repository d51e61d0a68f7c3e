"""GET /api/chat/sessions/all and GET /api/chat/sessions/status/:status."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from supportapp.extensions import db
from tests.conftest import assert_error
from tests.helpers import assign, close, fetch_all, reply, send, set_priority
from tests.spec_shapes import LISTED_SESSION_FIELDS, MESSAGE_FIELDS

LIST_URL = "/api/chat/sessions/all"
SUPPORT_ROLES = ("support", "admin", "superadmin")
SORT_FIELDS = ("createdAt", "lastMessageAt", "assignedAt", "priority", "status")
SORT_COLUMNS = {
    "createdAt": "created_at",
    "lastMessageAt": "last_message_at",
    "assignedAt": "assigned_at",
    "priority": "priority_rank",
    "status": "status",
}
BASE_TIME = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


# --- helpers ----------------------------------------------------------------------------------


def list_all(client, account, **params):
    return client.get(LIST_URL, query_string=params, headers=account.headers)


def listed_ids(response) -> list[str]:
    assert response.status_code == 200, response.get_json()
    return [s["id"] for s in response.get_json()["data"]["sessions"]]


def set_columns(app, session_id: str, **values) -> None:
    """Put exact values in a session row (timestamps), so orderings and ties are controlled."""
    assignments = ", ".join(f"{column} = :{column}" for column in values)
    with app.app_context():
        db.session.execute(
            text(f"UPDATE chat_sessions SET {assignments} WHERE id = :id"),
            {**values, "id": session_id},
        )
        db.session.commit()
        db.session.remove()


def session_rows(app) -> list[dict]:
    return fetch_all(
        app,
        "SELECT id, created_at, last_message_at, assigned_at, priority_rank,"
        " status::text AS status FROM chat_sessions",
    )


def expected_orders(rows: list[dict], sort_by: str, order: str) -> list[list[str]]:
    """The orders the contract allows: by the field, ties by id in the same direction. Rows
    without a value (assignedAt of pending sessions) come together at one end."""
    column = SORT_COLUMNS[sort_by]
    descending = order == "desc"
    present = sorted(
        (r for r in rows if r[column] is not None),
        key=lambda r: (r[column], r["id"]),
        reverse=descending,
    )
    missing = sorted(
        (r for r in rows if r[column] is None), key=lambda r: r["id"], reverse=descending
    )
    ids = [[str(r["id"]) for r in present], [str(r["id"]) for r in missing]]
    return [ids[0] + ids[1], ids[1] + ids[0]]


@pytest.fixture
def staff(make_account, make_agent):
    """A support agent (capacity 50) and an admin, who build the fixtures."""
    agent_account, agent = make_agent(max_chats=50)
    return agent_account, agent, make_account("admin")


def build_mixed_sessions(app, client, make_account, open_session, staff, count: int) -> list[str]:
    """`count` sessions of one user across every status and priority, with deliberate ties
    in every timestamp so the id tie-break decides part of every order."""
    agent_account, agent, admin = staff
    user = make_account("user")
    ids = []
    for i in range(count):
        session = open_session(user, message=f"Mensaje {i}" if i % 3 else None)
        sid = session["id"]
        set_priority(client, sid, ("low", "medium", "high")[i % 3], admin, expect=200)
        if i % 4 in (1, 2):
            assign(client, sid, agent["id"], agent_account, expect=200)
        if i % 4 == 2:
            close(client, sid, admin, expect=200)
        ids.append(sid)
    for i, sid in enumerate(ids):
        values = {
            "created_at": BASE_TIME + timedelta(minutes=i // 3),
            "last_message_at": BASE_TIME + timedelta(minutes=(i * 7) % 5),
        }
        if i % 4 in (1, 2):
            values["assigned_at"] = BASE_TIME + timedelta(hours=1, minutes=i // 4)
        set_columns(app, sid, **values)
    return ids


# --- access -----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", SUPPORT_ROLES)
def test_list_all_returns_200_for_each_support_role(client, make_account, open_session, role):
    session = open_session(make_account("user"))
    response = list_all(client, make_account(role))
    assert response.status_code == 200
    body = response.get_json()
    assert body["success"] is True
    assert body["message"] == "Sesiones obtenidas exitosamente"
    assert [s["id"] for s in body["data"]["sessions"]] == [session["id"]]
    assert body["data"]["pagination"] == {"page": 1, "limit": 20, "total": 1, "totalPages": 1}


def test_list_all_without_token_returns_401(client):
    assert_error(client.get(LIST_URL), 401, "Token inválido o expirado")


def test_list_all_with_bad_token_returns_401(client):
    response = client.get(LIST_URL, headers={"Authorization": "Bearer not.a.token"})
    assert_error(response, 401, "Token inválido o expirado")


def test_list_all_for_user_role_returns_403(client, make_account):
    assert_error(
        list_all(client, make_account("user")), 403, "No tienes permisos para realizar esta acción"
    )


def test_list_all_on_empty_database_has_zero_pages(client, make_account):
    response = list_all(client, make_account("support"))
    assert response.get_json()["data"] == {
        "sessions": [],
        "pagination": {"page": 1, "limit": 20, "total": 0, "totalPages": 0},
    }


# --- filters ----------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["pending", "active", "closed"])
def test_list_all_filters_by_status(app, client, make_account, open_session, staff, status):
    ids = build_mixed_sessions(app, client, make_account, open_session, staff, 8)
    expected = {str(r["id"]) for r in session_rows(app) if r["status"] == status}
    assert expected and len(expected) < len(ids)
    response = list_all(client, staff[2], status=status)
    assert set(listed_ids(response)) == expected
    assert response.get_json()["data"]["pagination"]["total"] == len(expected)
    assert {s["status"] for s in response.get_json()["data"]["sessions"]} == {status}


@pytest.mark.parametrize("priority", ["low", "medium", "high"])
def test_list_all_filters_by_priority(app, client, make_account, open_session, staff, priority):
    build_mixed_sessions(app, client, make_account, open_session, staff, 9)
    response = list_all(client, staff[2], priority=priority, limit=100)
    sessions = response.get_json()["data"]["sessions"]
    assert len(sessions) == 3
    assert {s["priority"] for s in sessions} == {priority}
    assert response.get_json()["data"]["pagination"]["total"] == 3


def test_list_all_filters_by_status_and_priority_together(
    app, client, make_account, open_session, staff
):
    build_mixed_sessions(app, client, make_account, open_session, staff, 12)
    expected = {
        str(r["id"])
        for r in session_rows(app)
        if r["status"] == "pending" and r["priority_rank"] == 3  # high
    }
    response = list_all(client, staff[2], status="pending", priority="high")
    assert set(listed_ids(response)) == expected
    assert response.get_json()["data"]["pagination"]["total"] == len(expected)


def test_list_all_filters_by_support_agent_id(client, make_account, make_agent, open_session):
    admin = make_account("admin")
    first_account, first = make_agent(max_chats=5)
    second_account, second = make_agent(max_chats=5)
    user = make_account("user")
    mine = [open_session(user)["id"] for _ in range(2)]
    theirs = open_session(user)["id"]
    open_session(user)  # unassigned
    for sid in mine:
        assign(client, sid, first["id"], first_account, expect=200)
    assign(client, theirs, second["id"], second_account, expect=200)

    response = list_all(client, admin, supportAgentId=first["id"])
    assert sorted(listed_ids(response)) == sorted(mine)
    assert response.get_json()["data"]["pagination"]["total"] == 2
    assert listed_ids(list_all(client, admin, supportAgentId=second["id"])) == [theirs]


def test_list_all_support_agent_id_me_means_the_callers_agent(
    client, make_account, make_agent, open_session
):
    me_account, me = make_agent(max_chats=5)
    other_account, other = make_agent(max_chats=5)
    user = make_account("user")
    mine = open_session(user)["id"]
    assign(client, mine, me["id"], me_account, expect=200)
    assign(client, open_session(user)["id"], other["id"], other_account, expect=200)

    assert listed_ids(list_all(client, me_account, supportAgentId="me")) == [mine]


def test_list_all_support_agent_id_me_without_agent_profile_returns_404(client, make_account):
    response = list_all(client, make_account("support"), supportAgentId="me")
    assert_error(response, 404, "Agente de soporte no encontrado")


def test_list_all_unknown_support_agent_id_lists_nothing(client, make_account, open_session):
    open_session(make_account("user"))
    response = list_all(client, make_account("admin"), supportAgentId=str(uuid.uuid4()))
    assert listed_ids(response) == []
    assert response.get_json()["data"]["pagination"]["total"] == 0


def test_list_all_filters_by_user_id(client, make_account, open_session):
    alice, bob = make_account("user"), make_account("user")
    alice_sessions = {open_session(alice)["id"] for _ in range(3)}
    open_session(bob)
    response = list_all(client, make_account("support"), userId=alice.id)
    assert set(listed_ids(response)) == alice_sessions
    assert {s["userId"] for s in response.get_json()["data"]["sessions"]} == {alice.id}
    assert response.get_json()["data"]["pagination"]["total"] == 3


# --- sorting ----------------------------------------------------------------------------------


def test_list_all_defaults_to_last_message_at_descending(app, client, make_account, open_session):
    user = make_account("user")
    ids = [open_session(user)["id"] for _ in range(4)]
    for minutes, sid in zip([3, 1, 4, 2], ids, strict=True):
        set_columns(app, sid, last_message_at=BASE_TIME + timedelta(minutes=minutes))
    expected = [ids[2], ids[0], ids[3], ids[1]]
    assert listed_ids(list_all(client, make_account("support"))) == expected


@pytest.mark.parametrize("sort_order", ["asc", "desc"])
@pytest.mark.parametrize("sort_by", SORT_FIELDS)
def test_list_all_sorts_by_each_field_and_order_with_ties_by_id(
    app, client, make_account, open_session, staff, sort_by, sort_order
):
    build_mixed_sessions(app, client, make_account, open_session, staff, 12)
    response = list_all(client, staff[2], sortBy=sort_by, sortOrder=sort_order, limit=100)
    assert listed_ids(response) in expected_orders(session_rows(app), sort_by, sort_order)


@pytest.mark.parametrize(
    ("sort_order", "expected"),
    [("desc", ["high", "medium", "low"]), ("asc", ["low", "medium", "high"])],
)
def test_list_all_sorts_priority_by_severity_not_alphabet(
    client, make_account, open_session, sort_order, expected
):
    user, support = make_account("user"), make_account("support")
    ids = {}
    for priority in ("medium", "low", "high"):
        ids[priority] = open_session(user)["id"]
        set_priority(client, ids[priority], priority, support, expect=200)
    response = list_all(client, support, sortBy="priority", sortOrder=sort_order)
    assert listed_ids(response) == [ids[p] for p in expected]


def test_list_all_priority_ties_are_ordered_by_id(client, make_account, open_session):
    user, support = make_account("user"), make_account("support")
    high = sorted(open_session(user)["id"] for _ in range(3))
    low = sorted(open_session(user)["id"] for _ in range(3))
    for sid in high:
        set_priority(client, sid, "high", support, expect=200)
    for sid in low:
        set_priority(client, sid, "low", support, expect=200)

    desc = list_all(client, support, sortBy="priority", sortOrder="desc")
    asc = list_all(client, support, sortBy="priority", sortOrder="asc")
    assert listed_ids(desc) == sorted(high, reverse=True) + sorted(low, reverse=True)
    assert listed_ids(asc) == sorted(low) + sorted(high)


# --- pagination -------------------------------------------------------------------------------


@pytest.mark.parametrize("sort_by", SORT_FIELDS)
def test_list_all_pages_have_no_duplicates_or_gaps(
    app, client, make_account, open_session, staff, sort_by
):
    ids = build_mixed_sessions(app, client, make_account, open_session, staff, 25)
    for sort_order in ("asc", "desc"):
        seen: list[str] = []
        for page in (1, 2, 3, 4):
            response = list_all(
                client, staff[2], sortBy=sort_by, sortOrder=sort_order, page=page, limit=7
            )
            data = response.get_json()["data"]
            assert data["pagination"] == {"page": page, "limit": 7, "total": 25, "totalPages": 4}
            assert len(data["sessions"]) == (7 if page < 4 else 4)
            seen.extend(s["id"] for s in data["sessions"])
        assert len(seen) == len(set(seen)) == 25
        assert set(seen) == set(ids)
        full = list_all(client, staff[2], sortBy=sort_by, sortOrder=sort_order, limit=100)
        assert seen == listed_ids(full)


def test_list_all_page_past_the_end_is_empty(client, make_account, open_session):
    user = make_account("user")
    for _ in range(3):
        open_session(user)
    response = list_all(client, make_account("support"), page=3, limit=2)
    data = response.get_json()["data"]
    assert data["sessions"] == []
    assert data["pagination"] == {"page": 3, "limit": 2, "total": 3, "totalPages": 2}


def test_list_all_accepts_limit_bounds(client, make_account, open_session):
    user, support = make_account("user"), make_account("support")
    for _ in range(2):
        open_session(user)
    assert len(listed_ids(list_all(client, support, limit=1))) == 1
    assert len(listed_ids(list_all(client, support, limit=100))) == 2


# --- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("page", "0"),
        ("page", "-1"),
        ("page", "abc"),
        ("limit", "0"),
        ("limit", "101"),
        ("limit", "ten"),
        ("sortBy", "name"),
        ("sortBy", "created_at"),
        ("sortOrder", "up"),
        ("sortOrder", "DESC"),
        ("status", "open"),
        ("status", ""),
        ("priority", "urgent"),
        ("priority", "HIGH"),
        ("userId", "not-a-uuid"),
        ("supportAgentId", "someone"),
    ],
)
def test_list_all_invalid_parameter_returns_400_naming_it(client, make_account, param, value):
    response = list_all(client, make_account("support"), **{param: value})
    body = assert_error(response, 400, field=param)
    assert body["errors"][param]


def test_list_all_invalid_status_message_names_the_valid_values(client, make_account):
    response = list_all(client, make_account("support"), status="open")
    assert_error(response, 400, "El estado debe ser active, closed o pending", field="status")


def test_list_all_invalid_priority_message_is_the_spec_one(client, make_account):
    response = list_all(client, make_account("support"), priority="urgent")
    assert_error(response, 400, "La prioridad debe ser low, medium o high", field="priority")


# --- shape ------------------------------------------------------------------------------------


def test_each_listed_session_has_every_spec_field(client, make_account, make_agent, open_session):
    user = make_account("user")
    agent_account, agent = make_agent(max_chats=5)
    assigned = open_session(user)["id"]
    assign(client, assigned, agent["id"], agent_account, expect=200)
    open_session(user, message=None)

    sessions = list_all(client, agent_account).get_json()["data"]["sessions"]
    assert len(sessions) == 2
    for session in sessions:
        assert set(session) == LISTED_SESSION_FIELDS, session
        assert "unreadCount" in session
        assert isinstance(session["messages"], list)
        assert len(session["messages"]) <= 1
        for field in ("createdAt", "lastMessageAt"):
            assert session[field].endswith("Z")
        for message in session["messages"]:
            assert set(message) == MESSAGE_FIELDS
    by_id = {s["id"]: s for s in sessions}
    assert by_id[assigned]["supportAgentId"] == agent["id"]
    assert by_id[assigned]["assignedAt"].endswith("Z")
    assert by_id[assigned]["status"] == "active"
    others = [s for s in sessions if s["id"] != assigned]
    assert others[0]["supportAgentId"] is None
    assert others[0]["assignedAt"] is None
    assert others[0]["messages"] == []
    assert others[0]["unreadCount"] == 0


def test_listed_session_carries_only_its_most_recent_message(
    client, make_account, make_agent, open_session
):
    user = make_account("user")
    agent_account, _agent = make_agent(max_chats=5)
    sid = open_session(user, message="Primero")["id"]
    send(client, sid, user, "Segundo", expect=201)
    answer = reply(client, sid, agent_account, "Respuesta", expect=201)

    (session,) = list_all(client, agent_account).get_json()["data"]["sessions"]
    assert session["messages"] == [answer]
    assert session["lastMessageAt"] == answer["timestamp"]


def test_listed_unread_count_counts_unread_user_messages(client, make_account, open_session):
    user, support = make_account("user"), make_account("support")
    sid = open_session(user, message="Uno")["id"]
    for text_ in ("Dos", "Tres"):
        send(client, sid, user, text_, expect=201)
    (session,) = list_all(client, support).get_json()["data"]["sessions"]
    assert session["unreadCount"] == 3

    assert client.patch(f"/api/chat/session/{sid}/read", headers=support.headers).status_code == 200
    (session,) = list_all(client, support).get_json()["data"]["sessions"]
    assert session["unreadCount"] == 0


# --- GET /api/chat/sessions/status/:status ------------------------------------------------------


def by_status(client, account, status, **params):
    return client.get(
        f"/api/chat/sessions/status/{status}", query_string=params, headers=account.headers
    )


@pytest.mark.parametrize("role", SUPPORT_ROLES)
def test_by_status_returns_a_plain_array_for_each_support_role(
    client, make_account, open_session, role
):
    session = open_session(make_account("user"))
    response = by_status(client, make_account(role), "pending")
    assert response.status_code == 200
    body = response.get_json()
    assert body["success"] is True
    assert body["message"] == "Sesiones obtenidas exitosamente"
    assert isinstance(body["data"], list)
    assert [s["id"] for s in body["data"]] == [session["id"]]
    assert set(body["data"][0]) == LISTED_SESSION_FIELDS
    assert response.headers["X-Total-Count"] == "1"


@pytest.mark.parametrize("status", ["pending", "active", "closed"])
def test_by_status_lists_only_that_status(app, client, make_account, open_session, staff, status):
    build_mixed_sessions(app, client, make_account, open_session, staff, 8)
    expected = {str(r["id"]) for r in session_rows(app) if r["status"] == status}
    response = by_status(client, staff[2], status)
    assert {s["id"] for s in response.get_json()["data"]} == expected
    assert response.headers["X-Total-Count"] == str(len(expected))


def test_by_status_orders_by_last_message_descending(app, client, make_account, open_session):
    user = make_account("user")
    ids = [open_session(user)["id"] for _ in range(3)]
    for minutes, sid in zip([2, 3, 1], ids, strict=True):
        set_columns(app, sid, last_message_at=BASE_TIME + timedelta(minutes=minutes))
    response = by_status(client, make_account("support"), "pending")
    assert [s["id"] for s in response.get_json()["data"]] == [ids[1], ids[0], ids[2]]


def test_by_status_defaults_to_50_per_page_with_total_header(client, make_account, open_session):
    user, support = make_account("user"), make_account("support")
    ids = {open_session(user, message=None)["id"] for _ in range(53)}
    first = by_status(client, support, "pending")
    assert len(first.get_json()["data"]) == 50
    assert first.headers["X-Total-Count"] == "53"
    second = by_status(client, support, "pending", page=2)
    assert len(second.get_json()["data"]) == 3
    assert second.headers["X-Total-Count"] == "53"
    listed = [s["id"] for s in first.get_json()["data"] + second.get_json()["data"]]
    assert len(listed) == len(set(listed))
    assert set(listed) == ids


def test_by_status_accepts_limit_up_to_100(client, make_account, open_session):
    user, support = make_account("user"), make_account("support")
    for _ in range(3):
        open_session(user, message=None)
    response = by_status(client, support, "pending", limit=100)
    assert len(response.get_json()["data"]) == 3
    assert len(by_status(client, support, "pending", limit=2).get_json()["data"]) == 2


@pytest.mark.parametrize(("param", "value"), [("limit", "101"), ("limit", "0"), ("page", "0")])
def test_by_status_invalid_page_or_limit_returns_400(client, make_account, param, value):
    response = by_status(client, make_account("support"), "pending", **{param: value})
    assert_error(response, 400, field=param)


@pytest.mark.parametrize("status", ["open", "PENDING", "all"])
def test_by_status_unknown_status_returns_400(client, make_account, status):
    response = by_status(client, make_account("support"), status)
    assert_error(response, 400, "El estado debe ser active, closed o pending", field="status")


def test_by_status_without_token_returns_401(client):
    assert_error(client.get("/api/chat/sessions/status/pending"), 401, "Token inválido o expirado")


def test_by_status_for_user_role_returns_403(client, make_account):
    response = by_status(client, make_account("user"), "pending")
    assert_error(response, 403, "No tienes permisos para realizar esta acción")

"""GET/POST /api/support/agents, PATCH /api/support/agents/:id and /agents/me."""

from __future__ import annotations

import uuid

import pytest

from tests.conftest import assert_error
from tests.helpers import assert_ok, assign, fetch_all
from tests.spec_shapes import AGENT_FIELDS, MSG_FORBIDDEN, MSG_UNAUTHORIZED

AGENTS_URL = "/api/support/agents"
MSG_AGENT_NOT_FOUND = "Agente de soporte no encontrado"
MSG_CAPACITY = "El límite de chats debe estar entre 1 y 50"


# --- helpers ----------------------------------------------------------------------------------


def create(client, account, **body):
    return client.post(AGENTS_URL, json=body, headers=account.headers if account else {})


def update(client, account, agent_id, **body):
    return client.patch(
        f"{AGENTS_URL}/{agent_id}", json=body, headers=account.headers if account else {}
    )


def agent_rows(app) -> list[dict]:
    return fetch_all(
        app,
        "SELECT id, user_id, name, email, is_active, max_concurrent_chats,"
        " current_active_chats FROM support_agents ORDER BY created_at, id",
    )


def agent_row(app, agent_id: str) -> dict:
    (row,) = [r for r in agent_rows(app) if str(r["id"]) == agent_id]
    return row


# --- GET /api/support/agents ------------------------------------------------------------------


@pytest.mark.parametrize("role", ["admin", "superadmin"])
def test_list_agents_returns_every_agent_for_admin_roles(client, make_account, make_agent, role):
    _first_account, first = make_agent(max_chats=3)
    _second_account, second = make_agent(max_chats=7)

    response = client.get(AGENTS_URL, headers=make_account(role).headers)

    assert response.status_code == 200
    body = response.get_json()
    assert body["success"] is True
    assert body["message"] == "Agentes obtenidos exitosamente"
    assert body["data"] == [first, second]


def test_list_agents_is_empty_without_agents(client, make_account):
    response = client.get(AGENTS_URL, headers=make_account("admin").headers)
    assert response.get_json()["data"] == []


@pytest.mark.parametrize("role", ["support", "user"])
def test_list_agents_for_non_admin_role_returns_403(client, make_account, role):
    assert_error(client.get(AGENTS_URL, headers=make_account(role).headers), 403, MSG_FORBIDDEN)


def test_list_agents_without_token_returns_401(client):
    assert_error(client.get(AGENTS_URL), 401, MSG_UNAUTHORIZED)


@pytest.mark.parametrize(("value", "active"), [("true", True), ("false", False)])
def test_list_agents_filters_by_is_active(client, make_account, make_agent, value, active):
    admin = make_account("admin")
    _on_account, on = make_agent(max_chats=2)
    _off_account, off = make_agent(max_chats=2)
    assert update(client, admin, off["id"], isActive=False).status_code == 200

    response = client.get(AGENTS_URL, query_string={"isActive": value}, headers=admin.headers)

    expected = on["id"] if active else off["id"]
    assert [a["id"] for a in response.get_json()["data"]] == [expected]
    assert {a["isActive"] for a in response.get_json()["data"]} == {active}


def test_list_agents_invalid_is_active_returns_400(client, make_account):
    response = client.get(
        AGENTS_URL, query_string={"isActive": "maybe"}, headers=make_account("admin").headers
    )
    assert_error(response, 400, field="isActive")


def test_list_agents_shows_live_counters(client, make_account, make_agent, open_session):
    agent_account, agent = make_agent(max_chats=4)
    session = open_session(make_account("user"))
    assign(client, session["id"], agent["id"], agent_account, expect=200)

    listed = client.get(AGENTS_URL, headers=make_account("admin").headers).get_json()["data"]

    assert [(a["id"], a["currentActiveChats"]) for a in listed] == [(agent["id"], 1)]


# --- POST /api/support/agents ------------------------------------------------------------------


@pytest.mark.parametrize("role", ["admin", "superadmin"])
def test_create_agent_returns_201_with_the_spec_shape(app, client, make_account, role):
    staff = make_account("support", email="ana.soporte@example.com")

    response = create(
        client, make_account(role), userId=staff.id, name="Ana Soporte", maxConcurrentChats=8
    )

    agent = assert_ok(response, 201, "Agente creado exitosamente")
    assert set(agent) == AGENT_FIELDS
    assert uuid.UUID(agent["id"])
    assert agent["userId"] == staff.id
    assert agent["name"] == "Ana Soporte"
    assert agent["email"] == "ana.soporte@example.com"
    assert agent["isActive"] is True
    assert agent["maxConcurrentChats"] == 8
    assert agent["currentActiveChats"] == 0
    assert agent["createdAt"].endswith("Z")
    assert agent["updatedAt"].endswith("Z")
    (row,) = agent_rows(app)
    assert str(row["id"]) == agent["id"]
    assert row["email"] == "ana.soporte@example.com"


def test_create_agent_defaults_to_five_concurrent_chats(client, make_account):
    staff = make_account("support")
    response = create(client, make_account("admin"), userId=staff.id, name="Agente")
    assert response.status_code == 201
    assert response.get_json()["data"]["maxConcurrentChats"] == 5


def test_create_agent_trims_the_name(client, make_account):
    staff = make_account("support")
    response = create(client, make_account("admin"), userId=staff.id, name="  Luis  ")
    assert response.get_json()["data"]["name"] == "Luis"


@pytest.mark.parametrize("role", ["admin", "superadmin"])
def test_admin_roles_may_also_become_agents(client, make_account, role):
    staff = make_account(role)
    response = create(client, make_account("admin"), userId=staff.id, name="Jefe")
    assert response.status_code == 201
    assert response.get_json()["data"]["userId"] == staff.id


@pytest.mark.parametrize("capacity", [1, 50])
def test_create_agent_accepts_capacity_bounds(client, make_account, capacity):
    staff = make_account("support")
    response = create(
        client, make_account("admin"), userId=staff.id, name="A", maxConcurrentChats=capacity
    )
    assert response.status_code == 201
    assert response.get_json()["data"]["maxConcurrentChats"] == capacity


@pytest.mark.parametrize("capacity", [0, 51, -1, 1000, "5", 2.5, None, True])
def test_create_agent_capacity_out_of_range_returns_400(app, client, make_account, capacity):
    staff = make_account("support")
    response = create(
        client, make_account("admin"), userId=staff.id, name="A", maxConcurrentChats=capacity
    )
    assert_error(response, 400, field="maxConcurrentChats")
    assert agent_rows(app) == []


def test_create_agent_capacity_message_names_the_range(client, make_account):
    staff = make_account("support")
    response = create(
        client, make_account("admin"), userId=staff.id, name="A", maxConcurrentChats=51
    )
    assert_error(response, 400, MSG_CAPACITY, field="maxConcurrentChats")


def test_create_agent_for_unknown_user_returns_400(app, client, make_account):
    response = create(client, make_account("admin"), userId=str(uuid.uuid4()), name="Fantasma")
    assert_error(response, 400, "El usuario no existe", field="userId")
    assert agent_rows(app) == []


@pytest.mark.parametrize("user_id", ["not-a-uuid", "", None, 7])
def test_create_agent_with_malformed_user_id_returns_400(app, client, make_account, user_id):
    response = create(client, make_account("admin"), userId=user_id, name="A")
    assert_error(response, 400, field="userId")
    assert agent_rows(app) == []


def test_create_agent_without_user_id_returns_400(client, make_account):
    assert_error(create(client, make_account("admin"), name="A"), 400, field="userId")


def test_create_agent_for_plain_user_returns_400(app, client, make_account):
    customer = make_account("user")
    response = create(client, make_account("admin"), userId=customer.id, name="Cliente")
    assert_error(
        response, 400, "El usuario debe tener rol support, admin o superadmin", field="userId"
    )
    assert agent_rows(app) == []


def test_create_agent_for_user_already_an_agent_returns_409(app, client, make_account, make_agent):
    staff, agent = make_agent(max_chats=3)
    response = create(client, make_account("admin"), userId=staff.id, name="Otra vez")
    assert_error(response, 409, "El usuario ya es un agente de soporte")
    assert [str(r["id"]) for r in agent_rows(app)] == [agent["id"]]
    assert agent_rows(app)[0]["max_concurrent_chats"] == 3


@pytest.mark.parametrize("name", ["", "   ", "x" * 101, None])
def test_create_agent_with_invalid_name_returns_400(app, client, make_account, name):
    staff = make_account("support")
    response = create(client, make_account("admin"), userId=staff.id, name=name)
    assert_error(response, 400, field="name")
    assert agent_rows(app) == []


def test_create_agent_without_name_returns_400(client, make_account):
    staff = make_account("support")
    assert_error(create(client, make_account("admin"), userId=staff.id), 400, field="name")


@pytest.mark.parametrize("role", ["support", "user"])
def test_create_agent_for_non_admin_role_returns_403(app, client, make_account, role):
    staff = make_account("support")
    response = create(client, make_account(role), userId=staff.id, name="Yo mismo")
    assert_error(response, 403, MSG_FORBIDDEN)
    assert agent_rows(app) == []


def test_create_agent_without_token_returns_401(app, client, make_account):
    staff = make_account("support")
    assert_error(create(client, None, userId=staff.id, name="A"), 401, MSG_UNAUTHORIZED)
    assert agent_rows(app) == []


# --- PATCH /api/support/agents/:id -------------------------------------------------------------


@pytest.mark.parametrize("role", ["admin", "superadmin"])
def test_update_agent_changes_name_availability_and_capacity(
    app, client, make_account, make_agent, role
):
    _staff, agent = make_agent(max_chats=3)

    response = update(
        client,
        make_account(role),
        agent["id"],
        name="  Nuevo Nombre ",
        isActive=False,
        maxConcurrentChats=12,
    )

    assert response.status_code == 200
    body = response.get_json()
    assert body["message"] == "Agente actualizado exitosamente"
    data = body["data"]
    assert set(data) == AGENT_FIELDS
    assert (data["name"], data["isActive"], data["maxConcurrentChats"]) == (
        "Nuevo Nombre",
        False,
        12,
    )
    assert data["createdAt"] == agent["createdAt"]
    assert data["updatedAt"] > agent["updatedAt"]
    row = agent_row(app, agent["id"])
    assert (row["name"], row["is_active"], row["max_concurrent_chats"]) == (
        "Nuevo Nombre",
        False,
        12,
    )


@pytest.mark.parametrize(
    ("field", "value"), [("name", "Solo nombre"), ("isActive", False), ("maxConcurrentChats", 9)]
)
def test_update_agent_changes_only_the_given_field(
    app, client, make_account, make_agent, field, value
):
    _staff, agent = make_agent(max_chats=3)
    response = update(client, make_account("admin"), agent["id"], **{field: value})
    data = response.get_json()["data"]
    assert data[field] == value
    for other in {"name", "isActive", "maxConcurrentChats"} - {field}:
        assert data[other] == agent[other]


def test_update_agent_can_reactivate(client, make_account, make_agent):
    admin = make_account("admin")
    _staff, agent = make_agent(max_chats=3)
    assert (
        update(client, admin, agent["id"], isActive=False).get_json()["data"]["isActive"] is False
    )
    assert update(client, admin, agent["id"], isActive=True).get_json()["data"]["isActive"] is True


def test_update_agent_capacity_below_current_load_is_allowed(
    app, client, make_account, make_agent, open_session
):
    agent_account, agent = make_agent(max_chats=3)
    user = make_account("user")
    for _ in range(2):
        session = open_session(user)
        assign(client, session["id"], agent["id"], agent_account, expect=200)

    response = update(client, make_account("admin"), agent["id"], maxConcurrentChats=1)

    assert response.status_code == 200
    assert response.get_json()["data"]["maxConcurrentChats"] == 1
    assert response.get_json()["data"]["currentActiveChats"] == 2
    assert agent_row(app, agent["id"])["current_active_chats"] == 2


def test_update_unknown_agent_returns_404(client, make_account):
    response = update(client, make_account("admin"), str(uuid.uuid4()), name="X")
    assert_error(response, 404, MSG_AGENT_NOT_FOUND)


def test_update_agent_with_malformed_id_returns_404(client, make_account):
    assert_error(update(client, make_account("admin"), "abc", name="X"), 404, MSG_AGENT_NOT_FOUND)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("maxConcurrentChats", 0),
        ("maxConcurrentChats", 51),
        ("maxConcurrentChats", "10"),
        ("name", ""),
        ("name", "   "),
        ("name", "x" * 101),
        ("isActive", "maybe"),
    ],
)
def test_update_agent_with_invalid_value_returns_400_and_changes_nothing(
    app, client, make_account, make_agent, field, value
):
    _staff, agent = make_agent(max_chats=3)
    before = agent_row(app, agent["id"])
    response = update(client, make_account("admin"), agent["id"], **{field: value})
    assert_error(response, 400, field=field)
    assert agent_row(app, agent["id"]) == before


def test_update_agent_cannot_write_the_trigger_kept_counter(
    app, client, make_account, make_agent, open_session
):
    agent_account, agent = make_agent(max_chats=3)
    session = open_session(make_account("user"))
    assign(client, session["id"], agent["id"], agent_account, expect=200)
    response = update(client, make_account("admin"), agent["id"], currentActiveChats=0)
    assert response.status_code in (200, 400)
    assert agent_row(app, agent["id"])["current_active_chats"] == 1


def test_invalid_field_rolls_back_the_valid_ones(app, client, make_account, make_agent):
    _staff, agent = make_agent(max_chats=3)
    before = agent_row(app, agent["id"])
    response = update(client, make_account("admin"), agent["id"], name="Bien", maxConcurrentChats=0)
    assert_error(response, 400, field="maxConcurrentChats")
    assert agent_row(app, agent["id"]) == before


@pytest.mark.parametrize("role", ["support", "user"])
def test_update_agent_for_non_admin_role_returns_403(app, client, make_account, make_agent, role):
    staff, agent = make_agent(max_chats=3)
    before = agent_row(app, agent["id"])
    # Not even a support agent on their own profile: capacity is the admin's decision.
    account = staff if role == "support" else make_account(role)
    response = update(client, account, agent["id"], maxConcurrentChats=50)
    assert_error(response, 403, MSG_FORBIDDEN)
    assert agent_row(app, agent["id"]) == before


def test_update_agent_without_token_returns_401(client, make_agent):
    _staff, agent = make_agent(max_chats=3)
    assert_error(update(client, None, agent["id"], name="X"), 401, MSG_UNAUTHORIZED)


# --- /api/support/agents/me --------------------------------------------------------------------


def test_get_my_agent_returns_the_callers_profile(client, make_agent):
    staff, agent = make_agent(max_chats=4)
    make_agent(max_chats=2)  # someone else's profile

    response = client.get(f"{AGENTS_URL}/me", headers=staff.headers)

    assert response.status_code == 200
    assert response.get_json()["message"] == "Agente obtenido exitosamente"
    assert response.get_json()["data"] == agent


@pytest.mark.parametrize("role", ["admin", "superadmin"])
def test_get_my_agent_works_for_admins_with_a_profile(client, make_agent, role):
    staff, agent = make_agent(max_chats=4, role=role)
    assert client.get(f"{AGENTS_URL}/me", headers=staff.headers).get_json()["data"] == agent


@pytest.mark.parametrize("role", ["support", "admin"])
def test_get_my_agent_without_profile_returns_404(client, make_account, role):
    response = client.get(f"{AGENTS_URL}/me", headers=make_account(role).headers)
    assert_error(response, 404, MSG_AGENT_NOT_FOUND)


def test_get_my_agent_for_user_role_returns_403(client, make_account):
    response = client.get(f"{AGENTS_URL}/me", headers=make_account("user").headers)
    assert_error(response, 403, MSG_FORBIDDEN)


def test_get_my_agent_without_token_returns_401(client):
    assert_error(client.get(f"{AGENTS_URL}/me"), 401, MSG_UNAUTHORIZED)


def test_agent_toggles_their_own_availability(app, client, make_account, make_agent):
    staff, agent = make_agent(max_chats=4)
    admin = make_account("admin")

    away = client.patch(f"{AGENTS_URL}/me", json={"isActive": False}, headers=staff.headers)
    assert away.status_code == 200
    assert away.get_json()["message"] == "Agente actualizado exitosamente"
    assert away.get_json()["data"]["isActive"] is False
    assert agent_row(app, agent["id"])["is_active"] is False
    inactive = client.get(AGENTS_URL, query_string={"isActive": "false"}, headers=admin.headers)
    assert [a["id"] for a in inactive.get_json()["data"]] == [agent["id"]]

    back = client.patch(f"{AGENTS_URL}/me", json={"isActive": True}, headers=staff.headers)
    assert back.get_json()["data"]["isActive"] is True
    assert agent_row(app, agent["id"])["is_active"] is True


def test_patch_my_agent_without_profile_returns_404(client, make_account):
    response = client.patch(
        f"{AGENTS_URL}/me", json={"isActive": False}, headers=make_account("support").headers
    )
    assert_error(response, 404, MSG_AGENT_NOT_FOUND)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"isActive": "sometimes"},
        {"isActive": None},
        {"presence": "offline"},
        {"presence": "busy"},
        {"presence": None},
        {"presence": 1},
        {"presence": "away", "isActive": "x"},
    ],
)
def test_patch_my_agent_with_invalid_body_returns_400_and_changes_nothing(
    app, client, make_agent, body
):
    staff, agent = make_agent(max_chats=4)
    before = agent_row(app, agent["id"])
    response = client.patch(f"{AGENTS_URL}/me", json=body, headers=staff.headers)
    assert_error(response, 400)
    assert agent_row(app, agent["id"]) == before


def test_agent_cannot_change_their_own_capacity_through_me(app, client, make_agent):
    staff, agent = make_agent(max_chats=4)
    response = client.patch(
        f"{AGENTS_URL}/me", json={"isActive": True, "maxConcurrentChats": 50}, headers=staff.headers
    )
    assert response.status_code in (200, 400)
    assert agent_row(app, agent["id"])["max_concurrent_chats"] == 4


def test_patch_my_agent_for_user_role_returns_403(client, make_account):
    response = client.patch(
        f"{AGENTS_URL}/me", json={"isActive": False}, headers=make_account("user").headers
    )
    assert_error(response, 403, MSG_FORBIDDEN)

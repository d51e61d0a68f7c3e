"""Teams: CRUD and roles, members, business hours validation, the widget's team list and
availability, opening a chat for a team, and the per-team queue."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import assert_error
from tests.spec_shapes import TEAM_FIELDS

ALWAYS_CLOSED = {"timezone": "Europe/Madrid", "weekly": {}}


def all_week(zone: str = "UTC") -> dict:
    days = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    return {"timezone": zone, "weekly": {d: [["00:00", "24:00"]] for d in days}}


@pytest.fixture
def make_team(client, admin):
    def factory(name: str | None = None, **fields) -> dict:
        body = {"name": name or f"Equipo {uuid.uuid4().hex[:6]}", **fields}
        response = client.post("/api/support/teams", json=body, headers=admin.headers)
        assert response.status_code == 201, response.get_json()
        return response.get_json()["data"]

    return factory


def test_admin_creates_a_team_with_defaults(client, admin):
    response = client.post(
        "/api/support/teams", json={"name": "  Facturación  "}, headers=admin.headers
    )
    assert response.status_code == 201
    body = response.get_json()
    assert body["message"] == "Equipo creado exitosamente"
    team = body["data"]
    assert team["name"] == "Facturación"
    assert team["description"] is None
    assert team["isPublic"] is True
    assert team["businessHours"] is None
    assert team["agentIds"] == []
    assert set(team) == TEAM_FIELDS
    assert team["createdAt"].endswith("Z")


def test_business_hours_are_stored_in_canonical_form(client, admin):
    hours = {
        "timezone": "Europe/Madrid",
        "weekly": {"mon": [["15:00", "24:00"], ["09:00", "13:00"]]},
        "holidays": ["2026-12-25"],
    }
    response = client.post(
        "/api/support/teams",
        json={"name": "Técnico", "businessHours": hours},
        headers=admin.headers,
    )
    assert response.status_code == 201
    assert response.get_json()["data"]["businessHours"] == {
        "timezone": "Europe/Madrid",
        "weekly": {"mon": [["09:00", "13:00"], ["15:00", "24:00"]]},
        "holidays": ["2026-12-25"],
    }


@pytest.mark.parametrize(
    "hours",
    [
        {"timezone": "Nowhere/Land", "weekly": {}},
        {"timezone": "UTC", "weekly": {"mon": [["18:00", "09:00"]]}},
        {"timezone": "UTC", "weekly": {"mon": [["09:00", "12:00"], ["11:00", "14:00"]]}},
        {"timezone": "UTC", "weekly": {"mon": [["09:00", "25:00"]]}},
        {"timezone": "UTC", "weekly": {}, "holidays": ["mañana"]},
        "siempre",
    ],
)
def test_bad_business_hours_are_400(client, admin, hours):
    response = client.post(
        "/api/support/teams", json={"name": "X", "businessHours": hours}, headers=admin.headers
    )
    assert_error(response, 400, field="businessHours")
    assert client.get("/api/support/teams", headers=admin.headers).get_json()["data"] == []


@pytest.mark.parametrize("name", ["", "   ", "x" * 101, None, 5])
def test_bad_names_are_400(client, admin, name):
    response = client.post("/api/support/teams", json={"name": name}, headers=admin.headers)
    assert_error(response, 400, field="name")


def test_duplicate_name_is_409_on_create_and_update(client, admin, make_team):
    make_team("Ventas")
    other = make_team("Soporte")
    response = client.post("/api/support/teams", json={"name": "Ventas"}, headers=admin.headers)
    assert_error(response, 409, "Ya existe un equipo con ese nombre")
    response = client.patch(
        f"/api/support/teams/{other['id']}", json={"name": "Ventas"}, headers=admin.headers
    )
    assert_error(response, 409, "Ya existe un equipo con ese nombre")


def test_roles(client, make_account, make_team):
    team = make_team()
    support = make_account("support")
    user = make_account("user")
    assert client.get("/api/support/teams", headers=support.headers).status_code == 200
    assert (
        client.get(f"/api/support/teams/{team['id']}", headers=support.headers).status_code == 200
    )
    for account in (support, user):
        assert_error(
            client.post("/api/support/teams", json={"name": "Y"}, headers=account.headers), 403
        )
        assert_error(
            client.patch(
                f"/api/support/teams/{team['id']}", json={"name": "Y"}, headers=account.headers
            ),
            403,
        )
        assert_error(
            client.put(
                f"/api/support/teams/{team['id']}/members",
                json={"agentIds": []},
                headers=account.headers,
            ),
            403,
        )
    assert_error(client.get("/api/support/teams", headers=user.headers), 403)
    assert_error(client.get("/api/support/teams"), 401)


def test_get_and_patch_unknown_team_is_404(client, admin):
    for path in (f"/api/support/teams/{uuid.uuid4()}", "/api/support/teams/nope"):
        assert_error(client.get(path, headers=admin.headers), 404, "Equipo no encontrado")
        assert_error(
            client.patch(path, json={"name": "Z"}, headers=admin.headers),
            404,
            "Equipo no encontrado",
        )
        assert_error(
            client.put(f"{path}/members", json={"agentIds": []}, headers=admin.headers), 404
        )


def test_patch_changes_fields_and_audits(client, admin, make_team):
    team = make_team("Antes")
    response = client.patch(
        f"/api/support/teams/{team['id']}",
        json={"name": "Después", "isPublic": False, "businessHours": ALWAYS_CLOSED},
        headers=admin.headers,
    )
    assert response.status_code == 200
    data = response.get_json()["data"]
    assert data["name"] == "Después"
    assert data["isPublic"] is False
    assert data["businessHours"]["timezone"] == "Europe/Madrid"
    response = client.patch(
        f"/api/support/teams/{team['id']}", json={"businessHours": None}, headers=admin.headers
    )
    assert response.get_json()["data"]["businessHours"] is None
    logs = client.get("/api/support/logs?action=team.update", headers=admin.headers)
    entries = logs.get_json()["data"]["logs"]
    assert len(entries) == 2
    assert {"name": "Antes"}.items() <= entries[-1]["before"].items()


def test_members_are_replaced_and_checked(client, admin, make_team, make_agent):
    team = make_team()
    _, first = make_agent()
    _, second = make_agent()
    path = f"/api/support/teams/{team['id']}/members"
    response = client.put(
        path, json={"agentIds": [first["id"], second["id"]]}, headers=admin.headers
    )
    assert response.status_code == 200
    assert sorted(response.get_json()["data"]["agentIds"]) == sorted([first["id"], second["id"]])
    response = client.put(path, json={"agentIds": [second["id"]]}, headers=admin.headers)
    assert response.get_json()["data"]["agentIds"] == [second["id"]]
    missing = str(uuid.uuid4())
    response = client.put(path, json={"agentIds": [first["id"], missing]}, headers=admin.headers)
    body = assert_error(response, 400, field="agentIds")
    assert missing in body["errors"]["agentIds"][0]
    assert_error(client.put(path, json={"agentIds": ["x"]}, headers=admin.headers), 400)
    assert_error(client.put(path, json={}, headers=admin.headers), 400, field="agentIds")
    # nothing changed by the refused calls
    got = client.get(f"/api/support/teams/{team['id']}", headers=admin.headers)
    assert got.get_json()["data"]["agentIds"] == [second["id"]]


def test_an_agent_may_belong_to_several_teams(client, admin, make_team, make_agent):
    _, agent = make_agent()
    for team in (make_team(), make_team()):
        response = client.put(
            f"/api/support/teams/{team['id']}/members",
            json={"agentIds": [agent["id"]]},
            headers=admin.headers,
        )
        assert response.status_code == 200
    teams = client.get("/api/support/teams", headers=admin.headers).get_json()["data"]
    assert all(t["agentIds"] == [agent["id"]] for t in teams)


# --- widget endpoints --------------------------------------------------------------------------


def test_public_team_list_for_any_user(client, make_account, make_team):
    open_team = make_team("Abierto", businessHours=all_week())
    closed = make_team("Cerrado", businessHours=ALWAYS_CLOSED)
    make_team("Interno", isPublic=False)
    user = make_account("user")
    response = client.get("/api/chat/teams", headers=user.headers)
    assert response.status_code == 200
    teams = {t["name"]: t for t in response.get_json()["data"]}
    assert set(teams) == {"Abierto", "Cerrado"}
    assert teams["Abierto"] == {
        "id": open_team["id"],
        "name": "Abierto",
        "open": True,
        "nextOpenAt": None,
        "estimatedWaitMinutes": None,
    }
    assert teams["Cerrado"]["open"] is False
    assert teams["Cerrado"]["nextOpenAt"] is None  # it never opens
    assert closed["id"] == teams["Cerrado"]["id"]
    assert_error(client.get("/api/chat/teams"), 401)


def test_availability_of_a_team_closed_until_tomorrow(client, make_account, make_team):
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date()
    day = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[tomorrow.weekday()]
    team = make_team(businessHours={"timezone": "UTC", "weekly": {day: [["10:00", "11:00"]]}})
    user = make_account("user")
    response = client.get(f"/api/chat/availability?teamId={team['id']}", headers=user.headers)
    assert response.status_code == 200
    data = response.get_json()["data"]
    assert data == {
        "open": False,
        "nextOpenAt": f"{tomorrow.isoformat()}T10:00:00.000Z",
        "agentsOnline": 0,
        "estimatedWaitMinutes": None,
    }


def test_availability_without_team_and_errors(client, make_account, make_team):
    user = make_account("user")
    data = client.get("/api/chat/availability", headers=user.headers).get_json()["data"]
    assert data["open"] is True and data["nextOpenAt"] is None
    hidden = make_team(isPublic=False)
    for team_id in (str(uuid.uuid4()), hidden["id"]):
        response = client.get(f"/api/chat/availability?teamId={team_id}", headers=user.headers)
        assert_error(response, 400, field="teamId")
    assert_error(client.get("/api/chat/availability?teamId=x", headers=user.headers), 400)


# --- opening a chat for a team -----------------------------------------------------------------


def test_open_session_for_a_team(client, make_account, make_team):
    team = make_team(businessHours=all_week("Asia/Kolkata"))
    user = make_account("user")
    response = client.post(
        "/api/chat/sessions", json={"message": "hola", "teamId": team["id"]}, headers=user.headers
    )
    assert response.status_code == 201
    session = response.get_json()["data"]
    assert session["teamId"] == team["id"]
    assert session["outsideBusinessHours"] is False
    assert session["sla"] == {
        "firstResponseDueAt": None,
        "resolutionDueAt": None,
        "firstResponseBreached": False,
        "resolutionBreached": False,
    }


def test_open_session_while_team_closed_is_queued_outside_hours(client, make_account, make_team):
    team = make_team(businessHours=ALWAYS_CLOSED)
    user = make_account("user")
    response = client.post("/api/chat/sessions", json={"teamId": team["id"]}, headers=user.headers)
    assert response.status_code == 201
    session = response.get_json()["data"]
    assert session["status"] == "pending"
    assert session["outsideBusinessHours"] is True


def test_open_session_for_unknown_or_private_team_is_400(client, make_account, make_team):
    user = make_account("user")
    hidden = make_team(isPublic=False)
    for team_id in (str(uuid.uuid4()), hidden["id"], "nope"):
        response = client.post(
            "/api/chat/sessions", json={"message": "hola", "teamId": team_id}, headers=user.headers
        )
        assert_error(response, 400, field="teamId")
    admin_view = client.get("/api/chat/sessions", headers=user.headers).get_json()["data"]
    assert admin_view["sessions"] == []


def test_sessions_without_team_have_null_team(client, make_account, open_session):
    session = open_session(make_account("user"))
    assert session["teamId"] is None
    assert session["outsideBusinessHours"] is False


def test_queue_and_lists_filter_by_team(client, make_account, make_team, open_session):
    team = make_team()
    user = make_account("user")
    staff = make_account("admin")
    outside = open_session(user)
    inside = client.post(
        "/api/chat/sessions", json={"teamId": team["id"]}, headers=user.headers
    ).get_json()["data"]
    queue = client.get(f"/api/chat/queue?teamId={team['id']}", headers=staff.headers)
    rows = queue.get_json()["data"]["sessions"]
    assert [r["id"] for r in rows] == [inside["id"]]
    assert rows[0]["position"] == 1
    assert queue.get_json()["data"]["pagination"]["total"] == 1
    listed = client.get(f"/api/chat/sessions/all?teamId={team['id']}", headers=staff.headers)
    assert [s["id"] for s in listed.get_json()["data"]["sessions"]] == [inside["id"]]
    assert listed.get_json()["data"]["pagination"]["total"] == 1
    # Positions are per team: each session heads its own queue.
    for session in (outside, inside):
        position = client.get(
            f"/api/chat/session/{session['id']}/queue", headers=user.headers
        ).get_json()["data"]
        assert position["position"] == 1
        assert position["total"] == 1


# --- the agents' push waits for opening time ---------------------------------------------------


def test_no_push_until_the_team_opens(app, client, make_account, make_team, monkeypatch):
    from supportapp.services import queue, sessions

    pushed: list[tuple[list[str], str]] = []
    record = lambda uow, ids, reason: pushed.append(([str(i) for i in ids], reason))  # noqa: E731
    monkeypatch.setattr(sessions, "notify_queued", record)
    monkeypatch.setattr(queue, "notify_queued", record)
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date()
    day = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[tomorrow.weekday()]
    team = make_team(businessHours={"timezone": "UTC", "weekly": {day: [["10:00", "11:00"]]}})
    open_team = make_team(businessHours=all_week())
    user = make_account("user")
    closed_chat = client.post(
        "/api/chat/sessions", json={"teamId": team["id"]}, headers=user.headers
    ).get_json()["data"]
    open_chat = client.post(
        "/api/chat/sessions", json={"teamId": open_team["id"]}, headers=user.headers
    ).get_json()["data"]
    assert pushed == [([open_chat["id"]], "created")]
    opening = datetime.combine(tomorrow, datetime.min.time(), UTC) + timedelta(hours=10)
    with app.app_context():
        assert queue.release_deferred_notices(now=opening - timedelta(seconds=1)) == 0
        assert queue.release_deferred_notices(now=opening) == 1
        assert queue.release_deferred_notices(now=opening + timedelta(minutes=5)) == 0
    assert pushed[-1] == ([closed_chat["id"]], "created")
    assert len(pushed) == 2

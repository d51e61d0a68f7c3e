"""SLA targets: roles and validation, due times on sessions (after priority changes and
through business hours), breaches and warnings announced once, and `slaMet`."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import redis

from supportapp.extensions import db
from supportapp.models import ChatSession
from supportapp.realtime.bus import EVENT_STREAM
from supportapp.services import sla
from tests.conftest import assert_error
from tests.helpers import assign, close, reply, set_priority

TARGETS = {
    "high": {"firstResponseMinutes": 5, "resolutionMinutes": 60},
    "medium": {"firstResponseMinutes": 15, "resolutionMinutes": 240},
}


def parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@pytest.fixture
def targets(client, admin):
    response = client.put("/api/support/sla", json=TARGETS, headers=admin.headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["data"]


def test_targets_default_to_none_and_are_replaced(client, admin, make_account):
    support = make_account("support")
    data = client.get("/api/support/sla", headers=support.headers).get_json()["data"]
    assert data == {
        p: {"firstResponseMinutes": None, "resolutionMinutes": None}
        for p in ("low", "medium", "high")
    }
    response = client.put("/api/support/sla", json=TARGETS, headers=admin.headers)
    assert response.status_code == 200
    assert response.get_json()["message"] == "Objetivos de SLA actualizados exitosamente"
    saved = client.get("/api/support/sla", headers=support.headers).get_json()["data"]
    assert saved == {**TARGETS, "low": {"firstResponseMinutes": None, "resolutionMinutes": None}}
    # A PUT replaces: high only now.
    client.put("/api/support/sla", json={"high": {"resolutionMinutes": 30}}, headers=admin.headers)
    saved = client.get("/api/support/sla", headers=support.headers).get_json()["data"]
    assert saved["high"] == {"firstResponseMinutes": None, "resolutionMinutes": 30}
    assert saved["medium"] == {"firstResponseMinutes": None, "resolutionMinutes": None}


def test_only_admins_change_targets(client, make_account):
    support = make_account("support")
    user = make_account("user")
    assert_error(client.put("/api/support/sla", json=TARGETS, headers=support.headers), 403)
    assert_error(client.put("/api/support/sla", json=TARGETS, headers=user.headers), 403)
    assert_error(client.get("/api/support/sla", headers=user.headers), 403)
    assert_error(client.get("/api/support/sla"), 401)


@pytest.mark.parametrize(
    "body, field",
    [
        ({"high": {"firstResponseMinutes": 0}}, "high"),
        ({"high": {"resolutionMinutes": -5}}, "high"),
        ({"high": {"resolutionMinutes": 1.5}}, "high"),
        ({"high": {"resolutionMinutes": "x"}}, "high"),
        ({"urgent": {"resolutionMinutes": 5}}, "urgent"),
        ({"high": 5}, "high"),
    ],
)
def test_bad_targets_are_400_and_change_nothing(client, admin, targets, body, field):
    assert_error(client.put("/api/support/sla", json=body, headers=admin.headers), 400, field=field)
    assert (
        client.get("/api/support/sla", headers=admin.headers).get_json()["data"]["high"]
        == (TARGETS["high"])
    )


def test_due_times_follow_priority_changes(client, admin, targets, make_account, open_session):
    user = make_account("user")
    session = open_session(user)
    created = parse(session["createdAt"])
    due = session["sla"]
    assert parse(due["firstResponseDueAt"]) == created + timedelta(minutes=15)
    assert parse(due["resolutionDueAt"]) == created + timedelta(minutes=240)
    assert due["firstResponseBreached"] is False and due["resolutionBreached"] is False

    changed = set_priority(client, session["id"], "high", admin, expect=200)
    assert parse(changed["sla"]["firstResponseDueAt"]) == created + timedelta(minutes=5)
    assert parse(changed["sla"]["resolutionDueAt"]) == created + timedelta(minutes=60)

    low = set_priority(client, session["id"], "low", admin, expect=200)
    assert low["sla"]["firstResponseDueAt"] is None and low["sla"]["resolutionDueAt"] is None
    details = client.get(f"/api/chat/session/{session['id']}/details", headers=admin.headers)
    assert details.get_json()["data"]["session"]["sla"] == low["sla"]


def test_new_targets_reach_open_sessions(client, admin, make_account, open_session):
    session = open_session(make_account("user"))
    assert session["sla"]["firstResponseDueAt"] is None
    client.put("/api/support/sla", json=TARGETS, headers=admin.headers)
    listed = client.get("/api/chat/sessions/all", headers=admin.headers).get_json()["data"]
    due = listed["sessions"][0]["sla"]["firstResponseDueAt"]
    assert parse(due) == parse(session["createdAt"]) + timedelta(minutes=15)


def test_due_times_count_only_business_hours(client, admin, targets, make_account):
    # A team open only tomorrow 10:00–11:00 UTC: the 15-minute target ends at 10:15.
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date()
    day = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[tomorrow.weekday()]
    team = client.post(
        "/api/support/teams",
        json={
            "name": "Horario",
            "businessHours": {"timezone": "UTC", "weekly": {day: [["10:00", "11:00"]]}},
        },
        headers=admin.headers,
    ).get_json()["data"]
    user = make_account("user")
    session = client.post(
        "/api/chat/sessions", json={"teamId": team["id"]}, headers=user.headers
    ).get_json()["data"]
    assert session["outsideBusinessHours"] is True
    assert session["sla"]["firstResponseDueAt"] == f"{tomorrow.isoformat()}T10:15:00.000Z"
    # 240 minutes of a one-hour-a-week schedule: four weeks later.
    assert session["sla"]["resolutionDueAt"] == (
        f"{(tomorrow + timedelta(weeks=3)).isoformat()}T11:00:00.000Z"
    )


def _age(session_id: str, minutes: float) -> None:
    """Move a session's history (and so its due times) `minutes` into the past."""
    with db.session.begin():
        row = db.session.get(ChatSession, uuid.UUID(session_id))
        row.created_at = row.created_at - timedelta(minutes=minutes)
        row.queued_at = row.created_at
        if row.first_response_at is not None:
            row.first_response_at -= timedelta(minutes=minutes)
        sla.apply_due_times(row, None)
    db.session.remove()


def _sla_events(redis_url: str) -> list[tuple[str, dict]]:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    return [
        (fields["event"], json.loads(fields["data"]) | {"_support": fields["support"]})
        for _, fields in client.xrange(EVENT_STREAM)
        if fields["event"].startswith("sla_")
    ]


def test_sweep_announces_warning_then_breach_once(
    app, client, admin, targets, make_account, open_session, redis_url
):
    session = open_session(make_account("user"))
    with app.app_context():
        _age(session["id"], 12.5)  # 80 % of 15 minutes is 12
        assert [(n.kind, n.target) for n in sla.sweep()] == [("warning", "firstResponse")]
        assert sla.sweep() == []
        _age(session["id"], 3)  # now past the 15 minutes
        assert [(n.kind, n.target) for n in sla.sweep()] == [("breach", "firstResponse")]
        assert sla.sweep() == []
    events = _sla_events(redis_url)
    assert [(name, data["target"]) for name, data in events] == [
        ("sla_warning", "firstResponse"),
        ("sla_breached", "firstResponse"),
    ]
    assert all(data["_support"] == "1" for _, data in events)
    assert events[-1][1]["session"]["sla"]["firstResponseBreached"] is True
    shown = client.get(f"/api/chat/session/{session['id']}/details", headers=admin.headers)
    assert shown.get_json()["data"]["session"]["sla"]["firstResponseBreached"] is True


def test_answered_session_has_no_first_response_breach(
    app, client, admin, targets, make_agent, make_account, open_session
):
    account, agent = make_agent()
    session = open_session(make_account("user"))
    assign(client, session["id"], agent["id"], account)
    reply(client, session["id"], account, "Hola, le ayudo", expect=201)
    with app.app_context():
        _age(session["id"], 20)
        notices = sla.sweep()
    assert [(n.kind, n.target) for n in notices] == []
    shown = client.get(f"/api/chat/session/{session['id']}/details", headers=admin.headers)
    assert shown.get_json()["data"]["session"]["sla"]["firstResponseBreached"] is False


def test_resolution_breach_after_long_open_session(app, admin, targets, make_account, open_session):
    session = open_session(make_account("user"))
    with app.app_context():
        _age(session["id"], 300)
        kinds = sorted((n.kind, n.target) for n in sla.sweep())
    # A breach found before its warning was sent is announced alone.
    assert kinds == [("breach", "firstResponse"), ("breach", "resolution")]


# --- slaMet ------------------------------------------------------------------------------------


def test_sla_met_in_advanced_stats_and_agent_metrics(
    app, client, admin, targets, make_agent, make_account, open_session
):
    account, agent = make_agent()
    user = make_account("user")
    answered = open_session(user)  # answered in time, then closed in time
    late = open_session(user)  # no answer until its due time passed
    undecided = open_session(user)  # nothing due yet: not counted
    for session in (answered, late):
        assign(client, session["id"], agent["id"], account)
    reply(client, answered["id"], account)
    close(client, answered["id"], account, expect=200)
    with app.app_context():
        _age(late["id"], 20)  # 15-minute first-response target, 240-minute resolution
    stats = client.get("/api/chat/stats", headers=admin.headers).get_json()["data"]
    assert stats["advanced"]["slaMet"] == {"firstResponse": 50.0, "resolution": 100.0}
    mine = client.get(f"/api/support/agents/{agent['id']}/metrics", headers=admin.headers)
    assert mine.get_json()["data"]["slaMet"] == {"firstResponse": 50.0, "resolution": 100.0}
    assert undecided["sla"]["firstResponseDueAt"] is not None


def test_sla_met_is_null_without_targets(client, admin, make_account, open_session):
    open_session(make_account("user"))
    stats = client.get("/api/chat/stats", headers=admin.headers).get_json()["data"]
    assert stats["advanced"]["slaMet"] == {"firstResponse": None, "resolution": None}


def test_stats_for_one_team(client, admin, make_account, open_session):
    team = client.post(
        "/api/support/teams", json={"name": "Facturación"}, headers=admin.headers
    ).get_json()["data"]
    user = make_account("user")
    open_session(user)
    open_session(user)
    in_team = client.post(
        "/api/chat/sessions", json={"message": "hola", "teamId": team["id"]}, headers=user.headers
    ).get_json()["data"]
    close(client, in_team["id"], user, expect=200)
    everyone = client.get("/api/chat/stats", headers=admin.headers).get_json()["data"]
    assert everyone["totalSessions"] == 3
    only = client.get(f"/api/chat/stats?teamId={team['id']}", headers=admin.headers)
    data = only.get_json()["data"]
    assert data["totalSessions"] == 1
    assert data["closedSessions"] == 1
    assert data["pendingSessions"] == 0
    assert data["sessionsToday"] == 1
    assert data["averageResponseTime"] == 0
    assert_error(client.get("/api/chat/stats?teamId=x", headers=admin.headers), 400)

"""Agent presence (offline | online | away): computed from open staff sockets and the agent's
chosen availability; routing follows it; chats of agents offline too long are requeued."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import text

from supportapp.extensions import db
from supportapp.models.base import utcnow
from supportapp.realtime.presence import connected_user_ids, vouch
from supportapp.services import assignment, lifecycle, presence
from tests.api.test_assign import real_active_count
from tests.api.test_transfers import audit_rows, stream_events
from tests.conftest import assert_error
from tests.helpers import assign, execute, fetch_one, load_of

AGENTS_URL = "/api/support/agents"


def me(client, account) -> dict:
    response = client.get(f"{AGENTS_URL}/me", headers=account.headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["data"]


def choose(client, account, value):
    return client.patch(f"{AGENTS_URL}/me", json={"presence": value}, headers=account.headers)


def sweep(app) -> int:
    with app.app_context():
        changed = presence.reconcile()
        db.session.remove()
    return changed


def test_a_new_agent_is_offline(client, make_agent):
    account, agent = make_agent()
    assert agent["presence"] == "offline"
    assert agent["presenceChangedAt"].endswith("Z")
    assert me(client, account)["presence"] == "offline"


def test_an_open_staff_socket_makes_the_agent_online_and_announces_it(
    app, client, make_agent, mark_online
):
    account, agent = make_agent()
    before = agent["presenceChangedAt"]

    mark_online(account.id)

    shown = me(client, account)
    assert shown["presence"] == "online"
    assert shown["presenceChangedAt"] > before
    changes = [d["agent"] for _f, d in stream_events(app, "agent_status_changed")]
    assert changes[-1]["id"] == agent["id"]
    assert changes[-1]["presence"] == "online"
    assert sweep(app) == 0  # nothing left to change, nothing announced twice


def test_the_agent_chooses_away_and_back(app, client, make_agent, mark_online):
    account, _agent = make_agent()
    mark_online(account.id)

    away = choose(client, account, "away")
    assert away.status_code == 200, away.get_json()
    assert away.get_json()["message"] == "Agente actualizado exitosamente"
    assert away.get_json()["data"]["presence"] == "away"
    back = choose(client, account, "online")
    assert back.get_json()["data"]["presence"] == "online"

    announced = [d["agent"]["presence"] for _f, d in stream_events(app, "agent_status_changed")]
    assert announced[-2:] == ["away", "online"]
    entries = audit_rows(app, "agent.updated")
    assert [(e["before"], e["after"]) for e in entries] == [
        ({"presence": "online"}, {"presence": "away"}),
        ({"presence": "away"}, {"presence": "online"}),
    ]


def test_without_a_socket_the_choice_is_kept_but_presence_stays_offline(
    app, client, make_agent, mark_online
):
    account, _agent = make_agent()
    response = choose(client, account, "away")
    assert response.get_json()["data"]["presence"] == "offline"

    mark_online(account.id)
    assert me(client, account)["presence"] == "away"


@pytest.mark.parametrize("value", ["offline", "busy", "", None, 3, True])
def test_choosing_anything_but_online_or_away_returns_400(app, client, make_agent, value):
    account, agent = make_agent()
    response = choose(client, account, value)
    assert_error(response, 400, field="presence")
    row = fetch_one(
        app, "SELECT availability::text AS a FROM support_agents WHERE id = :id", id=agent["id"]
    )
    assert row == {"a": "online"}


def test_an_agent_goes_offline_when_its_sockets_run_out(app, client, make_agent, mark_online):
    account, _agent = make_agent()
    mark_online(account.id, grace=0.5)
    online_since = me(client, account)["presenceChangedAt"]
    assert sweep(app) == 0

    time.sleep(0.7)
    assert sweep(app) == 1

    shown = me(client, account)
    assert shown["presence"] == "offline"
    assert shown["presenceChangedAt"] > online_since
    with app.app_context():
        assert account.id not in connected_user_ids()  # run-out vouches are forgotten


def test_agents_are_filtered_by_presence(client, make_account, make_agent, mark_online):
    admin = make_account("admin")
    on_account, on = make_agent()
    away_account, away = make_agent()
    _off_account, off = make_agent()
    mark_online(on_account.id, away_account.id)
    choose(client, away_account, "away")

    def listed(value):
        response = client.get(AGENTS_URL, query_string={"presence": value}, headers=admin.headers)
        assert response.status_code == 200, response.get_json()
        return [a["id"] for a in response.get_json()["data"]]

    assert listed("online") == [on["id"]]
    assert listed("away") == [away["id"]]
    assert listed("offline") == [off["id"]]
    response = client.get(AGENTS_URL, query_string={"presence": "idle"}, headers=admin.headers)
    assert_error(response, 400, field="presence")


# --- routing ----------------------------------------------------------------------------------


def auto_assign(app) -> int:
    with app.app_context():
        assigned = assignment.auto_assign_all()
        db.session.remove()
    return assigned


def agent_of(app, session_id: str) -> str | None:
    row = fetch_one(app, "SELECT support_agent_id FROM chat_sessions WHERE id = :id", id=session_id)
    return str(row["support_agent_id"]) if row["support_agent_id"] else None


def test_automatic_assignment_serves_only_online_agents(
    app, client, make_account, make_agent, mark_online, open_session
):
    admin = make_account("admin")
    on_account, on = make_agent(max_chats=2)
    away_account, _away = make_agent(max_chats=5)
    _off_account, _off = make_agent(max_chats=5)
    inactive_account, inactive = make_agent(max_chats=5)
    mark_online(on_account.id, away_account.id, inactive_account.id)
    choose(client, away_account, "away")
    client.patch(f"{AGENTS_URL}/{inactive['id']}", json={"isActive": False}, headers=admin.headers)
    user = make_account("user")
    sessions = [open_session(user) for _ in range(4)]

    assert auto_assign(app) == 2

    assert [agent_of(app, s["id"]) for s in sessions] == [on["id"], on["id"], None, None]
    assert load_of(app, on["id"]) == 2 == real_active_count(app, on["id"])


def test_without_assign_only_online_any_active_agent_is_served(
    app, make_account, make_agent, open_session
):
    _account, agent = make_agent(max_chats=2)
    session = open_session(make_account("user"))
    app.config["ASSIGN_ONLY_ONLINE"] = False
    try:
        assert auto_assign(app) == 1
    finally:
        app.config["ASSIGN_ONLY_ONLINE"] = True
    assert agent_of(app, session["id"]) == agent["id"]


def test_nobody_online_leaves_the_queue_alone(app, make_account, make_agent, open_session):
    make_agent(max_chats=2)
    session = open_session(make_account("user"))
    assert auto_assign(app) == 0
    assert agent_of(app, session["id"]) is None


def test_an_admin_may_still_assign_to_an_offline_agent(
    app, client, make_account, make_agent, open_session
):
    _account, agent = make_agent()
    session = open_session(make_account("user"))
    response = assign(client, session["id"], agent["id"], make_account("admin"))
    assert response.status_code == 200, response.get_json()
    assert agent["presence"] == "offline"


# --- requeue of an offline agent's chats ---------------------------------------------------------


def set_offline_since(app, agent_id: str, seconds_ago: float) -> None:
    execute(
        app,
        "UPDATE support_agents SET presence = 'offline', presence_changed_at = :t WHERE id = :id",
        t=utcnow() - timedelta(seconds=seconds_ago),
        id=agent_id,
    )


def requeue(app, seconds: int) -> int:
    with app.app_context():
        moved = lifecycle.requeue_offline(seconds)
        db.session.remove()
    return moved


def test_chats_of_an_agent_offline_too_long_go_back_to_the_queue_keeping_their_place(
    app, client, make_account, make_agent, open_session
):
    admin = make_account("admin")
    _gone_account, gone = make_agent(max_chats=5)
    _recent_account, recent = make_agent(max_chats=5)
    user = make_account("user")
    older, newer = open_session(user), open_session(user)
    waiting = open_session(user)
    for session in (older, newer):
        assert assign(client, session["id"], gone["id"], admin).status_code == 200
    kept = open_session(user)
    assert assign(client, kept["id"], recent["id"], admin).status_code == 200
    queued_at = {
        s["id"]: fetch_one(app, "SELECT queued_at FROM chat_sessions WHERE id = :id", id=s["id"])
        for s in (older, newer)
    }
    set_offline_since(app, gone["id"], 301)
    set_offline_since(app, recent["id"], 100)

    assert requeue(app, 0) == 0  # 0 = off
    assert requeue(app, 300) == 2

    for session in (older, newer):
        row = fetch_one(
            app,
            "SELECT status::text AS status, support_agent_id, queued_at FROM chat_sessions "
            "WHERE id = :id",
            id=session["id"],
        )
        assert row["status"] == "pending"
        assert row["support_agent_id"] is None
        assert row["queued_at"] == queued_at[session["id"]]["queued_at"]
    assert load_of(app, gone["id"]) == 0 == real_active_count(app, gone["id"])
    assert agent_of(app, kept["id"]) == recent["id"]
    queue = client.get("/api/chat/queue", headers=admin.headers).get_json()["data"]["sessions"]
    assert [s["id"] for s in queue] == [older["id"], newer["id"], waiting["id"]]

    entries = audit_rows(app, "session.requeued")
    assert {str(e["session_id"]) for e in entries} == {older["id"], newer["id"]}
    assert all(e["actor_role"] == "system" for e in entries)
    assert entries[0]["after"] == {"status": "pending", "supportAgentId": None, "reason": "offline"}
    changed = [d for _f, d in stream_events(app, "chat_status_changed")]
    assert {d["session"]["id"] for d in changed if d["previousStatus"] == "active"} == {
        older["id"],
        newer["id"],
    }
    assert requeue(app, 300) == 0


def test_chats_of_an_online_agent_are_not_requeued(
    app, client, make_account, make_agent, mark_online, open_session
):
    account, agent = make_agent()
    mark_online(account.id)
    session = open_session(make_account("user"))
    assign(client, session["id"], agent["id"], make_account("admin"))
    with app.app_context():
        db.session.execute(
            text("UPDATE support_agents SET presence_changed_at = now() - interval '1 hour'")
        )
        db.session.commit()
    assert requeue(app, 1) == 0
    assert agent_of(app, session["id"]) == agent["id"]


def test_vouches_from_another_process_keep_a_user_connected(app):
    user_id = str(uuid.uuid4())
    with app.app_context():
        vouch([user_id], "web-a", 0.3)
        vouch([user_id], "web-b", 30)
        time.sleep(0.5)
        assert user_id in connected_user_ids()

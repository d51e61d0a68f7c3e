"""Automatic assignment inside a team: a team's chats go only to its members (active, below
capacity), until TEAM_FALLBACK_MINUTES lets anyone take them; chats without a team go to
anyone."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from supportapp.extensions import db
from supportapp.models import ChatSession, SupportAgent
from supportapp.realtime.presence import vouch
from supportapp.services import assignment
from tests.helpers import set_ago


@pytest.fixture
def team(client, admin):
    response = client.post(
        "/api/support/teams", json={"name": "Facturación"}, headers=admin.headers
    )
    return response.get_json()["data"]


def set_members(client, admin, team, *agents):
    response = client.put(
        f"/api/support/teams/{team['id']}/members",
        json={"agentIds": [a["id"] for a in agents]},
        headers=admin.headers,
    )
    assert response.status_code == 200


def open_for(client, account, team=None) -> str:
    body = {"message": "hola", **({"teamId": team["id"]} if team else {})}
    response = client.post("/api/chat/sessions", json=body, headers=account.headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["data"]["id"]


def run_assignment(app) -> dict[str, str | None]:
    """Run automatic assignment with every agent online (ASSIGN_ONLY_ONLINE routes to online
    agents only; presence itself is tested in tests/api/test_presence.py)."""
    with app.app_context():
        agent_users = db.session.scalars(select(SupportAgent.user_id)).all()
        if agent_users:
            vouch([str(user_id) for user_id in agent_users], "tests", 3600)
        assignment.auto_assign_all()
        rows = db.session.execute(select(ChatSession.id, ChatSession.support_agent_id)).all()
        db.session.remove()
    return {str(session_id): str(agent) if agent else None for session_id, agent in rows}


def test_team_chats_go_only_to_members(app, client, admin, team, make_agent, make_account):
    _, member = make_agent(max_chats=2)
    _, outsider = make_agent(max_chats=5)
    set_members(client, admin, team, member)
    user = make_account("user")
    team_chats = [open_for(client, user, team) for _ in range(3)]
    general = open_for(client, user)
    assigned = run_assignment(app)
    # The member takes two (capacity 2); the third team chat waits for a member.
    assert sorted(assigned[s] or "" for s in team_chats) == sorted(["", member["id"], member["id"]])
    assert assigned[general] in {member["id"], outsider["id"]}
    assert outsider["id"] not in {assigned[s] for s in team_chats}


def test_a_team_without_available_members_does_not_block_the_queue(
    app, client, admin, team, make_agent, make_account
):
    _, general_agent = make_agent()
    user = make_account("user")
    waiting = open_for(client, user, team)  # no members at all
    later = open_for(client, user)
    assigned = run_assignment(app)
    assert assigned[waiting] is None
    assert assigned[later] == general_agent["id"]


def test_fallback_lets_anyone_take_a_long_waiting_team_chat(
    app, client, admin, team, make_agent, make_account, monkeypatch
):
    _, outsider = make_agent()
    user = make_account("user")
    old = open_for(client, user, team)
    fresh = open_for(client, user, team)
    set_ago(app, "chat_sessions", "queued_at", old, timedelta(minutes=11))
    monkeypatch.setitem(app.config, "TEAM_FALLBACK_MINUTES", 10)
    assigned = run_assignment(app)
    assert assigned[old] == outsider["id"]
    assert assigned[fresh] is None


def test_without_fallback_a_team_chat_waits_for_its_members(
    app, client, admin, team, make_agent, make_account
):
    make_agent()
    user = make_account("user")
    waiting = open_for(client, user, team)
    set_ago(app, "chat_sessions", "queued_at", waiting, timedelta(hours=5))
    assert run_assignment(app)[waiting] is None

"""Object rules (docs/decisions.md, "Hostile users and proxies"): taking another agent's chat,
profiles of users who are no longer staff, self-reactivation (test_revocation.py) and rating
one's own work."""

from __future__ import annotations

from supportapp.models import Role
from supportapp.services.access import MSG_TAKEN_BY_OTHER
from supportapp.services.assignment import MSG_AGENT_NOT_STAFF
from tests.conftest import assert_error
from tests.helpers import assign, close


def demote(app, email: str) -> None:
    from supportapp.services import users

    with app.app_context():
        users.set_role(email=email, role=Role.USER)


def test_support_cannot_take_another_agents_active_chat(
    client, make_agent, make_account, open_session
):
    first, first_agent = make_agent()
    second, second_agent = make_agent()
    session = open_session(make_account("user"))
    assert assign(client, session["id"], first_agent["id"], first).status_code == 200

    response = assign(client, session["id"], second_agent["id"], second)

    assert_error(response, 403, MSG_TAKEN_BY_OTHER)
    details = client.get(f"/api/chat/session/{session['id']}/details", headers=first.headers)
    assert details.get_json()["data"]["session"]["supportAgentId"] == first_agent["id"]


def test_support_may_take_a_pending_session_or_one_already_theirs(
    client, make_agent, make_account, open_session
):
    agent, profile = make_agent()
    session = open_session(make_account("user"))

    assert assign(client, session["id"], profile["id"], agent).status_code == 200
    assert assign(client, session["id"], profile["id"], agent).status_code == 200


def test_an_admin_may_move_an_active_chat(client, make_agent, make_account, open_session):
    first, first_agent = make_agent()
    _second, second_agent = make_agent()
    admin = make_account("admin")
    session = open_session(make_account("user"))
    assign(client, session["id"], first_agent["id"], first)

    response = assign(client, session["id"], second_agent["id"], admin)

    assert response.status_code == 200
    assert response.get_json()["data"]["supportAgentId"] == second_agent["id"]


def test_a_profile_whose_user_is_no_longer_staff_is_not_assigned_manually(
    app, client, make_agent, make_account, open_session
):
    account, profile = make_agent()
    admin = make_account("admin")
    session = open_session(make_account("user"))
    demote(app, account.email)

    response = assign(client, session["id"], profile["id"], admin)

    assert_error(response, 400, MSG_AGENT_NOT_STAFF, field="supportAgentId")


def test_a_profile_whose_user_is_no_longer_staff_is_skipped_by_auto_assignment(
    app, client, make_agent, make_account, open_session, monkeypatch
):
    from supportapp.services.assignment import auto_assign_all

    monkeypatch.setitem(app.config, "ASSIGN_ONLY_ONLINE", False)  # no sockets in this test

    demoted, demoted_profile = make_agent(max_chats=10)
    _staff, staff_profile = make_agent(max_chats=1)
    sessions = [open_session(make_account("user")) for _ in range(3)]
    demote(app, demoted.email)

    with app.app_context():
        assigned = auto_assign_all()

    assert assigned == 1  # the staff agent's one slot; the demoted profile takes nothing
    admin = make_account("admin")
    agents = [
        client.get(f"/api/chat/session/{s['id']}/details", headers=admin.headers).get_json()[
            "data"
        ]["session"]["supportAgentId"]
        for s in sessions
    ]
    assert demoted_profile["id"] not in agents
    assert agents.count(staff_profile["id"]) == 1


def rate_after_handling(client, opener, agent, profile):
    """`opener` opens a chat as a customer would, `agent` takes and closes it, `opener` rates."""
    session = client.post(
        "/api/chat/sessions", json={"message": "hola"}, headers=opener.headers
    ).get_json()["data"]
    assign(client, session["id"], profile["id"], agent)
    close(client, session["id"], agent)
    return client.post(
        f"/api/chat/session/{session['id']}/rating", json={"score": 5}, headers=opener.headers
    )


def test_staff_cannot_rate_a_session_they_handled(client, make_agent):
    account, profile = make_agent()

    assert_error(rate_after_handling(client, account, account, profile), 403)


def test_staff_may_rate_their_own_session_handled_by_someone_else(client, make_agent, make_account):
    agent, profile = make_agent()

    response = rate_after_handling(client, make_account("support"), agent, profile)

    assert response.status_code == 201

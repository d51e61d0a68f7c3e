"""Revocation that means it — the whole login on logout, every token on
logout-all, a role change and an admin's deactivation; one Redis round trip per request."""

from __future__ import annotations

import pytest
import redis

from supportapp.services.access import MSG_REACTIVATION_FORBIDDEN
from tests.conftest import assert_error
from tests.helpers import send

ME = "/api/auth/me"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def login(client, account) -> dict:
    response = client.post(
        "/api/auth/login", json={"email": account.email, "password": "password123"}
    )
    assert response.status_code == 200
    return response.get_json()["data"]


def refresh(client, refresh_token: str):
    return client.post("/api/auth/refresh", headers=bearer(refresh_token))


def test_logout_with_the_access_token_revokes_its_refresh_token(client, make_account):
    user = make_account("user")

    assert client.post("/api/auth/logout", headers=user.headers).status_code == 200

    assert_error(refresh(client, user.refresh_token), 401)
    assert_error(client.get(ME, headers=user.headers), 401)


def test_logout_revokes_the_access_tokens_refreshed_from_the_login(client, make_account):
    user = make_account("user")
    refreshed = refresh(client, user.refresh_token).get_json()["data"]["accessToken"]
    assert client.get(ME, headers=bearer(refreshed)).status_code == 200

    assert client.post("/api/auth/logout", headers=bearer(refreshed)).status_code == 200

    assert_error(client.get(ME, headers=user.headers), 401)
    assert_error(refresh(client, user.refresh_token), 401)


def test_logout_leaves_the_users_other_logins_alone(client, make_account):
    user = make_account("user")
    other = login(client, user)

    client.post("/api/auth/logout", headers=user.headers)

    assert client.get(ME, headers=bearer(other["accessToken"])).status_code == 200
    assert refresh(client, other["refreshToken"]).status_code == 200


@pytest.mark.parametrize("presented", ["access", "refresh"])
def test_logout_all_revokes_every_token_of_the_caller(client, make_account, presented):
    user = make_account("user")
    other = login(client, user)
    bystander = make_account("user")
    token = user.token if presented == "access" else user.refresh_token

    response = client.post("/api/auth/logout-all", headers=bearer(token))

    assert response.status_code == 200
    assert response.get_json() == {
        "success": True,
        "data": None,
        "message": "Todas las sesiones cerradas exitosamente",
    }
    for access in (user.token, other["accessToken"]):
        assert_error(client.get(ME, headers=bearer(access)), 401)
    for refresh_token in (user.refresh_token, other["refreshToken"]):
        assert_error(refresh(client, refresh_token), 401)
    assert client.get(ME, headers=bystander.headers).status_code == 200


def test_a_login_after_logout_all_works(client, make_account):
    user = make_account("user")
    client.post("/api/auth/logout-all", headers=user.headers)

    fresh = login(client, user)

    assert client.get(ME, headers=bearer(fresh["accessToken"])).status_code == 200
    assert refresh(client, fresh["refreshToken"]).status_code == 200


def test_logout_all_without_a_token_returns_401(client):
    assert_error(client.post("/api/auth/logout-all"), 401)


def test_a_role_change_revokes_the_tokens_issued_before(app, client, make_account):
    from supportapp.models import Role
    from supportapp.services import users

    agent = make_account("support")
    assert client.get("/api/chat/sessions/all", headers=agent.headers).status_code == 200

    with app.app_context():
        users.set_role(email=agent.email, role=Role.USER)

    assert_error(client.get("/api/chat/sessions/all", headers=agent.headers), 401)
    assert_error(refresh(client, agent.refresh_token), 401)
    fresh = login(client, agent)
    assert_error(client.get("/api/chat/sessions/all", headers=bearer(fresh["accessToken"])), 403)


def test_set_role_to_the_same_role_revokes_nothing(app, client, make_account):
    from supportapp.models import Role
    from supportapp.services import users

    agent = make_account("support")
    with app.app_context():
        users.set_role(email=agent.email, role=Role.SUPPORT)

    assert client.get(ME, headers=agent.headers).status_code == 200


def test_an_admin_deactivating_an_agent_revokes_their_tokens(client, make_agent, make_account):
    account, agent = make_agent()
    admin = make_account("admin")

    response = client.patch(
        f"/api/support/agents/{agent['id']}", json={"isActive": False}, headers=admin.headers
    )

    assert response.status_code == 200
    assert_error(client.get(ME, headers=account.headers), 401)
    assert_error(refresh(client, account.refresh_token), 401)
    assert client.get(ME, headers=admin.headers).status_code == 200


def test_an_agent_deactivated_by_an_admin_cannot_reactivate_themselves(
    client, make_agent, make_account
):
    account, agent = make_agent()
    admin = make_account("admin")
    client.patch(
        f"/api/support/agents/{agent['id']}", json={"isActive": False}, headers=admin.headers
    )
    token = login(client, account)["accessToken"]

    response = client.patch(
        "/api/support/agents/me", json={"isActive": True}, headers=bearer(token)
    )

    assert_error(response, 403, MSG_REACTIVATION_FORBIDDEN)
    assert (
        client.get("/api/support/agents/me", headers=bearer(token)).get_json()["data"]["isActive"]
        is False
    )
    # An admin may.
    again = client.patch(
        f"/api/support/agents/{agent['id']}", json={"isActive": True}, headers=admin.headers
    )
    assert again.get_json()["data"]["isActive"] is True


def test_an_agent_who_went_away_by_themselves_can_come_back(client, make_agent):
    account, _agent = make_agent()

    away = client.patch("/api/support/agents/me", json={"isActive": False}, headers=account.headers)
    back = client.patch("/api/support/agents/me", json={"isActive": True}, headers=account.headers)

    assert away.status_code == 200
    assert back.status_code == 200 and back.get_json()["data"]["isActive"] is True
    assert client.get(ME, headers=account.headers).status_code == 200  # nothing revoked


def test_logout_returns_503_when_the_revocation_cannot_be_recorded(client, make_account, app):
    user = make_account("user")
    from supportapp.extensions import redis_client

    good = redis_client.client
    redis_client._client = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    try:
        response = client.post("/api/auth/logout", headers=user.headers)
    finally:
        redis_client._client = good

    assert_error(response, 503)
    assert client.get(ME, headers=user.headers).status_code == 200  # honest: not revoked


# --- one round trip --------------------------------------------------------------------------


@pytest.fixture
def redis_calls(monkeypatch):
    """Every command or pipeline sent to any Redis client, as the names it sent."""
    calls: list[list[str]] = []
    original_command = redis.Redis.execute_command
    original_pipeline = redis.client.Pipeline.execute

    def command(self, *args, **kwargs):
        calls.append([str(args[0]).upper()])
        return original_command(self, *args, **kwargs)

    def pipeline(self, *args, **kwargs):
        calls.append([str(c[0][0]).upper() for c in self.command_stack])
        return original_pipeline(self, *args, **kwargs)

    monkeypatch.setattr(redis.Redis, "execute_command", command)
    monkeypatch.setattr(redis.client.Pipeline, "execute", pipeline)
    return calls


def test_an_authenticated_request_makes_one_redis_round_trip(client, make_account, redis_calls):
    user = make_account("user")
    client.get(ME, headers=user.headers)  # the script is loaded once per server
    redis_calls.clear()

    assert client.get(ME, headers=user.headers).status_code == 200

    assert redis_calls == [["EVALSHA"]]


def test_a_rate_limited_request_checks_token_and_limits_in_one_round_trip(
    client, make_account, redis_calls
):
    user = make_account("user")
    client.get(ME, headers=user.headers)
    redis_calls.clear()

    # Two limits (openings and the message budget) and the blocklist: one script call; the
    # request then publishes its events and jobs after COMMIT.
    response = client.post("/api/chat/sessions", json={"message": "hola"}, headers=user.headers)

    assert response.status_code == 201
    assert redis_calls[0] == ["EVALSHA"]
    # After it: only the post-COMMIT publish (the outbox's one script call) and job pushes;
    # no second look at the blocklist or a limit.
    later = [name for call in redis_calls[1:] for name in call]
    assert later.count("EVALSHA") <= 1
    assert not {"EXISTS", "MGET", "GET", "LINDEX"} & set(later)


def test_a_refused_request_spends_no_limit(client, make_account, app, monkeypatch):
    monkeypatch.setitem(app.config, "MESSAGE_RATE_LIMIT", "1/minute")
    user = make_account("user")
    session = client.post("/api/chat/sessions", json={}, headers=user.headers).get_json()["data"]
    client.post("/api/auth/logout", headers=user.headers)

    assert_error(send(client, session["id"], user, "a"), 401)
    fresh = login(client, user)["accessToken"]

    send(client, session["id"], bearer(fresh), "a", expect=201)


def test_without_redis_tokens_are_accepted_and_limits_fail_open(client, make_account, monkeypatch):
    from supportapp.extensions import redis_client

    user = make_account("user")
    dead = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    monkeypatch.setattr(redis_client, "_client", dead)

    assert client.get(ME, headers=user.headers).status_code == 200
    opened = client.post("/api/chat/sessions", json={"message": "hola"}, headers=user.headers)
    assert opened.status_code == 201  # the limits could not be read: served, and logged

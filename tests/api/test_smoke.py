from tests.conftest import assert_error
from tests.helpers import reply


def test_healthz_answers_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json()["success"] is True


def test_readyz_reports_postgres_and_redis(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json()["data"] == {"postgres": True, "redis": True}


def test_unknown_route_is_a_404_envelope(client):
    assert_error(client.get("/api/nothing-here"), 404)


def test_user_opens_session_and_support_answers(client, make_account, make_agent, open_session):
    user = make_account("user")
    agent_account, _agent = make_agent(max_chats=2)
    session = open_session(user)
    answer = reply(client, session["id"], agent_account, "  ¿En qué puedo ayudarte?  ", expect=201)
    assert answer["message"] == "¿En qué puedo ayudarte?"

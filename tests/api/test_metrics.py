"""Per-agent metrics (GET /api/support/agents/:id/metrics and /api/support/agents/metrics):
who may read them, every figure against the hand-computed history of metrics_data, `from`/`to`,
sorting, and the shape of the answer."""

from __future__ import annotations

import uuid

import pytest

from supportapp.analytics import metrics as metrics_service
from tests.api.metrics_data import ALL_A, IDLE, MAY_A, MAY_B, NO_TIMES, seed
from tests.conftest import assert_error
from tests.helpers import get_data

LIST_URL = "/api/support/agents/metrics"
MAY = {"from": "2024-05-01", "to": "2024-05-31"}
IDENTITY = {"agentId", "name", "email", "isActive"}


def one_url(agent_id: str) -> str:
    return f"/api/support/agents/{agent_id}/metrics"


@pytest.fixture
def bruno(make_account):
    """Agent B's account (a support user): reads their own metrics."""
    return make_account("support", name="Bruno")


@pytest.fixture
def history(app, bruno):
    return seed(app, bruno.id)


def metrics_of(client, url, account, **query):
    return get_data(client, url, account, "Métricas obtenidas exitosamente", **query)


def figures(data: dict) -> dict:
    return {key: value for key, value in data.items() if key not in IDENTITY}


# --- one agent: every figure -------------------------------------------------------------------


def test_agent_figures_for_may(client, admin, history):
    data = metrics_of(client, one_url(history.agent_a), admin, **MAY)

    assert data["agentId"] == history.agent_a
    assert (data["name"], data["isActive"]) == ("Ana", True)
    assert figures(data) == MAY_A
    assert figures(metrics_of(client, one_url(history.agent_b), admin, **MAY)) == MAY_B


def test_agent_figures_without_a_range_include_every_session(client, admin, history):
    assert figures(metrics_of(client, one_url(history.agent_a), admin)) == ALL_A


def test_agent_without_activity_has_zero_counts_and_null_times(client, admin, history):
    assert figures(metrics_of(client, one_url(history.agent_c), admin, **MAY)) == IDLE


def test_a_single_day_range(client, admin, history):
    """to=2024-05-11 includes that whole day: only S3 (A) and S4 (B)."""
    day = {"from": "2024-05-11", "to": "2024-05-11"}

    ana = metrics_of(client, one_url(history.agent_a), admin, **day)
    bruno = metrics_of(client, one_url(history.agent_b), admin, **day)

    assert figures(ana) == {
        **IDLE,
        "chatsHandled": 1,
        "activeChats": 1,
        "messagesSent": 2,
        "firstResponseTime": {"average": 5.0, "median": 5.0, "p90": 5.0},  # 300 s from requeue
        "responseTime": {"average": 35.0, "median": 35.0, "p90": 35.0},  # 2100 s from creation
    }
    assert figures(bruno) == {
        **IDLE,
        "chatsHandled": 1,
        "closedChats": 1,
        "messagesSent": 1,
        "firstResponseTime": {"average": 10.0, "median": 10.0, "p90": 10.0},
        "responseTime": {"average": 10.0, "median": 10.0, "p90": 10.0},
        "resolutionTime": {"average": 120.0, "median": 120.0, "p90": 120.0},
        "averageRating": 3.0,
        "ratingsCount": 1,
        "csat": 0.0,
    }


def test_messages_count_for_their_sender_and_sessions_for_their_agent(client, admin, history):
    """Only S5 (B's session, where A also wrote once) was created in this one-second range."""
    window = {"from": "2024-05-12T08:00:00Z", "to": "2024-05-12T08:00:01Z"}

    ana = metrics_of(client, one_url(history.agent_a), admin, **window)
    bruno = metrics_of(client, one_url(history.agent_b), admin, **window)

    assert (ana["chatsHandled"], ana["messagesSent"], ana["ratingsCount"]) == (0, 1, 0)
    assert ana["firstResponseTime"] == NO_TIMES
    assert (bruno["chatsHandled"], bruno["messagesSent"], bruno["ratingsCount"]) == (1, 1, 1)
    assert bruno["firstResponseTime"] == {"average": 1.0, "median": 1.0, "p90": 1.0}


def test_from_is_inclusive_and_to_exclusive_for_date_times(client, admin, history):
    at_s4 = "2024-05-11T14:00:00Z"

    starting = metrics_of(client, one_url(history.agent_b), admin, **{"from": at_s4})
    ending = metrics_of(client, one_url(history.agent_b), admin, to=at_s4)

    assert starting["chatsHandled"] == 2  # S4, S5
    assert ending["chatsHandled"] == 0


def test_range_follows_stats_timezone(app, client, admin, history, monkeypatch):
    """In Mexico City (UTC-6) 2024-05-10 ends at 2024-05-11T06:00Z, before S3 (09:00Z)."""
    monkeypatch.setitem(app.config, "STATS_TIMEZONE", "America/Mexico_City")

    data = metrics_of(client, one_url(history.agent_a), admin, to="2024-05-10")

    assert data["chatsHandled"] == 3  # S7, S1, S2


@pytest.mark.parametrize(
    "query",
    [{"from": "ayer"}, {"to": "2024-13-01"}, {"from": "2024-05-02", "to": "2024-05-01"}],
)
def test_malformed_or_reversed_range_returns_400(client, admin, history, query):
    response = client.get(one_url(history.agent_a), query_string=query, headers=admin.headers)

    assert_error(response, 400)
    response = client.get(LIST_URL, query_string=query, headers=admin.headers)
    assert_error(response, 400)


# --- one agent: who may read -------------------------------------------------------------------


def test_an_agent_reads_their_own_metrics_also_as_me(client, bruno, history):
    own = metrics_of(client, one_url(history.agent_b), bruno, **MAY)
    me = metrics_of(client, one_url("me"), bruno, **MAY)

    assert figures(own) == figures(me) == MAY_B
    assert me["agentId"] == history.agent_b


def test_an_agent_cannot_read_another_agents_metrics(client, bruno, history):
    assert_error(client.get(one_url(history.agent_a), headers=bruno.headers), 403)


def test_a_support_user_without_profile_gets_403_for_others_and_404_for_me(
    client, make_account, history
):
    support = make_account("support")

    assert_error(client.get(one_url(history.agent_b), headers=support.headers), 403)
    assert_error(client.get(one_url("me"), headers=support.headers), 404)


@pytest.mark.parametrize("role", ["admin", "superadmin"])
def test_admins_read_any_agent(client, make_account, history, role):
    data = metrics_of(client, one_url(history.agent_b), make_account(role), **MAY)

    assert figures(data) == MAY_B


def test_users_are_forbidden(client, make_account, history):
    user = make_account("user")

    assert_error(client.get(one_url(history.agent_a), headers=user.headers), 403)
    assert_error(client.get(LIST_URL, headers=user.headers), 403)


@pytest.mark.parametrize("agent_id", [str(uuid.uuid4()), "no-es-un-id"])
def test_unknown_agent_is_a_404(client, admin, history, agent_id):
    response = client.get(one_url(agent_id), headers=admin.headers)

    assert_error(response, 404, "Agente de soporte no encontrado")


def test_metrics_require_a_token(client):
    assert_error(client.get(LIST_URL), 401)
    assert_error(client.get(one_url(str(uuid.uuid4()))), 401)


# --- every agent -------------------------------------------------------------------------------


def test_every_agent_sorted_by_chats_handled_by_default(client, admin, history):
    data = metrics_of(client, LIST_URL, admin, **MAY)

    assert [row["name"] for row in data] == ["Ana", "Bruno", "Carla"]
    assert [figures(row) for row in data] == [MAY_A, MAY_B, IDLE]
    assert all(set(row) == IDENTITY | set(MAY_A) for row in data)


def test_only_admins_list_every_agent(client, bruno, history):
    assert_error(client.get(LIST_URL, headers=bruno.headers), 403)


@pytest.mark.parametrize(
    ("sort_by", "sort_order", "names"),
    [
        ("chatsHandled", "asc", ["Carla", "Bruno", "Ana"]),
        ("averageRating", "asc", ["Bruno", "Ana", "Carla"]),  # no rating: last either way
        ("averageRating", "desc", ["Ana", "Bruno", "Carla"]),
        ("csat", "asc", ["Bruno", "Ana", "Carla"]),
        ("responseTime", "desc", ["Ana", "Bruno", "Carla"]),  # by average: 11.5, 5.5
        ("responseTime.median", "desc", ["Bruno", "Ana", "Carla"]),  # 5.5, 4.5
        ("firstResponseTime.p90", "asc", ["Ana", "Bruno", "Carla"]),  # 4.8, 9.1
        ("resolutionTime", "asc", ["Ana", "Bruno", "Carla"]),
        ("messagesSent", "desc", ["Ana", "Bruno", "Carla"]),
        ("ratingsCount", "desc", ["Ana", "Bruno", "Carla"]),  # tie 2–2: by name
        ("activeChats", "asc", ["Bruno", "Carla", "Ana"]),  # tie 0–0: by name
        ("name", "desc", ["Carla", "Bruno", "Ana"]),
    ],
)
def test_sorting_by_any_figure(client, admin, history, sort_by, sort_order, names):
    data = metrics_of(client, LIST_URL, admin, sortBy=sort_by, sortOrder=sort_order, **MAY)

    assert [row["name"] for row in data] == names


@pytest.mark.parametrize("query", [{"sortBy": "nombre"}, {"sortOrder": "up"}])
def test_unknown_sort_returns_400(client, admin, history, query):
    response = client.get(LIST_URL, query_string=query, headers=admin.headers)

    assert_error(response, 400, field=next(iter(query)))


def test_every_agent_in_a_constant_number_of_queries(app, admin, history, make_agent):
    """The same statements for 3 agents as for 6 (no per-agent query)."""
    from sqlalchemy import event

    from supportapp.analytics.stats import Range
    from supportapp.extensions import db

    def statements_for_all_agents() -> tuple[int, list[str]]:
        statements: list[str] = []
        with app.app_context():
            engine = db.engine
            listener = lambda *args: statements.append(args[2])  # noqa: E731
            event.listen(engine, "before_cursor_execute", listener)
            try:
                rows = metrics_service.agent_metrics(Range())
            finally:
                event.remove(engine, "before_cursor_execute", listener)
        return len(rows), statements

    agents, before = statements_for_all_agents()
    for _ in range(3):
        make_agent()
    more_agents, after = statements_for_all_agents()
    assert more_agents == agents + 3
    assert len(after) == len(before) <= 6
    assert any("percentile_cont" in statement for statement in after)

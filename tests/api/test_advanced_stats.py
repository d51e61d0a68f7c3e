"""GET /api/chat/stats: admins and superadmins also get `advanced` (team first-response,
response and resolution times, ratings, sessions by priority, busiest hours); support users get
exactly the eight dashboard figures. Checked against the hand-computed history of metrics_data."""

from __future__ import annotations

import pytest

from tests.api.metrics_data import MAY_TEAM, NOTHING, seed
from tests.spec_shapes import STATS_FIELDS

URL = "/api/chat/stats"
MAY = {"from": "2024-05-01", "to": "2024-05-31"}


@pytest.fixture
def history(app, make_account):
    return seed(app, make_account("support").id)


def stats(client, account, **query) -> dict:
    response = client.get(URL, query_string=query, headers=account.headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["data"]


def test_support_gets_exactly_the_eight_spec_figures(client, make_account, history):
    data = stats(client, make_account("support"), **MAY)

    assert set(data) == STATS_FIELDS


@pytest.mark.parametrize("role", ["admin", "superadmin"])
def test_admins_get_the_advanced_figures_of_the_team(client, make_account, history, role):
    data = stats(client, make_account(role), **MAY)

    assert set(data) == STATS_FIELDS | {"advanced"}
    assert data["advanced"] == MAY_TEAM
    # The dashboard figures are unchanged, and their average is the advanced response average.
    assert (data["totalSessions"], data["activeSessions"]) == (6, 1)
    assert (data["pendingSessions"], data["closedSessions"]) == (1, 4)
    assert data["averageResponseTime"] == data["advanced"]["responseTime"]["average"] == 8.6


def test_advanced_without_a_range_includes_every_session(client, make_account, history):
    advanced = stats(client, make_account("admin"))["advanced"]

    # S7 adds a 1-star rating, a 30 s reply and a 10-minute resolution.
    assert (advanced["ratingsCount"], advanced["averageRating"], advanced["csat"]) == (5, 3.4, 60.0)
    assert advanced["byPriority"] == {"low": 2, "medium": 2, "high": 3}
    assert advanced["resolutionTime"] == {"average": 48.0, "median": 30.0, "p90": 96.0}
    assert advanced["busiestHours"][0] == {"hour": 10, "sessions": 3}


def test_busiest_hours_follow_stats_timezone(app, client, make_account, history, monkeypatch):
    """Mexico City is UTC-6 in May 2024; `from`/`to` days are Mexico City days too."""
    monkeypatch.setitem(app.config, "STATS_TIMEZONE", "America/Mexico_City")

    advanced = stats(client, make_account("admin"), **MAY)["advanced"]

    assert advanced["busiestHours"] == [
        {"hour": 4, "sessions": 2},
        {"hour": 2, "sessions": 1},
        {"hour": 3, "sessions": 1},
        {"hour": 8, "sessions": 1},
        {"hour": 14, "sessions": 1},
    ]
    assert advanced["ratingsCount"] == 4


def test_a_range_with_partial_hours(client, make_account, history):
    """2024-05-10T10:30Z to 2024-05-11T14:30Z holds S2, S3 and S4 (not S1 at 10:00): the
    counts by priority add whole-hour counters and the raw rows of the partial hours."""
    admin = make_account("admin")

    advanced = stats(
        client, admin, **{"from": "2024-05-10T10:30:00Z", "to": "2024-05-11T14:30:00Z"}
    )["advanced"]

    assert advanced["byPriority"] == {"low": 1, "medium": 1, "high": 1}  # S2, S3, S4
    assert advanced["busiestHours"] == [
        {"hour": 9, "sessions": 1},
        {"hour": 10, "sessions": 1},
        {"hour": 14, "sessions": 1},
    ]
    assert advanced["resolutionTime"] == {"average": 90.0, "median": 90.0, "p90": 114.0}


def test_advanced_figures_of_an_empty_range(client, make_account, history):
    advanced = stats(client, make_account("admin"), **{"from": "2023-01-01", "to": "2023-01-31"})[
        "advanced"
    ]

    assert advanced == {
        **NOTHING,
        "byPriority": {"low": 0, "medium": 0, "high": 0},
        "busiestHours": [],
    }


def test_openapi_documents_advanced_and_the_new_routes(client):
    spec = client.get("/api/openapi.json").get_json()

    stats_schema = spec["components"]["schemas"]["Stats"]
    assert "advanced" in stats_schema["properties"]
    for path in (
        "/api/support/templates",
        "/api/support/templates/{template_id}",
        "/api/support/agents/metrics",
        "/api/support/agents/{agent_id}/metrics",
        "/api/chat/session/{session_id}/rating",
    ):
        assert path in spec["paths"], path

"""GET /api/chat/stats: roles, the eight figures, `from`/`to` and the
STATS_TIMEZONE day/week/month, against sessions created with controlled timestamps."""

from __future__ import annotations

import functools
import uuid
from datetime import datetime, timedelta

import pytest

from supportapp.analytics import stats as stats_service
from supportapp.extensions import db
from supportapp.models import ChatSession, Sender, SessionStatus, User
from tests.conftest import assert_error
from tests.helpers import add_message, assign, close, get_data, set_ago
from tests.spec_shapes import STATS_FIELDS

URL = "/api/chat/stats"


def at(moment: str) -> datetime:
    value = datetime.fromisoformat(moment)
    assert value.tzinfo is not None, moment
    return value


@pytest.fixture
def owner(app) -> uuid.UUID:
    with app.app_context():
        user = User(email=f"owner-{uuid.uuid4().hex[:8]}@example.com", name="Owner")
        db.session.add(user)
        db.session.commit()
        return user.id


@pytest.fixture
def add_session(app, owner):
    """add_session(created_at, status="pending", waits=()) → session id; `waits` are the
    seconds each support reply made the user wait."""

    def factory(created_at: str, status: str = "pending", waits=()) -> uuid.UUID:
        created = at(created_at)
        with app.app_context():
            session = ChatSession(
                user_id=owner,
                status=SessionStatus(status),
                created_at=created,
                last_message_at=created,
            )
            db.session.add(session)
            db.session.flush()
            for seconds in waits:
                add_message(
                    session.id,
                    Sender.SUPPORT,
                    created + timedelta(seconds=seconds),
                    "Respuesta",
                    response_seconds=seconds,
                )
            db.session.commit()
            return session.id

    return factory


@pytest.fixture
def frozen_now(monkeypatch):
    """frozen_now("2024-05-15T12:00:00Z"): the endpoint's `now` from then on."""

    def freeze(moment: str) -> None:
        fixed = functools.partial(stats_service.chat_stats, now=at(moment))
        monkeypatch.setattr(stats_service, "chat_stats", fixed)

    return freeze


@pytest.fixture
def stats_timezone(app, monkeypatch):
    def use(zone: str) -> None:
        monkeypatch.setitem(app.config, "STATS_TIMEZONE", zone)

    return use


def get_stats(client, account, **query) -> dict:
    return get_data(client, URL, account, "Estadísticas obtenidas exitosamente", **query)


def spec_figures(data: dict) -> dict:
    """The eight dashboard figures (admins get more; see the route)."""
    return {name: data[name] for name in STATS_FIELDS}


# --- roles -----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["support", "admin", "superadmin"])
def test_support_roles_get_the_eight_figures(client, make_account, role):
    data = get_stats(client, make_account(role))

    assert {name: data.get(name) for name in STATS_FIELDS} == dict.fromkeys(STATS_FIELDS, 0)
    assert isinstance(data["averageResponseTime"], float)


def test_a_user_is_forbidden(client, make_account):
    response = client.get(URL, headers=make_account("user").headers)

    assert_error(response, 403, "No tienes permisos para realizar esta acción")


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic dXNlcjpwYXNz"}],
)
def test_without_a_valid_token_it_is_unauthorized(client, headers):
    assert_error(client.get(URL, headers=headers), 401, "Token inválido o expirado")


# --- figures ---------------------------------------------------------------------------------


def test_figures_from_hand_counted_sessions(client, support, add_session, frozen_now):
    frozen_now("2024-05-15T12:00:00Z")  # Wednesday
    add_session("2024-05-15T09:00:00Z", "pending")
    add_session("2024-05-15T00:00:00Z", "active", waits=[90])
    add_session("2024-05-14T23:59:59Z", "active", waits=[30, 240])
    add_session("2024-05-13T00:00:00Z", "closed", waits=[600])
    add_session("2024-05-12T23:59:59Z", "closed")
    add_session("2024-05-01T00:00:00Z", "closed")
    add_session("2024-04-30T23:59:59Z", "closed", waits=[0])

    assert spec_figures(get_stats(client, support)) == {
        "totalSessions": 7,
        "activeSessions": 2,
        "pendingSessions": 1,
        "closedSessions": 4,
        "averageResponseTime": 3.2,  # (90 + 30 + 240 + 600 + 0) s / 5 = 192 s
        "sessionsToday": 2,
        "sessionsThisWeek": 4,
        "sessionsThisMonth": 6,
    }


def test_today_week_and_month_follow_stats_timezone(
    client, support, add_session, frozen_now, stats_timezone
):
    frozen_now("2024-05-15T12:00:00Z")  # Wednesday 17:30 in Kolkata (UTC+5:30)
    stats_timezone("Asia/Kolkata")
    for created in [
        "2024-05-14T18:30:00Z",  # local midnight today
        "2024-05-14T18:29:59Z",  # local yesterday
        "2024-05-12T18:30:00Z",  # local Monday midnight
        "2024-05-12T18:29:59Z",  # local Sunday
        "2024-04-30T18:30:00Z",  # local May 1st midnight
        "2024-04-30T18:29:59Z",  # local April 30th
    ]:
        add_session(created)

    data = get_stats(client, support)

    assert (data["sessionsToday"], data["sessionsThisWeek"], data["sessionsThisMonth"]) == (1, 3, 5)
    assert data["totalSessions"] == 6


def test_sessions_created_now_are_counted_today(client, support, add_session):
    """Without a frozen clock: a session created a moment ago is today's, one from 40 days ago
    is not even this month's."""
    now = datetime.now().astimezone()
    add_session(now.isoformat(), "active")
    add_session((now - timedelta(days=40)).isoformat(), "closed")

    data = get_stats(client, support)

    assert (data["sessionsToday"], data["sessionsThisWeek"], data["sessionsThisMonth"]) == (1, 1, 1)
    assert (data["totalSessions"], data["activeSessions"], data["closedSessions"]) == (2, 1, 1)


# --- from / to -------------------------------------------------------------------------------


@pytest.fixture
def may_sessions(add_session):
    """Three days of sessions around 2024-05-15, with replies."""
    add_session("2024-05-14T23:59:59Z", "closed", waits=[600])
    add_session("2024-05-15T00:00:00Z", "closed", waits=[60])
    add_session("2024-05-15T10:30:00Z", "active", waits=[180])
    add_session("2024-05-15T23:59:59Z", "pending")
    add_session("2024-05-16T00:00:00Z", "pending", waits=[1200])


def test_from_and_to_restrict_every_figure(client, support, may_sessions, frozen_now):
    frozen_now("2024-05-16T12:00:00Z")

    data = get_stats(client, support, **{"from": "2024-05-15", "to": "2024-05-15"})

    assert spec_figures(data) == {
        "totalSessions": 3,
        "activeSessions": 1,
        "pendingSessions": 1,
        "closedSessions": 1,
        "averageResponseTime": 2.0,  # (60 + 180) s / 2
        "sessionsToday": 0,  # today is the 16th
        "sessionsThisWeek": 3,
        "sessionsThisMonth": 3,
    }


def test_a_date_only_to_includes_that_whole_day(client, support, may_sessions):
    assert get_stats(client, support, to="2024-05-15")["totalSessions"] == 4
    assert get_stats(client, support, to="2024-05-14")["totalSessions"] == 1


def test_date_times_with_offsets_and_partial_hours(client, support, may_sessions):
    data = get_stats(
        client,
        support,
        **{"from": "2024-05-15T05:29:59.500+05:30", "to": "2024-05-15T10:30:00.001Z"},
    )

    assert (data["totalSessions"], data["closedSessions"], data["activeSessions"]) == (2, 1, 1)


def test_date_only_bounds_are_days_in_stats_timezone(client, support, may_sessions, stats_timezone):
    stats_timezone("America/Bogota")  # May 15th = [05-15 05:00, 05-16 05:00) UTC

    data = get_stats(client, support, **{"from": "2024-05-15", "to": "2024-05-15"})

    assert (data["totalSessions"], data["pendingSessions"]) == (3, 2)


def test_only_from_or_only_to(client, support, may_sessions):
    assert get_stats(client, support, **{"from": "2024-05-16"})["totalSessions"] == 1
    assert get_stats(client, support, to="2024-05-16T00:00:00Z")["totalSessions"] == 4


@pytest.mark.parametrize(
    "query",
    [
        {"from": "2024-05-16", "to": "2024-05-15"},
        {"from": "2024-05-15T10:00:01Z", "to": "2024-05-15T10:00:00Z"},
        {"from": "2024-05-15T12:00:00+05:30", "to": "2024-05-15T06:00:00Z"},
    ],
)
def test_from_after_to_is_a_400_on_from(client, support, query):
    response = client.get(URL, query_string=query, headers=support.headers)

    assert_error(response, 400, "La fecha 'from' no puede ser posterior a 'to'", field="from")


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"from": "ayer"}, "from"),
        ({"from": "2024-13-01"}, "from"),
        ({"from": "2024-05-15T24:61:00Z"}, "from"),
        ({"from": "15/05/2024"}, "from"),
        ({"to": "2024-02-30"}, "to"),
        ({"to": "9999-12-31"}, "to"),
        ({"from": "2024-05-15", "to": "mañana"}, "to"),
    ],
)
def test_malformed_dates_are_a_400_on_their_field(client, support, query, field):
    response = client.get(URL, query_string=query, headers=support.headers)

    assert_error(response, 400, "Fecha inválida: use el formato ISO 8601", field=field)


@pytest.mark.parametrize(
    "query",
    [
        {"from": "0001-01-01", "to": "9999-12-30"},
        {"from": "0001-01-01T00:00:00+14:00"},
        {"to": "9999-12-31T23:59:59-12:00"},
    ],
)
def test_extreme_dates_are_answered(client, support, may_sessions, stats_timezone, query):
    stats_timezone("Asia/Kolkata")

    assert get_stats(client, support, **query)["totalSessions"] == 5


# --- live changes ----------------------------------------------------------------------------


def test_the_console_flow_moves_the_figures(
    app, client, make_account, make_agent, open_session, support
):
    user = make_account("user")
    agent_account, agent = make_agent(max_chats=3)
    first = open_session(user)
    open_session(user)

    data = get_stats(client, support)
    assert (data["totalSessions"], data["pendingSessions"], data["activeSessions"]) == (2, 2, 0)
    assert data["sessionsToday"] == 2

    assign(client, first["id"], agent["id"], agent_account, expect=200)
    data = get_stats(client, support)
    assert (data["pendingSessions"], data["activeSessions"], data["closedSessions"]) == (1, 1, 0)

    close(client, first["id"], user, expect=200)
    data = get_stats(client, support)
    assert (data["pendingSessions"], data["activeSessions"], data["closedSessions"]) == (1, 0, 1)
    assert data["totalSessions"] == 2


def test_support_replies_record_the_wait_they_end(
    app, client, make_account, make_agent, open_session, support
):
    user = make_account("user")
    agent_account, _agent = make_agent(max_chats=3)
    session = open_session(user, "Hola")
    url = f"/api/chat/session/{session['id']}"

    def support_reply():
        response = client.post(
            f"{url}/support-message", json={"message": "Hola"}, headers=agent_account.headers
        )
        assert response.status_code == 201, response.get_json()

    set_ago(app, "chat_sessions", "waiting_since", session["id"], timedelta(seconds=300))
    support_reply()  # ends a 5-minute wait, and takes the session
    support_reply()  # nobody was waiting: not a response time
    assert get_stats(client, support)["averageResponseTime"] == 5.0
    assert get_stats(client, support)["activeSessions"] == 1

    response = client.post(f"{url}/message", json={"message": "¿Sigues ahí?"}, headers=user.headers)
    assert response.status_code == 201, response.get_json()
    set_ago(app, "chat_sessions", "waiting_since", session["id"], timedelta(seconds=120))
    support_reply()  # ends a 2-minute wait

    assert get_stats(client, support)["averageResponseTime"] == 3.5

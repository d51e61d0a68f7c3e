"""GET /api/chat/search (full-text over messages) and GET /api/chat/users/:userId/sessions
(customer history), plus the customer summary in session details."""

from __future__ import annotations

import uuid

import pytest

from tests.conftest import assert_error
from tests.helpers import assign, close, send
from tests.spec_shapes import (
    MESSAGE_FIELDS,
    SEARCH_RESULT_FIELDS,
    SESSION_FIELDS,
    SESSION_USER_FIELDS,
)

MSG_FOUND = "Resultados obtenidos exitosamente"


@pytest.fixture
def staff(make_account):
    return make_account("support")


@pytest.fixture
def customer(make_account):
    return make_account("user")


def search(client, account, **params):
    return client.get("/api/chat/search", query_string=params, headers=account.headers)


def found(client, account, **params) -> dict:
    response = search(client, account, **params)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["success"] is True and body["message"] == MSG_FOUND
    return body["data"]


def texts(data: dict) -> list[str]:
    return [result["message"]["message"] for result in data["results"]]


@pytest.mark.parametrize(
    "query",
    ["facturacion", "FACTURACIÓN", "Facturación", "facturación enero", "ENERO", "está mal"],
)
def test_search_ignores_case_and_accents(client, staff, customer, open_session, query):
    session = open_session(customer, "La facturación de ENERO está mal")
    open_session(customer, "Otra consulta sin relación")

    data = found(client, staff, q=query)

    assert texts(data) == ["La facturación de ENERO está mal"]
    assert data["results"][0]["session"]["id"] == session["id"]


@pytest.mark.parametrize(
    ("text", "query"),
    [
        ("Quiero los reembolsos de mis pedidos", "reembolso"),
        ("Necesito un reembolso", "reembolsos"),
        ("I need a refund for my invoices", "refunds"),
        ("I need a refund for my invoices", "invoice"),
        ("Niño pequeño con canción", "nino cancion"),
    ],
)
def test_search_stems_spanish_and_english(client, staff, customer, open_session, text, query):
    open_session(customer, text)
    open_session(customer, "Nada que ver")

    assert texts(found(client, staff, q=query)) == [text]


def test_results_have_the_session_the_message_and_an_escaped_highlight(
    client, staff, customer, open_session
):
    session = open_session(customer, "Hola")
    message = send(
        client, session["id"], customer, 'Mi reembolso < 100 & "no" llegó <b>x</b>', expect=201
    )
    latest = send(client, session["id"], customer, "¿Alguien?", expect=201)

    data = found(client, staff, q="reembolso")

    (result,) = data["results"]
    assert set(result) == SEARCH_RESULT_FIELDS
    assert set(result["session"]) >= SESSION_FIELDS
    assert [m["id"] for m in result["session"]["messages"]] == [latest["id"]]
    assert set(result["message"]) == MESSAGE_FIELDS
    assert result["message"]["id"] == message["id"]
    # Escaped text, matches in <mark>; markup in the message is left out of the excerpt.
    assert result["highlight"] == 'Mi <mark>reembolso</mark> &lt; 100 &amp; "no" llegó x'
    assert data["pagination"] == {"page": 1, "limit": 20, "total": 1, "totalPages": 1}


def test_best_matches_come_first_then_the_newest(client, staff, customer, open_session):
    session = open_session(customer, "Hola")
    strong = send(
        client, session["id"], customer, "reembolso, reembolso: quiero mi reembolso", expect=201
    )
    older_weak = send(client, session["id"], customer, "Pedí un reembolso", expect=201)
    newer_weak = send(client, session["id"], customer, "Sigo esperando el reembolso", expect=201)

    data = found(client, staff, q="reembolso")

    assert [r["message"]["id"] for r in data["results"]] == [
        strong["id"],
        newer_weak["id"],
        older_weak["id"],
    ]


def test_every_word_must_match_and_minus_excludes(client, staff, customer, open_session):
    open_session(customer, "Factura de enero")
    open_session(customer, "Factura de febrero")

    assert texts(found(client, staff, q="factura enero")) == ["Factura de enero"]
    assert texts(found(client, staff, q="factura -enero")) == ["Factura de febrero"]
    assert texts(found(client, staff, q='"factura de febrero"')) == ["Factura de febrero"]


def test_search_paginates(client, staff, customer, open_session):
    session = open_session(customer, "Hola")
    sent = [
        send(client, session["id"], customer, f"Pedido número {n} retrasado", expect=201)
        for n in range(5)
    ]
    newest_first = [m["id"] for m in reversed(sent)]

    pages = [found(client, staff, q="retrasado", limit=2, page=page) for page in (1, 2, 3)]

    assert [r["message"]["id"] for p in pages for r in p["results"]] == newest_first
    for number, page in enumerate(pages, start=1):
        assert page["pagination"] == {"page": number, "limit": 2, "total": 5, "totalPages": 3}
    past = found(client, staff, q="retrasado", limit=2, page=4)
    assert past["results"] == []
    assert past["pagination"]["total"] == 5


def test_search_filters_by_status_agent_and_time(client, staff, customer, open_session, make_agent):
    agent_account, agent = make_agent()
    taken = open_session(customer, "problema con la tarjeta")
    assign(client, taken["id"], agent["id"], agent_account)
    waiting = open_session(customer, "problema con la tarjeta otra vez")
    first_time = taken["messages"][0]["timestamp"]

    def session_ids(**params):
        return [r["session"]["id"] for r in found(client, staff, q="tarjeta", **params)["results"]]

    assert session_ids(status="active") == [taken["id"]]
    assert session_ids(status="pending") == [waiting["id"]]
    assert session_ids(supportAgentId=agent["id"]) == [taken["id"]]
    assert session_ids(supportAgentId=str(uuid.uuid4())) == []
    assert session_ids(to=first_time) == []  # `to` as a time is exclusive
    assert set(session_ids(**{"from": first_time})) == {taken["id"], waiting["id"]}
    assert session_ids(**{"from": "2000-01-01", "to": "2000-01-31"}) == []


@pytest.mark.parametrize("params", [{}, {"q": ""}, {"q": "   "}])
def test_empty_query_is_400(client, staff, params):
    assert_error(
        search(client, staff, **params), 400, "La búsqueda no puede estar vacía", field="q"
    )


def test_bad_filters_are_400(client, staff):
    assert_error(search(client, staff, q="x" * 201), 400, field="q")
    assert_error(search(client, staff, q="a", status="open"), 400, field="status")
    assert_error(search(client, staff, q="a", supportAgentId="nope"), 400, field="supportAgentId")
    assert_error(search(client, staff, q="a", **{"from": "ayer"}), 400, field="from")
    assert_error(search(client, staff, q="a", limit=0), 400, field="limit")


def test_a_query_of_only_stop_words_finds_nothing(client, staff, customer, open_session):
    open_session(customer, "de la que el")

    assert found(client, staff, q="de la")["results"] == []


def test_search_is_for_staff(client, customer, make_account):
    assert_error(search(client, customer, q="hola"), 403)
    assert_error(client.get("/api/chat/search?q=hola"), 401)
    for role in ("admin", "superadmin"):
        assert found(client, make_account(role), q="hola")["results"] == []


# --- customer history ------------------------------------------------------------------------


def history(client, account, user_id, **params):
    return client.get(
        f"/api/chat/users/{user_id}/sessions", query_string=params, headers=account.headers
    )


def test_history_lists_the_customers_sessions_newest_first_with_their_latest_message(
    client, staff, customer, make_account, open_session
):
    first = open_session(customer, "primera")
    second = open_session(customer, "segunda")
    latest = send(
        client, first["id"], customer, "sigo aquí", expect=201
    )  # activity does not reorder
    open_session(make_account("user"), "de otra persona")

    response = history(client, staff, customer.id)

    assert response.status_code == 200
    body = response.get_json()
    assert body["message"] == "Sesiones obtenidas exitosamente"
    sessions = body["data"]["sessions"]
    assert [s["id"] for s in sessions] == [second["id"], first["id"]]
    assert all(set(s) >= SESSION_FIELDS for s in sessions)
    assert sessions[1]["messages"] == [latest] or sessions[1]["messages"][0]["id"] == latest["id"]
    assert body["data"]["pagination"] == {"page": 1, "limit": 20, "total": 2, "totalPages": 1}


def test_history_paginates_and_filters(client, staff, customer, open_session):
    opened = [open_session(customer, f"consulta {n}") for n in range(3)]
    close(client, opened[0]["id"], customer)

    page = history(client, staff, customer.id, limit=2, page=2).get_json()["data"]
    closed = history(client, staff, customer.id, status="closed").get_json()["data"]

    assert [s["id"] for s in page["sessions"]] == [opened[0]["id"]]
    assert page["pagination"] == {"page": 2, "limit": 2, "total": 3, "totalPages": 2}
    assert [s["id"] for s in closed["sessions"]] == [opened[0]["id"]]


def test_history_visibility(client, customer, make_account, open_session):
    open_session(customer, "hola")

    assert_error(history(client, customer, customer.id), 403)
    assert_error(history(client, make_account("user"), customer.id), 403)
    assert_error(client.get(f"/api/chat/users/{customer.id}/sessions"), 401)
    for role in ("support", "admin", "superadmin"):
        assert history(client, make_account(role), customer.id).status_code == 200
    staff = make_account("support")
    assert_error(history(client, staff, uuid.uuid4()), 404, "Usuario no encontrado")
    assert_error(history(client, staff, "not-a-uuid"), 404)


def test_session_details_tell_staff_how_often_the_customer_wrote(
    client, staff, customer, open_session
):
    first = open_session(customer, "primera")
    details = client.get(f"/api/chat/session/{first['id']}/details", headers=staff.headers)
    user = details.get_json()["data"]["user"]
    assert user["sessionsCount"] == 1
    assert user["lastSessionAt"] == first["createdAt"]

    second = open_session(customer, "segunda")
    user = client.get(f"/api/chat/session/{first['id']}/details", headers=staff.headers).get_json()[
        "data"
    ]["user"]

    assert set(user) == SESSION_USER_FIELDS
    assert user["sessionsCount"] == 2
    assert user["lastSessionAt"] == second["createdAt"]

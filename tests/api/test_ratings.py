"""Post-chat ratings (POST /api/chat/session/:id/rating): only the session's user, only once it
is closed, only once; shown in the session details; `chat_rated` event."""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import select

from supportapp.extensions import db, redis_client
from supportapp.models import SessionRating
from supportapp.realtime.bus import EVENT_STREAM
from tests.conftest import assert_error
from tests.helpers import close, reply
from tests.spec_shapes import RATING_FIELDS

MSG_NOT_CLOSED = "Solo se puede calificar una sesión cerrada"
MSG_ALREADY_RATED = "La sesión ya fue calificada"
MSG_SCORE = "La calificación debe ser un número entero entre 1 y 5"


def rate(client, session_id, account, **body):
    return client.post(f"/api/chat/session/{session_id}/rating", json=body, headers=account.headers)


@pytest.fixture
def chat(client, make_account, make_agent, open_session):
    """A session answered by an agent (so assigned to them); `close()` closes it as its user."""

    class Chat:
        user = make_account("user")
        agent_account, agent = make_agent()
        session = open_session(user)

        def close(self):
            close(client, self.session["id"], self.user, expect=200)

    found = Chat()
    reply(client, found.session["id"], found.agent_account, "Hola", expect=201)
    return found


def details(client, session_id, account) -> dict:
    response = client.get(f"/api/chat/session/{session_id}/details", headers=account.headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["data"]


def test_the_user_rates_a_closed_session(app, client, chat):
    chat.close()

    response = rate(client, chat.session["id"], chat.user, score=4, comment="  Muy amable  ")

    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["message"] == "Calificación registrada exitosamente"
    data = body["data"]
    assert set(data) == RATING_FIELDS
    assert data["sessionId"] == chat.session["id"]
    assert data["userId"] == chat.user.id
    assert data["agentId"] == chat.agent["id"]
    assert (data["score"], data["comment"]) == (4, "Muy amable")
    with app.app_context():
        stored = db.session.scalars(select(SessionRating)).one()
        assert (str(stored.agent_id), stored.score) == (chat.agent["id"], 4)


def test_the_rating_is_shown_in_the_details(client, chat):
    assert details(client, chat.session["id"], chat.agent_account)["rating"] is None
    chat.close()
    rating = rate(client, chat.session["id"], chat.user, score=5).get_json()["data"]

    shown = details(client, chat.session["id"], chat.agent_account)["rating"]

    assert shown == {"score": 5, "comment": None, "createdAt": rating["createdAt"]}


def test_rating_publishes_chat_rated(app, client, chat):
    chat.close()
    rate(client, chat.session["id"], chat.user, score=3, comment="Regular")

    with app.app_context():
        entries = redis_client.client.xrange(EVENT_STREAM)
    rated = [
        fields
        for _id, fields in entries
        if (fields.get(b"event") or fields.get("event")) in (b"chat_rated", "chat_rated")
    ]
    assert len(rated) == 1
    fields = {
        (k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
        for k, v in rated[0].items()
    }
    data = json.loads(fields["data"])
    assert data["rating"]["score"] == 3
    assert data["rating"]["agentId"] == chat.agent["id"]
    assert data["session"]["id"] == chat.session["id"]
    assert fields["user"] == chat.user.id


def test_an_open_session_cannot_be_rated(client, chat):
    assert_error(rate(client, chat.session["id"], chat.user, score=5), 409, MSG_NOT_CLOSED)


def test_a_session_is_rated_only_once(client, chat):
    chat.close()
    assert rate(client, chat.session["id"], chat.user, score=5).status_code == 201

    response = rate(client, chat.session["id"], chat.user, score=1)

    assert_error(response, 409, MSG_ALREADY_RATED)


def test_an_unassigned_closed_session_is_rated_without_agent(client, make_account, open_session):
    user = make_account("user")
    session = open_session(user)
    close(client, session["id"], user, expect=200)

    response = rate(client, session["id"], user, score=2)

    assert response.status_code == 201
    assert response.get_json()["data"]["agentId"] is None


def test_another_user_gets_404(client, make_account, chat):
    chat.close()

    response = rate(client, chat.session["id"], make_account("user"), score=5)

    assert_error(response, 404, "Sesión de chat no encontrada")


@pytest.mark.parametrize("who", ["agent", "admin"])
def test_support_staff_get_403(client, make_account, chat, who):
    chat.close()
    account = chat.agent_account if who == "agent" else make_account("admin")

    response = rate(client, chat.session["id"], account, score=5)

    assert_error(response, 403, "No tienes permisos para realizar esta acción")


@pytest.mark.parametrize("session_id", [str(uuid.uuid4()), "no-es-un-id"])
def test_unknown_session_is_a_404(client, make_account, session_id):
    assert_error(rate(client, session_id, make_account("user"), score=5), 404)


def test_rating_requires_a_token(client):
    assert_error(client.post(f"/api/chat/session/{uuid.uuid4()}/rating", json={"score": 5}), 401)


@pytest.mark.parametrize("score", [0, 6, -1, 4.5, "5", None, True])
def test_score_must_be_an_integer_from_1_to_5(client, chat, score):
    chat.close()

    response = rate(client, chat.session["id"], chat.user, score=score)

    assert_error(response, 400, MSG_SCORE, field="score")


def test_score_is_required(client, chat):
    chat.close()

    assert_error(rate(client, chat.session["id"], chat.user), 400, MSG_SCORE, field="score")


@pytest.mark.parametrize("score", [1, 5])
def test_score_bounds_are_accepted(client, chat, score):
    chat.close()

    assert rate(client, chat.session["id"], chat.user, score=score).status_code == 201


def test_comment_up_to_1000_characters(client, chat):
    chat.close()

    response = rate(client, chat.session["id"], chat.user, score=4, comment="c" * 1001)
    assert_error(
        response, 400, "El comentario no puede superar los 1000 caracteres", field="comment"
    )
    response = rate(client, chat.session["id"], chat.user, score=4, comment="c" * 1000)
    assert response.status_code == 201
    assert response.get_json()["data"]["comment"] == "c" * 1000


def test_blank_comment_is_stored_as_none(client, chat):
    chat.close()

    response = rate(client, chat.session["id"], chat.user, score=4, comment="   ")

    assert response.get_json()["data"]["comment"] is None

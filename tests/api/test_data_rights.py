"""Data rights and retention: export and erasure of one customer (by an admin
or by the customer), RETENTION_DAYS content erasure and guest cleanup by the beat task, with
every counter, stat, rollup and metric checked exact afterwards."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text

from supportapp.analytics import rollups
from supportapp.extensions import db, redis_client
from supportapp.models import AuditLog, ChatMessage, ChatSession, SessionRating, User
from supportapp.realtime.bus import EVENT_STREAM
from supportapp.services import data_rights
from tests.conftest import assert_error
from tests.helpers import close, reply
from tests.spec_shapes import EXPORT_FIELDS

MSG_USER_NOT_FOUND = "Usuario no encontrado"
MSG_ONLY_CUSTOMERS = "Solo se pueden exportar o borrar los datos de clientes (rol user)"
MSG_INVALID_TOKEN = "Token inválido o expirado"
MSG_FORBIDDEN = "No tienes permisos para realizar esta acción"
COUNTER_TABLES = (
    "session_stats_hourly",
    "response_stats_hourly",
    "stats_daily_rollups",
    "stats_daily_histograms",
)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def admin(make_account):
    return make_account("admin")


@pytest.fixture
def conversation(client, make_account, make_agent, open_session):
    """A customer with an answered, rated, closed session; `open()` adds one that is active."""

    class Conversation:
        user = make_account("user")
        agent_account, agent = make_agent()
        session = open_session(user, "Mi pedido 1234 no llegó, vivo en Calle Mayor 5")

        def reply(self, session_id: str, text: str = "Lo reviso ahora mismo") -> None:
            reply(client, session_id, self.agent_account, text, expect=201)

        def open(self) -> dict:
            session = open_session(self.user, "Otra consulta")
            self.reply(session["id"])
            return session

    found = Conversation()
    found.reply(found.session["id"])
    sid = found.session["id"]
    close(client, sid, found.user, expect=200)
    rated = client.post(
        f"/api/chat/session/{sid}/rating",
        json={"score": 4, "comment": "Me atendió Marta, muy bien"},
        headers=found.user.headers,
    )
    assert rated.status_code == 201, rated.get_json()
    return found


def snapshot(app, client, admin) -> dict:
    """Every figure derived from sessions and messages: API stats and metrics, trigger-kept
    counters, agents' loads, today's rollup rows (recomputed)."""
    with app.app_context():
        rollups.rollup_day(datetime.now(UTC).date())
        tables = {
            name: sorted(
                tuple(str(v) for k, v in row._mapping.items() if k != "computed_at")
                for row in db.session.execute(text(f"SELECT * FROM {name}"))
            )
            for name in COUNTER_TABLES
        }
        loads = dict(
            db.session.execute(text("SELECT id, current_active_chats FROM support_agents")).all()
        )
        db.session.remove()
    stats = client.get("/api/chat/stats", headers=admin.headers).get_json()["data"]
    metrics = client.get("/api/support/agents/metrics", headers=admin.headers).get_json()["data"]
    return {"tables": tables, "loads": loads, "stats": stats, "metrics": metrics}


def erase(client, user_id: str, admin):
    return client.delete(f"/api/support/users/{user_id}", headers=admin.headers)


def events_named(app, name: str) -> list[dict]:
    import json

    with app.app_context():
        entries = redis_client.client.xrange(EVENT_STREAM)
    return [json.loads(f["data"]) for _id, f in entries if f.get("event") == name]


# --- export -------------------------------------------------------------------------------------


def test_admin_export_holds_everything_about_the_customer(app, client, admin, conversation):
    response = client.get(
        f"/api/support/users/{conversation.user.id}/export", headers=admin.headers
    )

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["message"] == "Datos exportados exitosamente"
    data = body["data"]
    assert set(data) == EXPORT_FIELDS
    assert data["user"]["id"] == conversation.user.id
    assert data["user"]["email"] == conversation.user.email
    assert data["user"]["isGuest"] is False
    [session] = data["sessions"]
    assert session["id"] == conversation.session["id"]
    assert [m["message"] for m in session["messages"]] == [
        "Mi pedido 1234 no llegó, vivo en Calle Mayor 5",
        "Lo reviso ahora mismo",
    ]
    assert [(r["score"], r["comment"]) for r in data["ratings"]] == [
        (4, "Me atendió Marta, muy bien")
    ]
    assert data["attachments"] == []
    assert {"session.assigned", "session.support_message"} <= {
        a["action"] for a in data["auditLogs"]
    }
    assert all(a["sessionId"] == session["id"] for a in data["auditLogs"])
    with app.app_context():
        exported = db.session.scalars(
            select(AuditLog).where(AuditLog.action == "user.exported")
        ).all()
        assert [(e.actor_id, e.target_id) for e in exported] == [
            (uuid.UUID(admin.id), conversation.user.id)
        ]


def test_a_customer_exports_their_own_data(client, conversation):
    response = client.get("/api/auth/me/export", headers=conversation.user.headers)

    assert response.status_code == 200
    assert response.get_json()["data"]["user"]["id"] == conversation.user.id
    assert len(response.get_json()["data"]["sessions"]) == 1


def test_a_guest_exports_their_own_data(client):
    guest = client.post("/api/auth/guest", json={}).get_json()["data"]

    response = client.get("/api/auth/me/export", headers=bearer(guest["accessToken"]))

    assert response.status_code == 200
    assert response.get_json()["data"]["user"]["isGuest"] is True


@pytest.mark.parametrize("user_id", [str(uuid.uuid4()), "not-a-uuid"])
def test_export_of_an_unknown_user_returns_404(client, admin, user_id):
    response = client.get(f"/api/support/users/{user_id}/export", headers=admin.headers)

    assert_error(response, 404, MSG_USER_NOT_FOUND)


def test_export_and_erasure_of_staff_return_409(client, admin, make_account):
    staff = make_account("support")

    assert_error(
        client.get(f"/api/support/users/{staff.id}/export", headers=admin.headers),
        409,
        MSG_ONLY_CUSTOMERS,
    )
    assert_error(erase(client, staff.id, admin), 409, MSG_ONLY_CUSTOMERS)
    assert_error(client.delete("/api/auth/me", json={}, headers=admin.headers), 409)


@pytest.mark.parametrize("role", ["user", "support"])
def test_admin_data_rights_endpoints_refuse_other_roles(client, make_account, conversation, role):
    caller = make_account(role)
    path = f"/api/support/users/{conversation.user.id}"

    assert_error(client.get(f"{path}/export", headers=caller.headers), 403, MSG_FORBIDDEN)
    assert_error(client.delete(path, headers=caller.headers), 403, MSG_FORBIDDEN)


def test_data_rights_endpoints_require_a_token(client, conversation):
    path = f"/api/support/users/{conversation.user.id}"

    assert_error(client.get(f"{path}/export"), 401, MSG_INVALID_TOKEN)
    assert_error(client.delete(path), 401, MSG_INVALID_TOKEN)
    assert_error(client.get("/api/auth/me/export"), 401, MSG_INVALID_TOKEN)
    assert_error(client.delete("/api/auth/me"), 401, MSG_INVALID_TOKEN)


# --- erasure by an admin ------------------------------------------------------------------------


def test_admin_erasure_removes_content_anonymises_and_keeps_the_shell(
    app, client, admin, conversation
):
    sid = conversation.session["id"]

    response = erase(client, conversation.user.id, admin)

    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {
        "success": True,
        "data": None,
        "message": "Datos eliminados exitosamente",
    }
    details = client.get(f"/api/chat/session/{sid}/details", headers=admin.headers).get_json()
    data = details["data"]
    assert data["session"]["status"] == "closed"
    assert [m["message"] for m in data["session"]["messages"]] == ["", ""]
    assert data["user"] == {
        "id": conversation.user.id,
        "email": None,
        "name": "Usuario eliminado",
        "isGuest": False,
        "sessionsCount": 1,  # the shell stays, so the customer's history count does too
        "lastSessionAt": data["session"]["createdAt"],
    }
    assert data["rating"]["score"] == 4
    with app.app_context():
        user = db.session.get(User, uuid.UUID(conversation.user.id))
        assert user.password_hash is None and user.erased_at is not None
        assert db.session.scalar(select(SessionRating.comment)) is None
        session = db.session.get(ChatSession, uuid.UUID(sid))
        assert session.content_erased_at is not None
        [row] = db.session.scalars(select(AuditLog).where(AuditLog.action == "user.erased"))
        assert (row.actor_id, row.target_id, row.after) == (
            uuid.UUID(admin.id),
            conversation.user.id,
            {"reason": "request"},
        )
    [event] = events_named(app, "user_erased")
    assert event == {"userId": conversation.user.id, "sessionIds": [sid], "reason": "request"}


def test_the_erased_customers_tokens_stop_working_at_once(client, admin, conversation):
    user = conversation.user

    erase(client, user.id, admin)

    assert_error(client.get("/api/auth/me", headers=user.headers), 401, MSG_INVALID_TOKEN)
    assert_error(
        client.post("/api/chat/sessions", json={}, headers=user.headers), 401, MSG_INVALID_TOKEN
    )
    assert_error(
        client.post("/api/auth/refresh", headers=bearer(user.refresh_token)),
        401,
        MSG_INVALID_TOKEN,
    )
    login = client.post("/api/auth/login", json={"email": user.email, "password": "password123"})
    assert_error(login, 401)


def test_the_erased_customers_token_no_longer_opens_a_websocket(app, client, admin, conversation):
    # The socket decodes the token, then checks revocation once subscribed and closes with 4401
    # (realtime/ws.py): an erased customer's token must fail one or the other.
    from supportapp.auth import blocklist
    from supportapp.realtime.ws import _identify

    with app.test_request_context("/ws"):
        identity = _identify(conversation.user.token)
        assert identity is not None and not blocklist.is_revoked(identity.claims)

    erase(client, conversation.user.id, admin)

    with app.test_request_context("/ws"):
        identity = _identify(conversation.user.token)
        assert identity is None or blocklist.is_revoked(identity.claims)


def test_erased_users_email_can_register_again(client, admin, conversation):
    erase(client, conversation.user.id, admin)

    again = client.post(
        "/api/auth/register",
        json={"email": conversation.user.email, "password": "password123", "name": "Nuevo"},
    )

    assert again.status_code == 201
    assert again.get_json()["data"]["user"]["id"] != conversation.user.id


def test_erasing_twice_returns_404(client, admin, conversation):
    erase(client, conversation.user.id, admin)

    assert_error(erase(client, conversation.user.id, admin), 404, MSG_USER_NOT_FOUND)
    assert_error(
        client.get(f"/api/support/users/{conversation.user.id}/export", headers=admin.headers),
        404,
        MSG_USER_NOT_FOUND,
    )


def test_erasure_of_closed_sessions_leaves_every_counter_stat_and_metric_unchanged(
    app, client, admin, conversation, make_account, open_session
):
    other = make_account("user")
    other_session = open_session(other, "Consulta de otro cliente")
    conversation.reply(other_session["id"])
    before = snapshot(app, client, admin)

    erase(client, conversation.user.id, admin)

    assert snapshot(app, client, admin) == before


def test_erasure_closes_open_sessions_and_the_counters_match_the_rows(
    app, client, admin, conversation
):
    active = conversation.open()
    before = snapshot(app, client, admin)
    assert before["stats"]["activeSessions"] == 1

    erase(client, conversation.user.id, admin)

    after = snapshot(app, client, admin)
    assert after["stats"]["activeSessions"] == 0
    assert after["stats"]["closedSessions"] == before["stats"]["closedSessions"] + 1
    assert after["stats"]["totalSessions"] == before["stats"]["totalSessions"]
    assert after["stats"]["averageResponseTime"] == before["stats"]["averageResponseTime"]
    assert after["loads"] == {uuid.UUID(conversation.agent["id"]): 0}
    with app.app_context():
        counted = dict(
            db.session.execute(
                text("SELECT status::text, count(*) FROM chat_sessions GROUP BY status")
            ).all()
        )
        assert counted == {"closed": 2}
        assert rollups.check_day(datetime.now(UTC).date()) == 0
    statuses = [e["session"]["status"] for e in events_named(app, "chat_status_changed")]
    assert statuses[-1] == "closed"
    assert active["id"] in events_named(app, "user_erased")[0]["sessionIds"]


# --- erasure by the customer --------------------------------------------------------------------


def test_a_customer_erases_their_account_with_the_password(app, client, conversation):
    response = client.delete(
        "/api/auth/me", json={"password": "password123"}, headers=conversation.user.headers
    )

    assert response.status_code == 200, response.get_json()
    assert_error(client.get("/api/auth/me", headers=conversation.user.headers), 401)
    with app.app_context():
        [row] = db.session.scalars(select(AuditLog).where(AuditLog.action == "user.erased"))
        assert row.actor_id == uuid.UUID(conversation.user.id)
        assert row.after == {"reason": "self"}


def test_self_erasure_needs_the_password_of_a_password_account(client, conversation):
    headers = conversation.user.headers

    assert_error(client.delete("/api/auth/me", json={}, headers=headers), 400, field="password")
    assert_error(
        client.delete("/api/auth/me", json={"password": "wrong-password"}, headers=headers),
        401,
        "Contraseña incorrecta",
    )
    assert client.get("/api/auth/me", headers=headers).status_code == 200


def test_a_guest_erases_their_data_with_the_guest_token_alone(app, client):
    guest = client.post("/api/auth/guest", json={"email": "g@example.com"}).get_json()["data"]
    headers = bearer(guest["accessToken"])
    client.post("/api/chat/sessions", json={"message": "Soy un invitado"}, headers=headers)

    response = client.delete("/api/auth/me", headers=headers)

    assert response.status_code == 200, response.get_json()
    assert_error(client.get("/api/auth/me", headers=headers), 401, MSG_INVALID_TOKEN)
    with app.app_context():
        assert db.session.scalars(select(ChatMessage.message)).all() == [""]
        user = db.session.get(User, uuid.UUID(guest["user"]["id"]))
        assert user.email is None and user.erased_at is not None


def test_erasure_calls_the_registered_content_erasers(client, admin, conversation, monkeypatch):
    seen = []
    monkeypatch.setattr(
        data_rights, "SESSION_CONTENT_ERASERS", [lambda uow, ids: seen.append(sorted(ids))]
    )

    erase(client, conversation.user.id, admin)

    assert seen == [[uuid.UUID(conversation.session["id"])]]


# --- retention (beat) ---------------------------------------------------------------------------


def _age_session(session_id: str, *, days: int) -> None:
    moment = datetime.now(UTC) - timedelta(days=days)
    db.session.execute(
        text("UPDATE chat_sessions SET closed_at = :m, last_message_at = :m WHERE id = :id"),
        {"m": moment, "id": session_id},
    )
    db.session.commit()


def test_retention_erases_old_closed_sessions_content_in_batches(
    app, client, admin, conversation, open_session, monkeypatch
):
    recent = conversation.open()
    old_ids = [conversation.session["id"]]
    for _ in range(4):
        session = open_session(conversation.user, "Un dato personal")
        close(client, session["id"], admin, expect=200)
        old_ids.append(session["id"])
    with app.app_context():
        for sid in old_ids:
            _age_session(sid, days=40)
        db.session.remove()
    before = snapshot(app, client, admin)
    monkeypatch.setattr(data_rights, "BATCH", 2)

    with app.app_context():
        erased = data_rights.erase_expired_content(30)
        again = data_rights.erase_expired_content(30)
        texts = dict(
            db.session.execute(
                text(
                    "SELECT m.session_id::text, string_agg(m.message, '') FROM chat_messages m "
                    "GROUP BY m.session_id"
                )
            ).all()
        )
        batches = db.session.scalar(
            select(func.count()).where(AuditLog.action == "retention.content_erased")
        )
        db.session.remove()

    assert (erased, again) == (5, 0)
    assert batches == 3
    assert all(texts[sid] == "" for sid in old_ids if sid in texts)
    assert texts[recent["id"]] != ""
    assert snapshot(app, client, admin) == before


def test_retention_zero_keeps_everything(app, conversation):
    with app.app_context():
        _age_session(conversation.session["id"], days=4000)
        assert data_rights.erase_expired_content(0) == 0
        assert "" not in db.session.scalars(select(ChatMessage.message)).all()


def _guest(client) -> dict:
    return client.post("/api/auth/guest", json={}).get_json()["data"]


def _age_user(user_id: str, *, days: int) -> None:
    db.session.execute(
        text("UPDATE users SET last_active_at = now() - make_interval(days => :d) WHERE id = :id"),
        {"d": days, "id": user_id},
    )
    db.session.commit()


def test_guest_cleanup_deletes_idle_guests_and_erases_those_with_closed_sessions(
    app, client, admin, make_account
):
    idle = _guest(client)
    with_closed = _guest(client)
    with_open = _guest(client)
    recent = _guest(client)
    account = make_account("user")
    headers = bearer(with_closed["accessToken"])
    closed_id = client.post("/api/chat/sessions", json={"message": "Hola"}, headers=headers)
    closed_id = closed_id.get_json()["data"]["id"]
    close(client, closed_id, headers, expect=200)
    client.post(
        "/api/chat/sessions",
        json={"message": "Sigo aquí"},
        headers=bearer(with_open["accessToken"]),
    )
    with app.app_context():
        for user_id in (idle["user"]["id"], with_closed["user"]["id"], with_open["user"]["id"]):
            _age_user(user_id, days=31)
        _age_user(account.id, days=400)
        _age_session(closed_id, days=31)
        db.session.execute(
            text("UPDATE chat_sessions SET last_message_at = now() - interval '40 days'")
        )
        db.session.commit()
        db.session.remove()
    before = snapshot(app, client, admin)

    with app.app_context():
        removed = data_rights.remove_inactive_guests(30)
        users = {str(u.id): u for u in db.session.scalars(select(User))}
        db.session.expunge_all()

    assert removed == 2
    assert idle["user"]["id"] not in users
    assert users[with_closed["user"]["id"]].erased_at is not None
    assert users[with_open["user"]["id"]].erased_at is None
    assert users[recent["user"]["id"]].erased_at is None
    assert users[account.id].erased_at is None
    for gone in (idle, with_closed):
        assert_error(
            client.get("/api/auth/me", headers=bearer(gone["accessToken"])), 401, MSG_INVALID_TOKEN
        )
    assert client.get("/api/auth/me", headers=bearer(with_open["accessToken"])).status_code == 200
    assert snapshot(app, client, admin) == before


def test_guest_retention_defaults_to_30_days_and_retention_to_keep(app):
    assert app.config["GUEST_RETENTION_DAYS"] == 30
    assert app.config["RETENTION_DAYS"] == 0


def test_the_retention_task_is_scheduled_and_runs_both_rules(app, monkeypatch):
    from supportapp.jobs import APPLY_RETENTION, beat_schedule
    from workers.retention_tasks import apply_retention

    calls = []
    monkeypatch.setitem(app.config, "RETENTION_DAYS", 7)
    monkeypatch.setattr(data_rights, "erase_expired_content", lambda d: calls.append(("c", d)) or 1)
    monkeypatch.setattr(
        data_rights, "remove_inactive_guests", lambda d: calls.append(("g", d)) or 2
    )

    assert beat_schedule(app)["data-retention"]["task"] == APPLY_RETENTION
    with app.app_context():
        assert apply_retention() == {"sessionsErased": 1, "guestsRemoved": 2}
    assert calls == [("c", 7), ("g", 30)]

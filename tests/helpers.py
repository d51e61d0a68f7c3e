"""Helpers shared by the tests: the chat actions of the API and a few database reads.

Each chat action takes the Flask test client, the session id, what the action needs and the
Account that acts (None: no Authorization header). It returns the response; with
`expect=<status>` it asserts that status and returns the envelope's `data` instead.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from supportapp.extensions import db
from tests.conftest import Account

DEFAULT_REPLY = "Hola, ¿en qué puedo ayudarte?"
_UNSET: Any = object()


def _call(
    client: FlaskClient,
    method: str,
    session_id: str,
    action: str,
    account: Account | None,
    body: dict[str, Any] | None,
    expect: int | None,
) -> Any:
    response = client.open(
        f"/api/chat/session/{session_id}/{action}",
        method=method,
        json=body,
        headers=account.headers if account else {},
    )
    if expect is None:
        return response
    assert response.status_code == expect, (response.status_code, response.get_json())
    return response.get_json()["data"]


def assign(client, session_id, agent_id, account, *, expect: int | None = None) -> Any:
    """PATCH /api/chat/session/:id/assign."""
    return _call(
        client, "PATCH", session_id, "assign", account, {"supportAgentId": agent_id}, expect
    )


def set_priority(client, session_id, priority, account, *, expect: int | None = None) -> Any:
    """PATCH /api/chat/session/:id/priority."""
    return _call(client, "PATCH", session_id, "priority", account, {"priority": priority}, expect)


def close(client, session_id, account, *, expect: int | None = None) -> Any:
    """PATCH /api/chat/session/:id/close."""
    return _call(client, "PATCH", session_id, "close", account, None, expect)


def reply(
    client, session_id, account, message=_UNSET, *, template_id=None, expect: int | None = None
) -> Any:
    """POST /api/chat/session/:id/support-message with `message` (None is sent as null), a
    `template_id`, or both; without either, a default text."""
    body: dict[str, Any] = {}
    if message is not _UNSET:
        body["message"] = message
    elif template_id is None:
        body["message"] = DEFAULT_REPLY
    if template_id is not None:
        body["templateId"] = template_id
    return _call(client, "POST", session_id, "support-message", account, body, expect)


def send(client, session_id, account, message="Otra pregunta", *, expect: int | None = None) -> Any:
    """POST /api/chat/session/:id/message (the session's user writes)."""
    return _call(client, "POST", session_id, "message", account, {"message": message}, expect)


def get_data(client: FlaskClient, url: str, account: Account, message: str, **query: Any) -> Any:
    """GET `url` as `account`: asserts a 200 success envelope with `message`; returns `data`."""
    response = client.get(url, query_string=query, headers=account.headers)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["success"] is True
    assert body["message"] == message
    return body["data"]


# --- database reads -----------------------------------------------------------------------------


def rows(sql: str, **params: Any) -> set[tuple]:
    """The rows of `sql` as a set of tuples (needs an app context)."""
    return set(db.session.execute(text(sql), params).all())


def session_counters() -> set[tuple]:
    """The non-zero trigger-kept hourly session counters: (bucket, status, priority, n)."""
    return rows(
        "SELECT bucket, status::text, priority::text, sessions "
        "FROM session_stats_hourly WHERE sessions <> 0"
    )


def fetch_all(app: Flask, sql: str, **params: Any) -> list[dict]:
    """The rows of `sql` as dicts, in their own app context."""
    with app.app_context():
        found = [dict(row) for row in db.session.execute(text(sql), params).mappings()]
        db.session.remove()
    return found


def fetch_one(app: Flask, sql: str, **params: Any) -> dict | None:
    """The first row of `sql` as a dict (None without rows)."""
    found = fetch_all(app, sql, **params)
    return found[0] if found else None


def scalar(app: Flask, sql: str, **params: Any) -> Any:
    """The first column of the first row of `sql`."""
    row = fetch_one(app, sql, **params)
    return None if row is None else next(iter(row.values()))


def load_of(app: Flask, agent_id: str) -> int:
    """support_agents.current_active_chats of an agent, as stored."""
    return scalar(
        app, "SELECT current_active_chats FROM support_agents WHERE id = :id", id=agent_id
    )


def assignment_of(app: Flask, session_id: str) -> dict:
    """The stored status, support_agent_id and assigned_at of a session."""
    return fetch_one(
        app,
        "SELECT status::text AS status, support_agent_id, assigned_at"
        " FROM chat_sessions WHERE id = :id",
        id=session_id,
    )


def assert_taken_by(app: Flask, session_id: str, agent_id: str, *, load: int) -> None:
    """The stored session is `active` with `agent_id` since an assignment, and the agent's
    stored load is `load`."""
    row = assignment_of(app, session_id)
    assert row["status"] == "active", row
    assert str(row["support_agent_id"]) == agent_id
    assert row["assigned_at"] is not None
    assert load_of(app, agent_id) == load

"""Helpers shared by the tests: the chat actions of the API and a few database reads.

Each chat action takes the Flask test client, the session id, what the action needs and the
Account that acts (None: no Authorization header). It returns the response; with
`expect=<status>` it asserts that status and returns the envelope's `data` instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from supportapp.extensions import db
from supportapp.models import ChatMessage, Sender
from tests.conftest import Account

DEFAULT_REPLY = "Hola, ¿en qué puedo ayudarte?"
_UNSET: Any = object()


def chat_action(
    client: FlaskClient,
    method: str,
    session_id: str,
    action: str,
    account: Account | Mapping[str, str] | None,
    body: Any = None,
    *,
    expect: int | None = None,
) -> Any:
    """`method` /api/chat/session/:id/`action` with a JSON `body`, as `account` (an Account, a
    headers mapping, or None for no Authorization header)."""
    headers = account.headers if isinstance(account, Account) else dict(account or {})
    response = client.open(
        f"/api/chat/session/{session_id}/{action}", method=method, json=body, headers=headers
    )
    if expect is None:
        return response
    assert response.status_code == expect, (response.status_code, response.get_json())
    return response.get_json()["data"]


def assign(client, session_id, agent_id, account, *, expect: int | None = None) -> Any:
    """PATCH /api/chat/session/:id/assign."""
    return chat_action(
        client, "PATCH", session_id, "assign", account, {"supportAgentId": agent_id}, expect=expect
    )


def set_priority(client, session_id, priority, account, *, expect: int | None = None) -> Any:
    """PATCH /api/chat/session/:id/priority."""
    return chat_action(
        client, "PATCH", session_id, "priority", account, {"priority": priority}, expect=expect
    )


def close(client, session_id, account, *, expect: int | None = None) -> Any:
    """PATCH /api/chat/session/:id/close."""
    return chat_action(client, "PATCH", session_id, "close", account, expect=expect)


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
    return chat_action(client, "POST", session_id, "support-message", account, body, expect=expect)


def send(client, session_id, account, message="Otra pregunta", *, expect: int | None = None) -> Any:
    """POST /api/chat/session/:id/message (the session's user writes)."""
    return chat_action(
        client, "POST", session_id, "message", account, {"message": message}, expect=expect
    )


def assert_ok(response, status: int, message: str) -> Any:
    """A success envelope with `status` and `message`; returns its `data`."""
    assert response.status_code == status, (response.status_code, response.get_json())
    body = response.get_json()
    assert body["success"] is True
    assert body["message"] == message
    return body["data"]


def get_data(client: FlaskClient, url: str, account: Account, message: str, **query: Any) -> Any:
    """GET `url` as `account`: asserts a 200 success envelope with `message`; returns `data`."""
    response = client.get(url, query_string=query, headers=account.headers)
    return assert_ok(response, 200, message)


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


def execute(app: Flask, sql: str, **params: Any) -> None:
    """Run `sql` and commit, in its own app context (backdating rows and the like)."""
    with app.app_context():
        db.session.execute(text(sql), params)
        db.session.commit()
        db.session.remove()


def set_ago(app: Flask, table: str, column: str, row_id: Any, ago: timedelta) -> None:
    """Set a time column of one row to `ago` before now (a wait that started earlier, a chat
    that entered the queue long ago, …)."""
    execute(app, f"UPDATE {table} SET {column} = now() - :ago WHERE id = :id", ago=ago, id=row_id)


def add_message(
    session_id: Any, sender: Sender, timestamp: datetime, message: str, **columns: Any
) -> ChatMessage:
    """A ChatMessage row added to the current database session (not committed), with any of
    the columns the services fill in (response_seconds, agent_id, …)."""
    row = ChatMessage(
        session_id=session_id, message=message, sender=sender, timestamp=timestamp, **columns
    )
    db.session.add(row)
    return row

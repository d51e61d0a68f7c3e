"""No N+1 queries: a list request issues the same number of SQL statements for 3 rows as for
30."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event

from supportapp.extensions import db
from supportapp.models import (
    ChatSession,
    Role,
    Sender,
    SessionStatus,
    SupportAgent,
    User,
)
from tests.helpers import add_message

START = datetime(2024, 5, 15, 9, 0, tzinfo=UTC)


@pytest.fixture
def grow(app):
    """grow(n) adds rows until there are n agents and, for each status, n sessions with
    messages; active sessions are assigned one per agent."""
    made = 0

    def to(n: int) -> None:
        nonlocal made
        with app.app_context():
            for i in range(made, n):
                add_agent_with_sessions(i)
            db.session.commit()
        made = n

    return to


def add_agent_with_sessions(i: int) -> None:
    user = User(email=f"agent-{i}-{uuid.uuid4().hex[:6]}@example.com", name=f"Agent {i}")
    user.role = Role.SUPPORT
    owner = User(email=f"user-{i}-{uuid.uuid4().hex[:6]}@example.com", name=f"User {i}")
    db.session.add_all([user, owner])
    db.session.flush()
    agent = SupportAgent(user_id=user.id, name=user.name, email=user.email)
    db.session.add(agent)
    db.session.flush()
    for status in SessionStatus:
        created = START + timedelta(minutes=i)
        session = ChatSession(
            user_id=owner.id,
            status=status,
            support_agent_id=agent.id if status == SessionStatus.ACTIVE else None,
            created_at=created,
            last_message_at=created + timedelta(seconds=30),
            queued_at=created,
        )
        db.session.add(session)
        db.session.flush()
        for second, sender in enumerate([Sender.USER, Sender.SUPPORT, Sender.USER]):
            add_message(
                session.id, sender, created + timedelta(seconds=second), f"mensaje {second}"
            )


@contextmanager
def counting_statements(app) -> Iterator[list[str]]:
    with app.app_context():
        engine = db.engine
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def statements_for(app, client, admin, url: str, expected_rows: int) -> list[str]:
    """The SQL statements of one GET of `url`, which must list `expected_rows` items."""
    client.get(url, headers=admin.headers)  # warm up: connections, caches
    with counting_statements(app) as statements:
        response = client.get(url, headers=admin.headers)
    assert response.status_code == 200, response.get_json()
    data = response.get_json()["data"]
    rows = data["sessions"] if isinstance(data, dict) else data
    assert len(rows) == expected_rows
    return statements


@pytest.mark.parametrize(
    "url",
    [
        "/api/chat/sessions/all?limit=100",
        "/api/chat/sessions/all?limit=100&sortBy=priority&sortOrder=asc",
        "/api/chat/sessions/status/active?limit=100",
        "/api/chat/queue?limit=100",
        "/api/support/agents",
    ],
)
def test_a_list_costs_the_same_statements_for_3_and_30_rows(app, client, admin, grow, url):
    rows_per_agent = 3 if url.startswith("/api/chat/sessions/all") else 1

    grow(3)
    few = statements_for(app, client, admin, url, 3 * rows_per_agent)
    grow(30)
    many = statements_for(app, client, admin, url, 30 * rows_per_agent)

    assert len(many) == len(few), "\n\n".join(many)
    assert len(few) <= 5, "\n\n".join(few)


def test_the_list_carries_the_last_message_of_each_session(app, client, admin, grow):
    grow(30)

    response = client.get("/api/chat/sessions/all?limit=100", headers=admin.headers)

    sessions = response.get_json()["data"]["sessions"]
    assert len(sessions) == 90
    assert {s["messages"][0]["message"] for s in sessions} == {"mensaje 2"}


@pytest.mark.parametrize(
    "url",
    [
        "/api/chat/sessions/all?limit=100&sortBy=status",
        "/api/chat/sessions/status/closed?limit=100",
    ],
)
def test_a_session_list_is_one_statement(app, client, admin, grow, url):
    """Page, last messages and total in a single round trip."""
    grow(5)
    rows = 15 if "sortBy" in url else 5
    assert len(statements_for(app, client, admin, url, rows)) == 1


def test_a_page_past_the_end_still_reports_the_total(client, admin, grow):
    grow(2)

    response = client.get("/api/chat/sessions/all?page=9", headers=admin.headers)

    data = response.get_json()["data"]
    assert data["sessions"] == []
    assert data["pagination"]["total"] == 6

"""Reads on replicas against a real streaming replica: a private primary and a hot standby
made by pg_basebackup (testkit/replication.py), and in-process apps whose DATABASE_URL is the
primary and DATABASE_REPLICA_URL the standby. Redis is the suite's."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade

from supportapp import create_app
from supportapp.config import Config
from supportapp.extensions import db
from testkit.replication import ReplicatedPostgres, Server

pytestmark = pytest.mark.slow

GENEROUS_LIMITS = {
    "REGISTER_RATE_LIMIT": "100000/minute",
    "LOGIN_RATE_LIMIT": "100000/minute",
    "MESSAGE_RATE_LIMIT": "100000/minute",
}


@pytest.fixture(scope="package")
def replication() -> Iterator[ReplicatedPostgres]:
    with ReplicatedPostgres(replicas=1) as servers:
        yield servers


@pytest.fixture(scope="package")
def replica(replication) -> Server:
    return replication.replicas[0]


def _environ(test_environ, replication, max_lag: str) -> dict[str, str]:
    return {
        **test_environ,
        **GENEROUS_LIMITS,
        "DATABASE_URL": replication.primary.url,
        "DATABASE_REPLICA_URL": replication.replicas[0].url,
        "DATABASE_REPLICA_MAX_LAG_SECONDS": max_lag,
    }


@pytest.fixture(scope="package")
def migrated(replication, test_environ) -> list[str]:
    """The primary migrated (the standby replays it); the names of its tables."""
    app = create_app(Config(_environ(test_environ, replication, "5")))
    with app.app_context():
        upgrade()
        tables = [t.name for t in db.metadata.sorted_tables]
        _dispose(app)
    return tables


def _dispose(app: Flask) -> None:
    with app.app_context():
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()


@dataclass
class Account:
    id: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class Web:
    """An app on the primary and the replica, driven through its test client."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.client: FlaskClient = app.test_client()
        self._n = 0

    def account(self, role: str) -> Account:
        from supportapp.models import Role
        from supportapp.services import users

        self._n += 1
        email = f"{role}-{self._n}-{id(self)}@example.com"
        with self.app.app_context():
            users.register_user(email=email, password="password123", name=role, role=Role(role))
            db.session.remove()
        reply = self.client.post(
            "/api/auth/login", json={"email": email, "password": "password123"}
        )
        assert reply.status_code == 200, reply.get_json()
        data = reply.get_json()["data"]
        return Account(data["user"]["id"], data["accessToken"])

    def call(self, method: str, path: str, account: Account, body=None, expect: int = 200):
        reply = self.client.open(path, method=method, json=body, headers=account.headers)
        assert reply.status_code == expect, (path, reply.status_code, reply.get_json())
        return reply.get_json()["data"]

    def open_session(self, account: Account, message: str) -> dict:
        return self.call("POST", "/api/chat/sessions", account, {"message": message}, expect=201)

    def found(self, account: Account, words: str) -> int:
        """How many messages the search finds."""
        data = self.call("GET", f"/api/chat/search?q={words}", account)
        return data["pagination"]["total"]

    def total_sessions(self, account: Account) -> int:
        return self.call("GET", "/api/chat/stats", account)["totalSessions"]

    def served_by(self) -> dict[str, float]:
        from tests.test_telemetry import sample

        scraped = self.client.get("/metrics").get_data(as_text=True)
        return {
            where: sample(scraped, "supportapp_replica_reads_total", served_by=where) or 0
            for where in ("replica", "primary")
        }


@pytest.fixture
def make_web(replication, migrated, test_environ) -> Iterator[Callable[..., Web]]:
    """make_web(max_lag="5") → a Web on empty tables, the standby caught up and replaying."""
    conn = replication.primary.connect()
    with conn.cursor() as cur:
        cur.execute(f"TRUNCATE {', '.join(migrated)} RESTART IDENTITY CASCADE")
    conn.close()
    for server in replication.replicas:
        if not server.running:
            server.start()
        replication.resume_replay(server)
    replication.wait_replayed()
    apps: list[Flask] = []

    def factory(max_lag: str = "5") -> Web:
        apps.append(create_app(Config(_environ(test_environ, replication, max_lag))))
        return Web(apps[-1])

    yield factory
    for app in apps:
        _dispose(app)

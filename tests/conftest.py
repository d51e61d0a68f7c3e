"""Fixtures: a throwaway PostgreSQL database and Redis db number for the whole run, a clean
slate before every test, an app, a client, and helpers that make users with tokens.

The servers come from DATABASE_URL / REDIS_URL (`make test` starts embedded ones when unset).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import text

from supportapp import create_app, jobs
from supportapp.api import validation_messages
from supportapp.config import Config
from supportapp.extensions import db, redis_client
from testkit.databases import throwaway_database

# Test modules import schema modules before any app exists (create_app applies these too).
validation_messages.apply()

TEST_REDIS_DB = int(os.environ.get("TEST_REDIS_DB", "13"))
TABLES = None  # discovered after migrating


def _server_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if not url:
        pytest.exit("DATABASE_URL is not set: run the suite with `make test`", returncode=2)
    return url


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A fresh database on the configured server, dropped at the end of the run."""
    with throwaway_database(_server_url(), f"supportapp_test_{os.getpid()}") as url:
        yield url


@pytest.fixture(scope="session")
def redis_url() -> str:
    base = os.environ.get("REDIS_URL")
    if not base:
        pytest.exit("REDIS_URL is not set: run the suite with `make test`", returncode=2)
    return (
        base.rsplit("/", 1)[0] + f"/{TEST_REDIS_DB}"
        if base.count("/") >= 3
        else f"{base.rstrip('/')}/{TEST_REDIS_DB}"
    )


@pytest.fixture(scope="session")
def test_environ(database_url: str, redis_url: str) -> dict[str, str]:
    """The environment a test app (or a test subprocess: gunicorn, celery) runs with."""
    return {
        **os.environ,
        "APP_ENV": "testing",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "JWT_SECRET_KEY": "test-secret-key-that-is-long-enough-for-hs256-0123456789",
        "LOG_LEVEL": "WARNING",
        "AUTO_ASSIGN_ENABLED": "false",
        # Most tests open many sessions per user; the abuse limits have their own tests
        # (tests/api/test_abuse_limits.py), which set them back to their defaults.
        "MAX_OPEN_SESSIONS_PER_USER": "1000",
        "SESSION_OPEN_RATE_LIMIT": "1000/minute",
    }


@pytest.fixture(scope="session")
def app(test_environ: dict[str, str]) -> Iterator[Flask]:
    application = create_app(Config(test_environ))
    with application.app_context():
        upgrade()
        global TABLES
        TABLES = [t.name for t in db.metadata.sorted_tables]
    yield application


@pytest.fixture(autouse=True)
def clean_state(request, app: Flask, redis_url: str) -> Iterator[None]:
    """Every test starts with empty tables and an empty Redis db."""
    if "no_clean_state" in request.keywords:
        yield
        return
    with app.app_context():
        db.session.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
        db.session.commit()
    redis.Redis.from_url(redis_url).flushdb()
    redis_client.recovered()  # a Redis failure simulated by an earlier test is over
    if jobs.celery.flask_app is not app:  # a test built its own app, which rebound Celery
        jobs.init_app(app)
    yield
    with app.app_context():
        db.session.remove()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def sockets() -> Iterator[list]:
    """Register WebSocket clients (tests/realtime/harness.py) here to have them closed after
    the test."""
    opened: list = []
    yield opened
    for sock in opened:
        sock.close()


@pytest.fixture
def app_ctx(app: Flask) -> Iterator[None]:
    with app.app_context():
        yield
        db.session.remove()


@dataclass
class Account:
    id: str
    email: str
    name: str
    role: str
    token: str
    refresh_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
def make_account(app: Flask, client: FlaskClient):
    """make_account(role="user", **fields) → Account with a fresh access token."""
    from supportapp.models import Role
    from supportapp.services import users

    def factory(
        role: str = "user",
        *,
        name: str | None = None,
        email: str | None = None,
        password: str = "password123",
    ) -> Account:
        email = email or f"{role}-{uuid.uuid4().hex[:10]}@example.com"
        name = name or f"{role.title()} {email[:6]}"
        with app.app_context():
            users.register_user(email=email, password=password, name=name, role=Role(role))
            db.session.remove()
        response = client.post("/api/auth/login", json={"email": email, "password": password})
        assert response.status_code == 200, response.get_json()
        data = response.get_json()["data"]
        return Account(
            id=data["user"]["id"],
            email=email,
            name=name,
            role=role,
            token=data["accessToken"],
            refresh_token=data["refreshToken"],
        )

    return factory


def _account_fixture(name: str, role: str):
    def fixture(make_account):
        return make_account(role)

    fixture.__doc__ = f"A fresh `{role}` Account."
    return pytest.fixture(name=name)(fixture)


user = _account_fixture("user", "user")
other_user = _account_fixture("other_user", "user")
support = _account_fixture("support", "support")
other_support = _account_fixture("other_support", "support")
admin = _account_fixture("admin", "admin")


@pytest.fixture
def make_agent(client: FlaskClient, make_account):
    """make_agent(max_chats=5, account=None) → (Account, agent dict) created by an admin."""
    admin = None

    def factory(
        max_chats: int = 5,
        account: Account | None = None,
        role: str = "support",
        name: str | None = None,
    ):
        nonlocal admin
        admin = admin or make_account("admin")
        account = account or make_account(role)
        response = client.post(
            "/api/support/agents",
            json={
                "userId": account.id,
                "name": name or account.name,
                "maxConcurrentChats": max_chats,
            },
            headers=admin.headers,
        )
        assert response.status_code == 201, response.get_json()
        return account, response.get_json()["data"]

    return factory


@pytest.fixture
def mark_online(app: Flask):
    """mark_online(*user_ids, grace=3600) → those users count as having a staff WebSocket open
    (vouched for by a pretend web process) and their agents' presence is brought up to date,
    as a real socket would do. Automatic assignment (ASSIGN_ONLY_ONLINE) routes to them."""
    from supportapp.realtime.presence import vouch
    from supportapp.services import presence

    def factory(*user_ids: str, grace: float = 3600.0) -> None:
        with app.app_context():
            vouch([str(user_id) for user_id in user_ids], "tests", grace)
            presence.reconcile()
            db.session.remove()

    return factory


@pytest.fixture
def open_session(client: FlaskClient):
    """open_session(account, message="hola") → the created session dict."""

    def factory(account: Account, message: str | None = "Hola, necesito ayuda") -> dict:
        body = {"message": message} if message is not None else {}
        response = client.post("/api/chat/sessions", json=body, headers=account.headers)
        assert response.status_code == 201, response.get_json()
        return response.get_json()["data"]

    return factory


def assert_error(
    response, status: int, message: str | None = None, field: str | None = None
) -> dict:
    """The error envelope, with `errors[field]` for 400s when `field` is given."""
    assert response.status_code == status, (response.status_code, response.get_json())
    body = response.get_json()
    assert body["success"] is False
    if status == 400:
        assert isinstance(body["message"], list)
        if field is not None:
            assert field in body["errors"], body
            if message is not None:
                assert message in body["errors"][field], body
    elif message is not None:
        assert body["message"] == message, body
    return body


def all_at_once(app: Flask, count: int, send) -> list[tuple[int, dict]]:
    """Run `send(client)` in `count` threads released together, each with its own test client
    (own app context, own pooled connection); (status, body) of every response."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    start = threading.Barrier(count)

    def attempt(_index: int) -> tuple[int, dict]:
        own_client = app.test_client()
        start.wait(timeout=30)
        response = send(own_client)
        return response.status_code, response.get_json()

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(attempt, range(count)))

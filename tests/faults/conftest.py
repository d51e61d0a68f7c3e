"""Fault tests: the service on PostgreSQL and Redis servers of their own (tests/faults/servers.py),
which the tests restart, pause and kill under load. One cluster and one Redis serve the whole
package; every test starts from empty tables and an empty Redis."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from testkit.processes import run_flask, stop_all
from tests.faults.servers import PrivatePostgres, query
from tests.realtime.harness import RedisServer, WebServer

pytestmark = pytest.mark.slow

# Generous budgets: these tests write many messages and open sessions on purpose.
FAULT_SETTINGS = {
    "APP_ENV": "testing",
    "JWT_SECRET_KEY": "fault-tests-secret-key-that-is-long-enough-0123456789",
    "LOG_LEVEL": "WARNING",
    "AUTO_ASSIGN_ENABLED": "false",
    "MESSAGE_RATE_LIMIT": "100000/minute",
    "REGISTER_RATE_LIMIT": "100000/minute",
    "LOGIN_RATE_LIMIT": "100000/minute",
    "SESSION_OPEN_RATE_LIMIT": "100000/minute",
}
MEASUREMENTS: list[dict] = []


@pytest.fixture(scope="package")
def fault_logs(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fault-logs")


@pytest.fixture(scope="package")
def private_pg() -> Iterator[PrivatePostgres]:
    server = PrivatePostgres().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="package")
def private_redis(fault_logs) -> Iterator[RedisServer]:
    with RedisServer(fault_logs) as server:
        yield server


@pytest.fixture(scope="package")
def fault_environ(private_pg, private_redis) -> dict[str, str]:
    """The environment of every process of these tests, the private database migrated."""
    env = {**os.environ, **FAULT_SETTINGS}
    env.update(DATABASE_URL=private_pg.url, REDIS_URL=private_redis.url)
    run_flask(env, "db", "upgrade", timeout=120)
    return env


@pytest.fixture
def fresh(private_pg, private_redis, fault_environ) -> None:
    """Empty tables and an empty Redis (restarted if a test left it stopped)."""
    if not private_redis.running:
        private_redis.start()
    conn = private_pg.connect()
    try:
        tables = [
            row[0]
            for row in query(
                conn,
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename <> 'alembic_version'",
            )
        ]
        query(conn, f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
    finally:
        conn.close()
    import redis

    redis.Redis.from_url(private_redis.url).flushall()


@pytest.fixture
def web_servers(fault_environ, fault_logs, fresh):
    """start(name, **settings) → a ready gunicorn web process; all stopped after the test."""
    started: list[WebServer] = []

    def start(name: str, **settings: str) -> WebServer:
        server = WebServer(name, fault_environ, fault_logs, **settings).start()
        started.append(server)
        return server.wait_healthy()

    yield start
    stop_all(started)


@pytest.fixture(scope="package", autouse=True)
def report_measurements() -> Iterator[None]:
    """Print what the tests measured (docs/operations.md's fault table comes from it); with
    FAULTS_REPORT=<path>, also write it there as JSON."""
    yield
    if not MEASUREMENTS:
        return
    for row in MEASUREMENTS:
        print("fault measurement:", json.dumps(row, ensure_ascii=False))
    target = os.environ.get("FAULTS_REPORT")
    if target:
        Path(target).write_text(json.dumps(MEASUREMENTS, indent=2, ensure_ascii=False))


def measured(**row) -> None:
    MEASUREMENTS.append(row)

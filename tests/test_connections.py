"""PostgreSQL session settings of pooled connections (supportapp._configure_connections)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from supportapp.extensions import db
from testkit.processes import free_port


def test_pooled_connections_run_without_jit_even_after_a_rollback(app_ctx):
    assert db.session.scalar(text("SHOW jit")) == "off"
    db.session.rollback()
    db.session.remove()
    db.engine.dispose()  # a brand-new connection: its first transaction is rolled back above
    assert db.session.scalar(text("SHOW jit")) == "off"
    db.session.rollback()
    assert db.session.scalar(text("SHOW jit")) == "off"


def test_an_unreachable_database_answers_503_with_retry_after(test_environ, redis_url):
    """PostgreSQL not there (nothing listens on the port): a 503 envelope, never a 500."""
    from supportapp import create_app
    from supportapp.config import Config

    port = free_port()
    environ = {**test_environ, "DATABASE_URL": f"postgresql://postgres@127.0.0.1:{port}/none"}
    client = create_app(Config(environ)).test_client()
    body = {"email": "ana@example.com", "password": "password123"}
    response = client.post("/api/auth/login", json=body)
    assert response.status_code == 503, response.get_json()
    assert response.get_json() == {
        "success": False,
        "message": "Servicio no disponible temporalmente. Intenta de nuevo en unos segundos",
    }
    assert response.headers["Retry-After"] == "5"


def test_a_failing_redis_costs_one_timeout_then_fails_fast(app_ctx):
    """After a timeout every call through the app's pools fails at once for the cooldown."""
    import socket
    import time

    import redis

    from supportapp.extensions import REDIS_COOLDOWN_SECONDS, guarded_pool, redis_health

    silent = socket.socket()  # accepts connections, never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    try:
        url = f"redis://127.0.0.1:{silent.getsockname()[1]}/0"
        client = redis.Redis(connection_pool=guarded_pool(url))
        started = time.monotonic()
        with pytest.raises(redis.TimeoutError):
            client.get("x")
        assert 0.9 < time.monotonic() - started < 2.0
        assert not redis_health.healthy()
        started = time.monotonic()
        with pytest.raises(redis.ConnectionError):
            client.get("x")
        assert time.monotonic() - started < 0.1
        assert REDIS_COOLDOWN_SECONDS <= 2.0
    finally:
        silent.close()
        redis_health.recovered()


def _terminate_pooled_connections(app_ctx_engine) -> int:
    """pg_terminate_backend every connection the app's pool holds; how many it closed."""
    import psycopg2

    from supportapp.config import sqlalchemy_url

    url = app_ctx_engine.url.render_as_string(hide_password=False)
    url = url.replace("postgresql+psycopg2://", "postgresql://")
    assert sqlalchemy_url(url) != url  # a plain libpq URL
    conn = psycopg2.connect(url)
    conn.autocommit = True
    try:
        with conn.cursor() as cursor:
            cursor.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                "AND backend_type = 'client backend' AND application_name = ''"
            )
            return cursor.fetchone()[0]
    finally:
        conn.close()


def test_a_connection_the_server_closed_is_replaced_at_checkout_without_a_ping(app_ctx):
    """No `SELECT 1` per checkout; a pooled connection the server terminated is noticed on its
    socket and replaced, so the request after a restart does not fail (db_pool.py)."""
    import time

    from sqlalchemy import event

    engine = db.engine
    assert engine.pool._pre_ping is False
    assert engine.pool._recycle > 0
    first = db.session.scalar(text("SELECT pg_backend_pid()"))
    db.session.rollback()
    db.session.remove()

    statements: list[str] = []

    def seen(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        assert db.session.scalar(text("SELECT pg_backend_pid()")) == first  # reused, unpinged
        db.session.rollback()
        db.session.remove()
        assert statements == ["SELECT pg_backend_pid()"]
    finally:
        event.remove(engine, "before_cursor_execute", seen)

    assert _terminate_pooled_connections(engine) >= 1
    time.sleep(0.2)  # the server's farewell reaches the pooled socket
    replaced = db.session.scalar(text("SELECT pg_backend_pid()"))
    assert replaced != first
    db.session.rollback()


def test_dropped_tells_an_idle_connection_from_a_closed_one(app_ctx):
    from supportapp.db_pool import dropped

    raw = db.engine.raw_connection()
    try:
        assert not dropped(raw.dbapi_connection)
        raw.dbapi_connection.close()
        assert dropped(raw.dbapi_connection)
    finally:
        raw.invalidate()

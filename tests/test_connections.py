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

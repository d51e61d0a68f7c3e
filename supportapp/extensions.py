"""Extension objects, created unbound here and bound to an app in create_app()."""

from __future__ import annotations

import threading
import time
from typing import Any

import redis
from flask import Flask
from flask_jwt_extended import JWTManager
from flask_limiter import Limiter
from flask_migrate import Migrate
from flask_sock import Sock
from flask_sqlalchemy import SQLAlchemy
from redis.backoff import NoBackoff
from redis.retry import Retry
from sqlalchemy.orm import DeclarativeBase

from supportapp.api.smorest import Api
from supportapp.replicas import RoutingSession


class Base(DeclarativeBase):
    pass


# Objects keep the values they were committed with: a response built after COMMIT needs no
# reload round trip (values computed by the database are refreshed explicitly where needed).
# RoutingSession: reads inside `replica_reads` go to a replica (supportapp/replicas.py).
db = SQLAlchemy(
    model_class=Base,
    session_options={"expire_on_commit": False, "class_": RoutingSession},
)
migrate = Migrate()
jwt = JWTManager()
api = Api()
sock = Sock()
limiter = Limiter(key_func=lambda: "global", default_limits=[])


# An unresponsive Redis (paused, overloaded, a dead host) must cost a request about one second,
# never minutes: one attempt, 1 s to connect and 1 s per reply. redis-py would otherwise retry a
# timed-out command 10 times.
REDIS_SOCKET_TIMEOUT = 1.0
REDIS_CONNECT_TIMEOUT = 1.0
# After a failure, every call through the app's pools fails at once for this long (then one
# call tries again), so during an outage a request meets at most one timeout: the callers'
# fail-open paths (rate limits, blocklist) and the outbox relay take it from there.
REDIS_COOLDOWN_SECONDS = 2.0


class RedisHealth:
    """Process-wide note of the last Redis failure seen by the app's connections."""

    def __init__(self) -> None:
        self._down_until = 0.0
        self._lock = threading.Lock()

    def healthy(self) -> bool:
        """False for REDIS_COOLDOWN_SECONDS after a failure."""
        return time.monotonic() >= self._down_until

    def failed(self) -> None:
        with self._lock:
            self._down_until = time.monotonic() + REDIS_COOLDOWN_SECONDS

    def recovered(self) -> None:
        with self._lock:
            self._down_until = 0.0


redis_health = RedisHealth()
_FAILURES = (redis.ConnectionError, redis.TimeoutError)


def _reporting(name: str):
    """A method that calls the connection's own `name` and reports a failure of it."""

    def method(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return getattr(super(_Guarded, self), name)(*args, **kwargs)
        except _FAILURES:
            redis_health.failed()
            raise

    method.__name__ = name
    return method


class _Guarded:
    """Mixin: a connection that reports a failed connect, send or read to `redis_health`."""

    connect = _reporting("connect")
    send_packed_command = _reporting("send_packed_command")
    read_response = _reporting("read_response")


class GuardedConnection(_Guarded, redis.Connection):
    pass


class GuardedSSLConnection(_Guarded, redis.SSLConnection):
    pass


class GuardedUnixConnection(_Guarded, redis.UnixDomainSocketConnection):
    pass


_CONNECTION_CLASSES = {
    "redis": GuardedConnection,
    "rediss": GuardedSSLConnection,
    "unix": GuardedUnixConnection,
}


class GuardedConnectionPool(redis.ConnectionPool):
    """Hands out no connection while Redis is cooling down after a failure."""

    def get_connection(self, *args: Any, **kwargs: Any) -> redis.Connection:
        if not redis_health.healthy():
            raise redis.ConnectionError("Redis failed moments ago; not tried again yet")
        return super().get_connection(*args, **kwargs)


def guarded_pool(url: str, **options: Any) -> GuardedConnectionPool:
    """A pool for `url` with the short timeouts, no retries and the cooldown."""
    return GuardedConnectionPool.from_url(
        url,
        connection_class=_CONNECTION_CLASSES[url.split(":", 1)[0]],
        socket_timeout=REDIS_SOCKET_TIMEOUT,
        socket_connect_timeout=REDIS_CONNECT_TIMEOUT,
        health_check_interval=30,
        **options,
    )


def rate_limit_storage_options(url: str) -> dict[str, Any]:
    """flask-limiter's storage on a guarded pool of its own (it reads bytes, not str)."""
    return {"connection_pool": guarded_pool(url), "retry": Retry(NoBackoff(), 0)}


class RedisClient:
    """A lazily connected redis.Redis bound to the app's REDIS_URL, on a guarded pool."""

    def __init__(self) -> None:
        self._client: redis.Redis | None = None

    def init_app(self, app: Flask) -> None:
        self._client = redis.Redis(
            connection_pool=guarded_pool(app.config["REDIS_URL"], decode_responses=True),
            retry=Retry(NoBackoff(), 0),
        )
        app.extensions["redis"] = self

    @property
    def client(self) -> redis.Redis:
        if self._client is None:
            raise RuntimeError("redis is not bound to an app")
        return self._client

    @staticmethod
    def healthy() -> bool:
        return redis_health.healthy()

    @staticmethod
    def failed() -> None:
        redis_health.failed()

    @staticmethod
    def recovered() -> None:
        redis_health.recovered()


redis_client = RedisClient()

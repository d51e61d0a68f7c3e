"""Extension objects, created unbound here and bound to an app in create_app()."""

from __future__ import annotations

import redis
from flask import Flask
from flask_jwt_extended import JWTManager
from flask_limiter import Limiter
from flask_migrate import Migrate
from flask_sock import Sock
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase

from supportapp.api.smorest import Api


class Base(DeclarativeBase):
    pass


# Objects keep the values they were committed with: a response built after COMMIT needs no
# reload round trip (values computed by the database are refreshed explicitly where needed).
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
migrate = Migrate()
jwt = JWTManager()
api = Api()
sock = Sock()
limiter = Limiter(key_func=lambda: "global", default_limits=[], headers_enabled=True)


class RedisClient:
    """A lazily connected redis.Redis bound to the app's REDIS_URL."""

    def __init__(self) -> None:
        self._client: redis.Redis | None = None

    def init_app(self, app: Flask) -> None:
        self._client = redis.Redis.from_url(
            app.config["REDIS_URL"],
            decode_responses=True,
            socket_timeout=5,
            socket_connect_timeout=2,
            health_check_interval=30,
        )
        app.extensions["redis"] = self

    @property
    def client(self) -> redis.Redis:
        if self._client is None:
            raise RuntimeError("redis is not bound to an app")
        return self._client


redis_client = RedisClient()

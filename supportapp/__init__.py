"""supportapp: the backend of a customer-support live chat."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Flask, g, request
from flask_cors import CORS
from sqlalchemy import event
from werkzeug.middleware.proxy_fix import ProxyFix

from supportapp import auth, db_pool, telemetry
from supportapp.api import validation_messages
from supportapp.api.blueprint import register_security
from supportapp.config import Config
from supportapp.errors import register_error_handlers
from supportapp.extensions import api, db, jwt, limiter, migrate, redis_client
from supportapp.json_provider import OrjsonProvider
from supportapp.logging import configure_logging
from supportapp.realtime import ws as realtime_ws


def create_app(config: Config | None = None, **overrides: Any) -> Flask:
    """Build the app. Nothing connects to PostgreSQL or Redis until a request needs it."""
    # Before any schema module is imported (_register_blueprints): marshmallow copies the
    # generic messages into each field and validator when it is declared.
    validation_messages.apply()
    config = config or Config(**overrides)
    app = Flask(__name__)
    app.config.from_mapping(config.to_flask())
    app.json = OrjsonProvider(app)
    configure_logging(app.config["LOG_LEVEL"])
    _trust_proxies(app, app.config["TRUSTED_PROXY_HOPS"])

    db.init_app(app)
    _configure_connections(app)
    migrate.init_app(app, db, directory=str(_migrations_dir()))
    jwt.init_app(app)
    auth.init_app(app, jwt)
    redis_client.init_app(app)
    limiter.init_app(app)
    realtime_ws.init_app(app)
    api.init_app(app)
    register_security(api)
    CORS(
        app,
        origins=app.config["CORS_ORIGINS"],
        expose_headers=["X-Request-ID", "X-Total-Count", "Retry-After"],
    )
    register_error_handlers(app)
    _register_request_id(app)
    telemetry.init_app(app)
    _register_blueprints(app)

    from supportapp import cli, jobs

    jobs.init_app(app)
    cli.init_app(app)
    return app


def _trust_proxies(app: Flask, hops: int) -> None:
    """Behind `hops` proxies, the client address and scheme are the ones the nearest `hops`
    entries of X-Forwarded-For / -Proto name; everything (rate limits, audit rows, logs) reads
    them from request.remote_addr / request.scheme afterwards. With 0, the headers are ignored:
    trusting them without a proxy that overwrites them would let a client pick its address."""
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)


def _configure_connections(app: Flask) -> None:
    """PostgreSQL session settings, applied once when a pool (the primary's or a replica's)
    opens a connection; a connection the server closed is not handed out (db_pool.py)."""
    with app.app_context():
        for engine in db.engines.values():
            event.listen(engine, "connect", _disable_jit)
            db_pool.install(engine)


def _disable_jit(dbapi_connection: Any, _record: Any) -> None:
    # JIT compilation adds 20–60 ms to each statement whose estimate crosses jit_above_cost —
    # the bounded metrics reads (bench/NOTES.md §7) — and never pays back on statements this
    # short. Autocommit, so the setting outlives the pool's rollback of the first transaction.
    autocommit = dbapi_connection.autocommit
    dbapi_connection.autocommit = True
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SET jit = off")
    dbapi_connection.autocommit = autocommit


def _migrations_dir():
    from supportapp.config import ROOT_DIR

    return ROOT_DIR / "migrations"


def _register_request_id(app: Flask) -> None:
    @app.before_request
    def assign_request_id() -> None:
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming[:64] if incoming.isprintable() and incoming else uuid.uuid4().hex

    @app.after_request
    def echo_request_id(response):
        request_id = g.get("request_id")
        if request_id:
            response.headers["X-Request-ID"] = request_id
        return response


def _register_blueprints(app: Flask) -> None:
    from supportapp.api.health.routes import bp as health_bp

    app.register_blueprint(health_bp)
    from supportapp.web import bp as web_bp

    app.register_blueprint(web_bp)
    from supportapp.api import feature_blueprints

    for blueprint in feature_blueprints():
        api.register_blueprint(blueprint)

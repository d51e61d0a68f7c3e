"""Liveness and readiness probes for load balancers and orchestrators."""

from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import text

from supportapp.errors import envelope_error
from supportapp.extensions import db, redis_client

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def get_health():
    return jsonify({"success": True, "data": {"status": "ok"}, "message": "OK"})


@bp.get("/readyz")
def get_readiness():
    checks = {
        "postgres": _check(lambda: db.session.execute(text("SELECT 1"))),
        "redis": _check(redis_client.client.ping),
    }
    if all(checks.values()):
        return jsonify({"success": True, "data": checks, "message": "OK"})
    failing = ", ".join(name for name, ok in checks.items() if not ok)
    return envelope_error(503, f"Servicio no disponible: {failing}")


def _check(probe) -> bool:
    try:
        probe()
        return True
    except Exception:  # any failure means "not ready"; the probe must answer, not raise
        db.session.rollback()
        return False

"""PostgreSQL session settings of pooled connections (supportapp._configure_connections)."""

from __future__ import annotations

from sqlalchemy import text

from supportapp.extensions import db


def test_pooled_connections_run_without_jit_even_after_a_rollback(app_ctx):
    assert db.session.scalar(text("SHOW jit")) == "off"
    db.session.rollback()
    db.session.remove()
    db.engine.dispose()  # a brand-new connection: its first transaction is rolled back above
    assert db.session.scalar(text("SHOW jit")) == "off"
    db.session.rollback()
    assert db.session.scalar(text("SHOW jit")) == "off"

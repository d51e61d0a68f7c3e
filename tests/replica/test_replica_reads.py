"""Dashboards, stats, metrics, search, history and audit reads go to a replica that is up and
within DATABASE_REPLICA_MAX_LAG_SECONDS; what a client must see right after its own write is
read on the primary; a stopped or lagging replica sends the reads to the primary, unnoticed by
clients. Proven with data the standby has not replayed yet (replay paused)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from supportapp.extensions import db
from supportapp.replicas import reading_from_replica
from testkit.processes import wait_for

pytestmark = pytest.mark.slow


def _in_recovery() -> bool:
    return bool(db.session.scalar(text("SELECT pg_is_in_recovery()")))


def test_reads_in_a_replica_block_reach_the_standby_and_writes_the_primary(make_web):
    web = make_web()
    with web.app.app_context():
        assert not _in_recovery()
        db.session.rollback()
        with reading_from_replica() as on_replica:
            assert on_replica
            assert _in_recovery()
            # A write in the block goes to the primary, and so does the rest of its transaction.
            db.session.execute(text("CREATE TEMP TABLE routed (x int)"))
            assert not _in_recovery()
            db.session.rollback()
            assert _in_recovery()  # a new transaction reads on the replica again
        db.session.rollback()
        assert not _in_recovery()
        # A transaction that wrote before the block reads its own write in it, on the primary.
        db.session.execute(text("CREATE TEMP TABLE written_before (x int)"))
        with reading_from_replica():
            assert not _in_recovery()
        db.session.rollback()
        db.session.remove()


def test_stats_search_history_and_audit_are_served_by_the_replica(replication, replica, make_web):
    web = make_web(max_lag="3600")
    admin, user = web.account("admin"), web.account("user")
    web.open_session(user, "consulta sobre facturas")
    replication.wait_replayed()
    assert web.found(admin, "facturas") == 1
    assert web.total_sessions(admin) == 1

    replication.pause_replay(replica)
    try:
        session = web.open_session(user, "unicornio perdido")  # committed on the primary only
        served_before = web.served_by()
        # Not replayed yet: the replica-routed reads do not see it …
        assert web.found(admin, "unicornio") == 0
        assert web.total_sessions(admin) == 1
        history = web.call("GET", f"/api/chat/users/{user.id}/sessions", admin)
        assert history["pagination"]["total"] == 1
        assert web.call("GET", "/api/support/agents/metrics", admin) == []
        web.call("GET", "/api/support/logs", admin)
        assert web.served_by()["replica"] >= served_before["replica"] + 5
        # … while what the customer just wrote is read back from the primary.
        own = web.call("GET", "/api/chat/sessions", user)
        assert {s["id"] for s in own["sessions"]} >= {session["id"]}
        texts = [
            m["message"]
            for m in web.call("GET", f"/api/chat/session/{session['id']}/messages", user)
        ]
        assert texts == ["unicornio perdido"]
        assert (
            web.call("GET", f"/api/chat/session/{session['id']}/details", admin)["session"]["id"]
            == session["id"]
        )
    finally:
        replication.resume_replay(replica)
    replication.wait_replayed()
    assert web.found(admin, "unicornio") == 1
    assert web.total_sessions(admin) == 2


def test_a_lagging_replica_is_skipped(replication, replica, make_web):
    web = make_web(max_lag="1")
    admin, user = web.account("admin"), web.account("user")
    replication.wait_replayed()
    replication.pause_replay(replica)
    try:
        web.open_session(user, "dragon dorado")
        # Once the standby is more than 1 s behind (checked at most once a second), the same
        # reads go to the primary and find the new session.
        wait_for(lambda: web.found(admin, "dragon") == 1, timeout=10, message="read on primary")
        assert web.total_sessions(admin) == 1
        assert web.served_by()["primary"] >= 2
    finally:
        replication.resume_replay(replica)
    replication.wait_replayed()
    before = web.served_by()["replica"]
    wait_for(
        lambda: web.found(admin, "dragon") == 1 and web.served_by()["replica"] > before,
        timeout=10,
        message="the caught-up replica back in use",
    )


def test_a_stopped_replica_sends_reads_to_the_primary_without_errors(
    replication, replica, make_web
):
    web = make_web(max_lag="3600")
    admin, user = web.account("admin"), web.account("user")
    web.open_session(user, "kraken azul")
    replication.wait_replayed()
    assert web.found(admin, "kraken") == 1  # on the replica: its pool now holds a connection
    served = web.served_by()
    assert served["replica"] >= 1

    replica.stop("fast")
    web.open_session(user, "kraken verde")
    for _ in range(3):
        assert web.found(admin, "kraken") == 2  # 200, from the primary
    assert web.total_sessions(admin) == 2
    after = web.served_by()
    assert after["primary"] >= served["primary"] + 4
    assert after["replica"] <= served["replica"] + 1  # the scrape that read `served`, no more


def test_gunicorn_workers_route_reads_to_the_replica(replication, replica, make_web, test_environ):
    """The same under gunicorn's gevent workers (each request a greenlet with its own route)."""
    from testkit.processes import gunicorn_server
    from tests.replica.conftest import GENEROUS_LIMITS
    from tests.test_telemetry import sample

    web = make_web()  # empty tables; accounts made in-process are valid for the server too
    admin, user = web.account("admin"), web.account("user")
    env = {
        **test_environ,
        **GENEROUS_LIMITS,
        "DATABASE_URL": replication.primary.url,
        "DATABASE_REPLICA_URL": replica.url,
        "DATABASE_REPLICA_MAX_LAG_SECONDS": "3600",
    }
    with gunicorn_server(env, workers=2) as server:
        replication.wait_replayed()
        replication.pause_replay(replica)
        try:
            reply = server.request(
                "POST", "/api/chat/sessions", {"message": "quimera roja"}, token=user.token
            )
            assert reply.status == 201, reply.body
            for _ in range(4):
                found = server.request("GET", "/api/chat/search?q=quimera", token=admin.token)
                assert found.status == 200 and found.data["pagination"]["total"] == 0
            own = server.request("GET", "/api/chat/sessions", token=user.token)
            assert own.data["pagination"]["total"] == 1
        finally:
            replication.resume_replay(replica)
        scraped = server.request("GET", "/metrics").body
        assert sample(scraped, "supportapp_replica_reads_total", served_by="replica") >= 4
        assert sample(scraped, "supportapp_replica_lag_seconds", replica="replica-1") >= 0

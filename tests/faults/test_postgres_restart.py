"""PostgreSQL restarted under write load: clients get 201 or a 503 envelope with Retry-After,
never a 500; the connection pool recovers by itself; no message or event is lost or doubled."""

from __future__ import annotations

import time
from collections import Counter

import pytest

from testkit.processes import wait_for
from tests.faults.conftest import measured
from tests.faults.servers import (
    Load,
    first_success_after,
    open_writers,
    query,
    stream_messages,
)

pytestmark = pytest.mark.slow

MSG_UNAVAILABLE = "Servicio no disponible temporalmente. Intenta de nuevo en unos segundos"


def test_postgres_restart_under_load(private_pg, private_redis, web_servers):
    web = web_servers("web-pg")
    writers = open_writers(web.url, 4)
    with Load([web.url], writers) as load:
        load.wait_for_more(20)
        restarted_at = time.monotonic()
        private_pg.restart()
        back_at = time.monotonic()
        load.wait_for_more(40)
        wait_for(
            lambda: first_success_after(load.answers(), back_at) is not None,
            timeout=20,
            message="no write succeeded after PostgreSQL came back",
        )
    answers = load.answers()
    statuses = Counter(a.status for a in answers)
    assert set(statuses) <= {201, 503}, statuses
    for answer in answers:
        if answer.status == 503:
            assert answer.body == {"success": False, "message": MSG_UNAVAILABLE}
            assert answer.headers.get("Retry-After") == "5"

    # Every confirmed message is stored once; every stored message's event is published once.
    conn = private_pg.connect()
    try:
        stored = Counter(
            str(row[0])
            for row in query(
                conn,
                "SELECT id FROM chat_messages WHERE session_id = ANY(%s::uuid[])",
                ([w.session_id for w in writers],),
            )
        )
    finally:
        conn.close()
    confirmed = [m for w in writers for m in w.written]
    assert all(stored[m] == 1 for m in confirmed)

    def published() -> Counter | None:
        events = Counter(m for _, _, m in stream_messages(private_redis.url))
        return events if set(events) == set(stored) else None

    events = wait_for(published, timeout=15, message="an event per stored message", interval=0.2)
    assert set(events.values()) == {1}, "an event was published twice"
    measured(
        fault="PostgreSQL restart (fast shutdown) under load",
        requests=len(answers),
        statuses=dict(statuses),
        restart_seconds=round(back_at - restarted_at, 2),
        first_201_after_restart_seconds=round(first_success_after(answers, back_at), 2),
    )

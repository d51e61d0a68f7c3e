"""A Celery worker SIGKILLed in the middle of an assignment batch: the batch rolls back as a
whole, a restarted worker and the next sweep assign every session exactly once, and each
assignment's events reach the stream once."""

from __future__ import annotations

import json
import time
from collections import Counter

import pytest
import redis

from testkit.processes import celery_control, celery_worker, wait_for
from tests.faults.conftest import measured
from tests.faults.servers import EVENT_STREAM, query
from tests.processes.test_worker import (
    AUTO_ASSIGN,
    CAPACITIES,
    QUEUED,
    active_count,
    assert_assignment_invariants,
    drive_until_assigned,
    kill_worker_mid_batch,
    seed_queue,
    wait_until_idle,
)

pytestmark = pytest.mark.slow


def test_worker_killed_mid_batch(private_pg, private_redis, fault_environ, fresh):
    # The seeded agents' presence is vouched for in the suite's Redis, not this test's private
    # one: routing by presence is off here (what is under test is the kill, not presence).
    env = {**fault_environ, "AUTO_ASSIGN_ENABLED": "true", "ASSIGN_ONLY_ONLINE": "false"}
    pg = private_pg.connect()
    blocker = private_pg.connect()
    blocker.autocommit = False
    try:
        seed_queue(pg)
        backend = kill_worker_mid_batch(env, pg, blocker)
        killed_at = time.monotonic()
        blocker.rollback()
        wait_for(
            lambda: not query(pg, "SELECT 1 FROM pg_stat_activity WHERE pid = %s", (backend,)),
            timeout=30,
            message="the killed worker's backend to end",
        )
        assert active_count(pg) == 0, "the killed batch left assignments behind"
        assert query(pg, "SELECT count(*) FROM event_outbox")[0][0] == 0

        with celery_worker(env, name="restarted") as worker, celery_control(env) as control:
            control.send_task(AUTO_ASSIGN, queue="assignment")  # the next periodic sweep
            drive_until_assigned(pg, control, [worker.node], sum(CAPACITIES))
            recovered = time.monotonic() - killed_at
            wait_until_idle(control, [worker.node])
        assert_assignment_invariants(pg, queued=QUEUED, capacity=sum(CAPACITIES))

        active = {
            str(r[0]) for r in query(pg, "SELECT id FROM chat_sessions WHERE status='active'")
        }
        stream = redis.Redis.from_url(private_redis.url, decode_responses=True)

        def assigned_events() -> Counter | None:
            counts = Counter(
                json.loads(fields["data"])["session"]["id"]
                for _, fields in stream.xrange(EVENT_STREAM)
                if fields["event"] == "chat_assigned"
            )
            return counts if set(counts) == active else None

        counts = wait_for(assigned_events, timeout=15, message="one chat_assigned per session")
        assert set(counts.values()) == {1}, "an assignment was published twice"
        assert query(pg, "SELECT count(*) FROM event_outbox")[0][0] == 0
    finally:
        blocker.close()
        pg.close()
    measured(
        fault="Celery worker SIGKILLed mid-batch",
        sessions_assigned=len(active),
        all_assigned_after_kill_seconds=round(recovered, 2),
    )

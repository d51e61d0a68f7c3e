"""A web process dies between COMMIT and publishing (test hook FAULT_EXIT_AFTER_COMMIT): the
client gets no answer, the change is stored, and another process's outbox relay publishes its
event, once."""

from __future__ import annotations

import time
from collections import Counter

import pytest

from testkit.processes import wait_for
from tests.faults.conftest import measured
from tests.faults.servers import open_writers, query, request, stream_messages

pytestmark = pytest.mark.slow


def test_web_killed_between_commit_and_publish(private_pg, private_redis, web_servers):
    healthy = web_servers("web-healthy")
    doomed = web_servers("web-doomed", FAULT_EXIT_AFTER_COMMIT="true")
    (writer,) = open_writers(healthy.url, 1)
    before = len(stream_messages(private_redis.url))

    path = f"/api/chat/session/{writer.session_id}/message"
    killed_at = time.monotonic()
    answer = request(doomed.url, "POST", path, {"message": "justo antes de morir"}, writer.token)
    assert answer.status == 0, answer  # the process exited before answering

    conn = private_pg.connect()
    try:
        rows = query(
            conn,
            "SELECT id FROM chat_messages WHERE session_id = %s AND message = %s",
            (writer.session_id, "justo antes de morir"),
        )
    finally:
        conn.close()
    assert len(rows) == 1, "the committed message is stored once"
    message_id = str(rows[0][0])

    def relayed() -> bool:
        return any(m == message_id for _, _, m in stream_messages(private_redis.url))

    wait_for(relayed, timeout=15, message="the relay to publish the orphaned event", interval=0.1)
    recovery = time.monotonic() - killed_at
    # A later write on the same session comes after it, and nothing is doubled.
    later = request(healthy.url, "POST", path, {"message": "después"}, writer.token)
    assert later.status == 201
    later_id = later.body["data"]["id"]
    wait_for(
        lambda: any(m == later_id for _, _, m in stream_messages(private_redis.url)),
        timeout=15,
        message="the later event",
    )
    events = stream_messages(private_redis.url)
    counts = Counter(m for _, _, m in events)
    assert counts[message_id] == 1 and counts[later_id] == 1
    order = [m for _, s, m in events if s == writer.session_id]
    assert order.index(message_id) < order.index(later_id)
    assert len(events) == before + 2
    measured(
        fault="web process killed between COMMIT and publish",
        event_published_after_seconds=round(recovery, 2),
    )

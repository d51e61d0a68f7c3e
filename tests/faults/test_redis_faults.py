"""Redis paused (CLIENT PAUSE WRITE and ALL) and killed under write load: writes keep
succeeding (PostgreSQL is the truth) and each costs at most about a second; once Redis answers
again the outbox relay publishes what was left behind, once each and in commit order per
session."""

from __future__ import annotations

import signal
import time
from collections import Counter

import pytest
import redis

from testkit.processes import wait_for
from tests.faults.conftest import measured
from tests.faults.servers import Load, open_writers, stream_messages

pytestmark = pytest.mark.slow

PAUSE_MS = 3000
# One Redis call per outage probe meets the 1 s socket timeout; for REDIS_COOLDOWN_SECONDS
# after it every Redis call fails at once (extensions.py), so no request waits much longer
# (the margin is for a loaded test machine).
SLOWEST_REQUEST = 2.5


def _published_in_order(redis_url: str, writers) -> dict[str, list[str]] | None:
    """Per session, the message ids in stream order — once every confirmed message is there."""
    by_session: dict[str, list[str]] = {}
    for _, session_id, message_id in stream_messages(redis_url):
        by_session.setdefault(session_id, []).append(message_id)
    for writer in writers:
        if not set(writer.written) <= set(by_session.get(writer.session_id, [])):
            return None
    return by_session


def _check_once_and_in_order(by_session, writers, *, since: dict[str, int] | None = None):
    for writer in writers:
        published = by_session[writer.session_id]
        assert set(Counter(published).values()) == {1}, "an event was published twice"
        written = writer.written[(since or {}).get(writer.session_id, 0) :]
        mine = [m for m in published if m in set(written)]
        assert mine == written, "events of one session out of commit order"


@pytest.mark.parametrize("mode", ["WRITE", "ALL"])
def test_redis_paused_under_load(private_redis, web_servers, mode):
    web = web_servers(f"web-pause-{mode.lower()}")
    writers = open_writers(web.url, 4)
    control = redis.Redis.from_url(private_redis.url)
    with Load([web.url], writers) as load:
        load.wait_for_more(20)
        paused_at = time.monotonic()
        control.execute_command("CLIENT", "PAUSE", PAUSE_MS, mode)
        resumed_at = paused_at + PAUSE_MS / 1000
        wait_for(lambda: time.monotonic() > resumed_at + 1, timeout=10, message="the pause to end")
        load.wait_for_more(20)
    answers = load.answers()
    during = [a for a in answers if paused_at <= a.started < resumed_at]
    assert during, "no request was made during the pause"
    assert Counter(a.status for a in answers) == {201: len(answers)}
    slowest = max(a.seconds for a in answers)
    assert slowest < SLOWEST_REQUEST, f"a request took {slowest:.2f}s"

    by_session = wait_for(
        lambda: _published_in_order(private_redis.url, writers),
        timeout=15,
        message="every event",
        interval=0.1,
    )
    caught_up = time.monotonic() - resumed_at
    _check_once_and_in_order(by_session, writers)
    measured(
        fault=f"Redis CLIENT PAUSE {PAUSE_MS} ms {mode} under load",
        requests=len(answers),
        requests_during_pause=len(during),
        slowest_request_seconds=round(slowest, 2),
        median_request_during_pause_seconds=round(
            sorted(a.seconds for a in during)[len(during) // 2], 3
        ),
        events_caught_up_after_resume_seconds=round(caught_up, 2),
    )


def test_redis_killed_under_load(private_redis, web_servers):
    web = web_servers("web-redis-kill")
    writers = open_writers(web.url, 4)
    with Load([web.url], writers) as load:
        load.wait_for_more(20)
        # What is confirmed before the kill may be lost with Redis's memory (no persistence);
        # everything written from the kill on must reach the new Redis.
        since = {w.session_id: len(w.written) + 1 for w in writers}
        killed_at = time.monotonic()
        private_redis.stop(signal.SIGKILL)
        load.wait_for_more(20)
        down_for = time.monotonic() - killed_at
        private_redis.start()  # same port, empty
        back_at = time.monotonic()
        load.wait_for_more(20)
    answers = load.answers()
    assert Counter(a.status for a in answers) == {201: len(answers)}
    slowest = max(a.seconds for a in answers)
    assert slowest < SLOWEST_REQUEST, f"a request took {slowest:.2f}s"

    def published():
        by_session: dict[str, list[str]] = {}
        for _, session_id, message_id in stream_messages(private_redis.url):
            by_session.setdefault(session_id, []).append(message_id)
        for writer in writers:
            wanted = set(writer.written[since[writer.session_id] :])
            if not wanted <= set(by_session.get(writer.session_id, [])):
                return None
        return by_session

    by_session = wait_for(
        published, timeout=20, message="every event written since the kill", interval=0.1
    )
    caught_up = time.monotonic() - back_at
    _check_once_and_in_order(by_session, writers, since=since)
    measured(
        fault="Redis killed (SIGKILL) under load, restarted empty",
        requests=len(answers),
        redis_down_seconds=round(down_for, 2),
        slowest_request_seconds=round(slowest, 2),
        events_caught_up_after_restart_seconds=round(caught_up, 2),
    )

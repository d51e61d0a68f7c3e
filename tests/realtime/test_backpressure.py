"""A client that falls too far behind is closed with 4409 and catches up by resuming."""

from __future__ import annotations

import pytest

from supportapp.realtime import bus
from supportapp.realtime.hub import CLIENT_BUFFER
from tests.realtime.harness import connected

pytestmark = pytest.mark.slow


def test_overflowing_socket_is_closed_with_4409_and_resumes(app, web, make_account):
    staff = make_account("support")
    # A socket opened without lastEventId holds live events for its resume window: a burst
    # larger than its buffer arriving meanwhile overflows it.
    sock = connected(web, staff.token)
    with app.app_context():
        ids = bus.publish(
            [bus.Event("chat_priority_changed", {"n": n}) for n in range(CLIENT_BUFFER + 100)]
        )
    assert sock.wait_closed(timeout=10) == 4409

    again = connected(web, staff.token, last_event_id=ids[0])
    try:
        again.wait_for(lambda frame: frame.get("id") == ids[-1], timeout=20)
        assert [f["id"] for f in again.events] == ids[1:]
    finally:
        again.close()

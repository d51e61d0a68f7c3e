"""Presence across two real web processes: a staff socket on either makes the agent online,
closing one while the other stays keeps them online, and a killed process's sockets run out
after PRESENCE_GRACE_SECONDS like closed ones. The periodic sweep (beat's presence task) is
played by the test calling the same service."""

from __future__ import annotations

import signal
import time

import pytest

from supportapp.extensions import db
from supportapp.services import presence
from testkit.processes import serving, wait_for
from tests.realtime.harness import Api, WebServer, connected

GRACE = 2


@pytest.fixture
def pair(server_environ, log_dir):
    with serving(
        WebServer("presence-1", server_environ, log_dir, PRESENCE_GRACE_SECONDS=str(GRACE)),
        WebServer("presence-2", server_environ, log_dir, PRESENCE_GRACE_SECONDS=str(GRACE)),
    ) as servers:
        yield servers


def sweep(app) -> int:
    with app.app_context():
        changed = presence.reconcile()
        db.session.remove()
    return changed


@pytest.mark.slow
def test_presence_across_two_web_processes_and_after_one_is_killed(
    app, pair, sockets, make_account, make_agent
):
    one, two = pair
    admin = make_account("admin")
    agent_account, agent = make_agent()
    api_one, api_two = Api(one), Api(two)

    def shown_on(api: Api) -> str:
        return api.call("GET", "/api/support/agents/me", agent_account.token)["presence"]

    watcher = connected(one, admin.token)
    sockets.append(watcher)

    # A staff socket on process 1: online at once, announced, seen by both processes.
    on_one = connected(one, agent_account.token)
    sockets.append(on_one)
    event = watcher.wait_event("agent_status_changed", agent__id=agent["id"])
    assert event["data"]["agent"]["presence"] == "online"
    assert shown_on(api_one) == shown_on(api_two) == "online"

    # A second socket on process 2, then the first one closes: still online after the grace.
    on_two = connected(two, agent_account.token)
    sockets.append(on_two)
    on_one.close()
    time.sleep(GRACE + 1)
    assert sweep(app) == 0
    assert shown_on(api_one) == "online"

    # Process 2 dies without closing anything: its vouch runs out after the grace period.
    killed_at = time.monotonic()
    two.stop(signal.SIGKILL)
    assert sweep(app) == 0  # not before the grace period
    wait_for(lambda: sweep(app), timeout=GRACE + 3, message="the agent to go offline")
    assert time.monotonic() - killed_at >= GRACE * 2 / 3  # heartbeats come every GRACE / 3
    event = watcher.wait_event(
        "agent_status_changed", agent__id=agent["id"], agent__presence="offline"
    )
    assert event["data"]["agent"]["presenceChangedAt"] is not None
    assert shown_on(api_one) == "offline"

    # Back on process 1: online again.
    sockets.append(connected(one, agent_account.token))
    watcher.wait_event("agent_status_changed", agent__id=agent["id"], agent__presence="online")
    listed = api_one.call("GET", "/api/support/agents?presence=online", admin.token)
    assert [a["id"] for a in listed] == [agent["id"]]


@pytest.mark.slow
def test_a_user_socket_does_not_make_anyone_online(app, web, sockets, make_account, make_agent):
    user = make_account("user")
    agent_account, _agent = make_agent()
    sockets.append(connected(web, user.token))
    assert sweep(app) == 0
    shown = Api(web).call("GET", "/api/support/agents/me", agent_account.token)
    assert shown["presence"] == "offline"

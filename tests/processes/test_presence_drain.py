"""Routing follows presence, with the Procfile's web and worker processes: the queue drains to
an agent within 2 seconds of coming online, returning from away, or freeing capacity — no
waiting for the periodic sweep (beat is not running here)."""

from __future__ import annotations

import json
import time

import psycopg2
import pytest
import websocket

from testkit.processes import (
    celery_control,
    celery_worker,
    gunicorn_server,
    wait_for,
    workers_idle,
)
from tests.realtime.harness import Api

DRAIN_WITHIN = 2.0
AUTO_ASSIGN = "workers.assignment_tasks.auto_assign"
ME = "/api/support/agents/me"


@pytest.fixture
def env(test_environ) -> dict[str, str]:
    return {
        **test_environ,
        "AUTO_ASSIGN_ENABLED": "true",
        "AUTO_ASSIGN_INTERVAL_SECONDS": "3600",
        "PRESENCE_GRACE_SECONDS": "5",
    }


def _status(database_url: str, session_ids: list[str]) -> dict[str, tuple[str, str | None]]:
    with psycopg2.connect(database_url) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT id::text, status::text, support_agent_id::text FROM chat_sessions"
            " WHERE id = ANY(%s::uuid[])",
            (session_ids,),
        )
        return {row[0]: (row[1], row[2]) for row in cur.fetchall()}


@pytest.mark.slow
def test_the_queue_drains_to_an_agent_within_2_seconds(
    env, app, database_url, client, make_account, make_agent, open_session
):
    account, agent = make_agent(max_chats=2)
    user = make_account("user")
    s1, s2, s3, s4 = (open_session(user)["id"] for _ in range(4))
    ids = [s1, s2, s3, s4]

    def assigned_within(expected: set[str], started: float, what: str) -> float:
        def done() -> bool:
            state = _status(database_url, ids)
            return all(state[sid] == ("active", agent["id"]) for sid in expected)

        wait_for(done, timeout=DRAIN_WITHIN * 5, interval=0.05, message=what)
        elapsed = time.monotonic() - started
        assert elapsed < DRAIN_WITHIN, f"{what} took {elapsed:.2f}s"
        return elapsed

    with (
        celery_worker(env, name="drain") as worker,
        celery_control(env) as control,
        gunicorn_server(env) as web,
    ):
        # Warm the worker up (its pool children connect on their first task); nobody is
        # online, so this assigns nothing.
        control.send_task(AUTO_ASSIGN, queue="assignment")
        wait_for(lambda: workers_idle(control, [worker.node]), timeout=20, interval=0.2)
        assert {state for state, _agent in _status(database_url, ids).values()} == {"pending"}

        api = Api(web)
        # Coming online: the agent's first staff socket.
        sock = websocket.create_connection(
            f"ws://127.0.0.1:{web.port}/ws?token={account.token}", timeout=10
        )
        try:
            started = time.monotonic()
            assert json.loads(sock.recv())["event"] == "connected"
            assigned_within({s1, s2}, started, "coming online")
            assert _status(database_url, ids)[s3] == ("pending", None)

            # Away: a freed slot stays free.
            away = api.call("PATCH", ME, account.token, {"presence": "away"})
            assert away["presence"] == "away", away
            api.close(user.token, s1)
            time.sleep(1.0)
            assert _status(database_url, ids)[s3] == ("pending", None)

            # Returning from away.
            started = time.monotonic()
            api.call("PATCH", ME, account.token, {"presence": "online"})
            assigned_within({s3}, started, "returning from away")

            # Freeing capacity.
            started = time.monotonic()
            api.close(user.token, s2)
            assigned_within({s4}, started, "freeing capacity")
        finally:
            sock.close()

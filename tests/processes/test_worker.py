"""Automatic assignment run by real Celery worker processes (the Procfile's `worker` line) on
the real Redis broker and PostgreSQL, and the inactivity rules with controlled clocks."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg2
import pytest
import redis
from sqlalchemy import select, update

from supportapp.extensions import db
from supportapp.models import AuditLog, ChatSession, SupportAgent
from supportapp.realtime.presence import vouch
from supportapp.services import lifecycle
from testkit.processes import (
    celery_control,
    celery_worker,
    gunicorn_server,
    start_celery_worker,
    wait_for,
    workers_idle,
)
from tests.helpers import assign, close, reply

AUTO_ASSIGN = "workers.assignment_tasks.auto_assign"
CAPACITIES = list(range(1, 21))  # 20 agents, 210 chats in all
QUEUED = 500


@pytest.fixture
def auto_env(test_environ) -> dict[str, str]:
    """The test environment with automatic assignment switched on (the default suite keeps
    it off so that in-process tests control assignment themselves)."""
    return {**test_environ, "AUTO_ASSIGN_ENABLED": "true"}


@pytest.fixture
def pg(app, database_url) -> Iterator[psycopg2.extensions.connection]:
    """A plain autocommit connection to the test database, independent of the app's pool."""
    conn = psycopg2.connect(database_url)
    conn.autocommit = True
    try:
        yield conn
    finally:
        conn.close()


def _rows(conn, sql: str, params=None) -> list[tuple]:
    with conn.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall() if cur.description else []


def _scalar(conn, sql: str, params=None):
    return _rows(conn, sql, params)[0][0]


def seed_queue(conn, *, queued: int = QUEUED, capacities: list[int] = CAPACITIES) -> None:
    """`queued` pending sessions of mixed priority (one statement each for users, agents and
    sessions, all in one transaction) and one active agent per entry of `capacities`."""
    _rows(
        conn,
        """
        BEGIN;
        INSERT INTO users (id, email, name, role)
        SELECT gen_random_uuid(), 'queue-user-' || g || '@example.com', 'Queue user ' || g, 'user'
          FROM generate_series(1, 50) g;
        INSERT INTO users (id, email, name, role)
        SELECT gen_random_uuid(), 'queue-agent-' || c.n || '@example.com', 'Agent ' || c.n,
               'support'
          FROM unnest(%(caps)s::int[]) WITH ORDINALITY AS c(cap, n);
        INSERT INTO support_agents (id, user_id, name, email, max_concurrent_chats)
        SELECT gen_random_uuid(), u.id, u.name, u.email, c.cap
          FROM unnest(%(caps)s::int[]) WITH ORDINALITY AS c(cap, n)
          JOIN users u ON u.email = 'queue-agent-' || c.n || '@example.com';
        INSERT INTO chat_sessions (id, user_id, status, priority, created_at, last_message_at,
                                   queued_at)
        SELECT gen_random_uuid(), owners.ids[1 + g %% 50], 'pending',
               (ARRAY['low', 'medium', 'high'])[1 + g %% 3]::session_priority,
               now(), now(), now() - make_interval(secs => %(queued)s - g)
          FROM generate_series(1, %(queued)s) g,
               (SELECT array_agg(id ORDER BY email) AS ids FROM users WHERE role = 'user') owners;
        COMMIT;
        """,
        {"caps": capacities, "queued": queued},
    )
    assert _scalar(conn, "SELECT count(*) FROM chat_sessions WHERE status = 'pending'") == queued
    assert _scalar(conn, "SELECT count(*) FROM support_agents") == len(capacities)
    # Automatic assignment serves agents who are online (ASSIGN_ONLY_ONLINE): a pretend web
    # process vouches for a staff socket of each.
    agent_users = [str(row[0]) for row in _rows(conn, "SELECT user_id FROM support_agents")]
    vouch(agent_users, "tests", 3600)


def batch_waiting_on_audit(conn) -> tuple[int, bool] | None:
    """(pid, has written) of a backend whose assignment batch waits for a lock to insert its
    audit rows, if there is one."""
    found = _rows(
        conn,
        """SELECT pid, backend_xid IS NOT NULL FROM pg_stat_activity
            WHERE datname = current_database() AND pid <> pg_backend_pid()
              AND wait_event_type = 'Lock' AND query ILIKE '%INSERT INTO audit_logs%'
        """,
    )
    return found[0] if found else None


def kill_worker_mid_batch(env, conn, blocker) -> int:
    """Start a worker, have it run an assignment batch that waits inside its transaction for
    a lock that `blocker` holds on audit_logs (sessions and agents already updated, nothing
    committed), and SIGKILL it and its pool children at once; return the batch's backend pid.
    """
    with blocker.cursor() as cur:
        cur.execute("LOCK TABLE audit_logs IN SHARE MODE")
    victim = start_celery_worker(env, name="victim")
    try:
        with celery_control(env) as control:
            control.send_task(AUTO_ASSIGN, queue="assignment")
        backend_pid, wrote = wait_for(
            lambda: batch_waiting_on_audit(conn), timeout=30, message=lambda: victim.output()
        )
        assert wrote, "the batch had not written anything yet"
        assert _scalar(
            conn,
            """SELECT count(*) FROM pg_locks WHERE pid = %s AND granted
                  AND relation = 'chat_sessions'::regclass AND mode = 'RowExclusiveLock'""",
            (backend_pid,),
        ), "the batch had not updated a session yet"
        victim.kill()
    finally:
        victim.cleanup()
    return backend_pid


def active_count(conn) -> int:
    return _scalar(conn, "SELECT count(*) FROM chat_sessions WHERE status = 'active'")


def drive_until_assigned(
    conn, control, nodes: list[str], expected: int, *, timeout: float = 90.0
) -> int:
    """Wait until `expected` sessions are active. When the workers sit idle short of that,
    send another auto_assign, as beat's periodic sweep would (the design relies on it so that a
    trigger that found nothing to do only delays). Returns how many such sweeps were sent."""
    sweeps = 0
    deadline = time.monotonic() + timeout
    last, last_change = -1, time.monotonic()
    while (current := active_count(conn)) < expected:
        now = time.monotonic()
        assert now < deadline, f"only {current} of {expected} sessions assigned in {timeout}s"
        if current != last:
            last, last_change = current, now
        elif now - last_change > 3 and workers_idle(control, nodes):
            control.send_task(AUTO_ASSIGN, queue="assignment")
            sweeps += 1
            last_change = time.monotonic()
        time.sleep(0.2)
    assert current == expected, f"{current} sessions assigned, expected {expected}"
    return sweeps


def wait_until_idle(control, nodes: list[str], timeout: float = 30.0) -> None:
    """Every worker answers with nothing running or reserved, twice in a row."""
    idle_streak = 0

    def settled() -> bool:
        nonlocal idle_streak
        idle_streak = idle_streak + 1 if workers_idle(control, nodes) else 0
        return idle_streak >= 2

    wait_for(settled, timeout=timeout, interval=0.3, message=f"workers {nodes} idle")


def assert_assignment_invariants(conn, *, queued: int, capacity: int) -> None:
    """Read one snapshot and check every rule of automatic assignment."""
    _rows(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ")
    try:
        by_status = dict(_rows(conn, "SELECT status, count(*) FROM chat_sessions GROUP BY 1"))
        assigned = min(queued, capacity)
        expected = {"active": assigned, "pending": queued - assigned}
        assert by_status == {k: v for k, v in expected.items() if v}, by_status

        inconsistent = _scalar(
            conn,
            """SELECT count(*) FROM chat_sessions
                WHERE (status = 'active') <> (support_agent_id IS NOT NULL)
                   OR (status = 'active') <> (assigned_at IS NOT NULL)""",
        )
        assert inconsistent == 0

        agents = _rows(
            conn,
            """SELECT a.id, a.max_concurrent_chats, a.current_active_chats, count(s.id)
                 FROM support_agents a
                 LEFT JOIN chat_sessions s ON s.support_agent_id = a.id AND s.status = 'active'
                GROUP BY a.id""",
        )
        for agent_id, maximum, counter, real in agents:
            assert counter == real, f"agent {agent_id}: counter {counter} but {real} chats"
            assert real <= maximum, f"agent {agent_id}: {real} chats over capacity {maximum}"
            if queued > capacity:
                assert real == maximum, f"agent {agent_id}: {real}/{maximum} while queue waits"

        # Every assignment happened exactly once: one audit row per active session, naming
        # the agent that holds it, written by the system.
        audit = _rows(
            conn,
            """SELECT l.session_id, count(*), min(l.actor_role), max(l.actor_role),
                      bool_and(l.after ->> 'supportAgentId' = s.support_agent_id::text)
                 FROM audit_logs l
                 LEFT JOIN chat_sessions s ON s.id = l.session_id
                WHERE l.action = 'session.assigned'
                GROUP BY l.session_id""",
        )
        assert len(audit) == assigned
        twice = [row for row in audit if row[1] != 1]
        assert not twice, f"sessions assigned more than once: {twice[:5]}"
        assert all(row[2] == row[3] == "system" for row in audit)
        assert all(row[4] for row in audit), "an audit row names another agent"
        active_ids = {
            row[0] for row in _rows(conn, "SELECT id FROM chat_sessions WHERE status='active'")
        }
        assert {row[0] for row in audit} == active_ids
    finally:
        _rows(conn, "COMMIT")


# --- a created session is picked up --------------------------------------------------------


@pytest.mark.slow
def test_a_created_session_is_assigned_by_the_running_worker(
    auto_env, make_agent, make_account, mark_online, pg
):
    agent_account, agent = make_agent(max_chats=3)
    mark_online(agent_account.id)
    user = make_account("user")
    with celery_worker(auto_env, name="assign"), gunicorn_server(auto_env) as web:
        started = time.monotonic()
        created = web.request(
            "POST", "/api/chat/sessions", {"message": "Hola, ¿me ayudan?"}, token=user.token
        )
        assert created.status == 201, created.body
        assert created.body["data"]["status"] == "pending"
        session_id = created.body["data"]["id"]

        def assigned() -> dict | None:
            listed = web.request("GET", "/api/chat/sessions", token=user.token)
            assert listed.status == 200, listed.body
            session = listed.body["data"]["sessions"][0]
            return session if session["status"] == "active" else None

        session = wait_for(assigned, timeout=15, interval=0.2, message="the session to be assigned")
        elapsed = time.monotonic() - started
        assert session["id"] == session_id
        assert session["supportAgentId"] == agent["id"]
        assert session["assignedAt"] is not None

        me = web.request("GET", "/api/support/agents/me", token=agent_account.token)
        assert me.status == 200, me.body
        assert me.body["data"]["currentActiveChats"] == 1
    assert elapsed < 15
    audit = _rows(
        pg,
        "SELECT actor_id, actor_role FROM audit_logs "
        "WHERE action = 'session.assigned' AND session_id = %s",
        (session_id,),
    )
    assert audit == [(None, "system")]


@pytest.mark.slow
def test_one_worker_spreads_sessions_by_lowest_load(auto_env, pg):
    """Fewer sessions than capacity: each goes to the least-loaded agent (current/max), so when
    it is done no agent is more than one chat ahead of where the rule would put it."""
    capacities = [2, 4, 6, 8, 10, 20]  # 50 chats
    seed_queue(pg, queued=30, capacities=capacities)
    with celery_worker(auto_env, name="balance") as worker, celery_control(auto_env) as control:
        control.send_task(AUTO_ASSIGN, queue="assignment")
        drive_until_assigned(pg, control, [worker.node], 30)
        wait_until_idle(control, [worker.node])
    assert_assignment_invariants(pg, queued=30, capacity=sum(capacities))
    loads = _rows(pg, "SELECT current_active_chats, max_concurrent_chats FROM support_agents")
    for current_i, max_i in loads:
        if current_i == 0:
            continue
        # When agent i got its last chat it had the lowest load of all.
        for current_j, max_j in loads:
            assert (current_i - 1) / max_i <= current_j / max_j + 1e-9, loads


# --- two workers, a long queue --------------------------------------------------------------


@pytest.mark.slow
def test_two_workers_drain_a_long_queue_without_double_assignment(auto_env, pg):
    seed_queue(pg)
    with (
        celery_worker(auto_env, name="left") as left,
        celery_worker(auto_env, name="right") as right,
        celery_control(auto_env) as control,
    ):
        nodes = [left.node, right.node]
        for _ in range(8):  # what session creations and the periodic sweep would enqueue
            control.send_task(AUTO_ASSIGN, queue="assignment")
        drive_until_assigned(pg, control, nodes, sum(CAPACITIES))
        wait_until_idle(control, nodes)
        stats = control.control.inspect(destination=nodes, timeout=2).stats() or {}
        ran = {node: stats.get(node, {}).get("total", {}).get(AUTO_ASSIGN, 0) for node in nodes}
        assert all(count >= 1 for count in ran.values()), f"tasks run per worker: {ran}"
    assert_assignment_invariants(pg, queued=QUEUED, capacity=sum(CAPACITIES))


# --- a worker dies in the middle of a batch ----------------------------------------------------


@pytest.mark.slow
def test_a_worker_killed_mid_batch_loses_and_duplicates_nothing(
    auto_env, pg, database_url, redis_url
):
    seed_queue(pg)
    broker = redis.Redis.from_url(redis_url)
    blocker = psycopg2.connect(database_url)
    try:
        backend_pid = kill_worker_mid_batch(auto_env, pg, blocker)
        # acks_late: the broker still holds the task as unacknowledged, not lost.
        assert broker.hlen("unacked") >= 1
    finally:
        blocker.rollback()
        blocker.close()

    # The orphaned database backend finds its client gone and rolls the whole batch back.
    wait_for(
        lambda: (
            not _scalar(pg, "SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (backend_pid,))
        ),
        timeout=30,
        message="the killed worker's backend to end",
    )
    assert active_count(pg) == 0
    assert _scalar(pg, "SELECT count(*) FROM audit_logs") == 0
    assert _scalar(pg, "SELECT sum(current_active_chats) FROM support_agents") == 0

    # A restarted worker and the next sweep finish the job exactly once.
    with celery_worker(auto_env, name="restarted") as worker, celery_control(auto_env) as control:
        control.send_task(AUTO_ASSIGN, queue="assignment")
        drive_until_assigned(pg, control, [worker.node], sum(CAPACITIES))
        wait_until_idle(control, [worker.node])
    assert_assignment_invariants(pg, queued=QUEUED, capacity=sum(CAPACITIES))


# --- inactivity rules with a controlled clock -----------------------------------------------


NOW = datetime(2030, 1, 15, 12, 0, tzinfo=UTC)


def _set_times(session_id: str, **values) -> None:
    db.session.execute(
        update(ChatSession).where(ChatSession.id == uuid.UUID(session_id)).values(**values)
    )
    db.session.commit()


def _session(session_id: str) -> ChatSession:
    db.session.expire_all()
    return db.session.get(ChatSession, uuid.UUID(session_id))


def _agent(agent_id: str) -> SupportAgent:
    db.session.expire_all()
    return db.session.get(SupportAgent, uuid.UUID(agent_id))


def _real_active(agent_id: str) -> int:
    return len(
        db.session.scalars(
            select(ChatSession.id).where(
                ChatSession.support_agent_id == uuid.UUID(agent_id),
                ChatSession.status == "active",
            )
        ).all()
    )


def _audit(action: str) -> list[AuditLog]:
    return list(
        db.session.scalars(select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id))
    )


def test_unanswered_sessions_go_back_to_the_queue(
    client, app_ctx, make_account, make_agent, open_session
):
    admin = make_account("admin")
    agent_account, agent = make_agent(max_chats=5)
    user = make_account("user")
    stale, fresh, answered = (open_session(user) for _ in range(3))
    for session in (stale, fresh, answered):
        assign(client, session["id"], agent["id"], admin, expect=200)
    reply(client, answered["id"], agent_account, "Hola, te ayudo", expect=201)
    _set_times(stale["id"], waiting_since=NOW - timedelta(minutes=31))
    _set_times(fresh["id"], waiting_since=NOW - timedelta(minutes=29))
    _set_times(answered["id"], last_message_at=NOW - timedelta(hours=2))
    assert _agent(agent["id"]).current_active_chats == 3

    assert lifecycle.requeue_unanswered(0, now=NOW) == 0  # 0 = off
    assert lifecycle.requeue_unanswered(30, now=NOW) == 1

    requeued = _session(stale["id"])
    assert requeued.status == "pending"
    assert requeued.support_agent_id is None
    assert requeued.assigned_at is None
    assert requeued.queued_at == NOW - timedelta(minutes=31)  # keeps its place in the queue
    assert _session(fresh["id"]).status == "active"
    assert _session(answered["id"]).status == "active"
    assert _agent(agent["id"]).current_active_chats == 2 == _real_active(agent["id"])

    [entry] = _audit("session.requeued")
    assert entry.actor_role == "system"
    assert entry.actor_id is None
    assert entry.session_id == uuid.UUID(stale["id"])
    assert entry.before == {"status": "active", "supportAgentId": agent["id"]}
    assert entry.after == {"status": "pending", "supportAgentId": None, "reason": "unanswered"}

    # Running the rule again changes nothing.
    assert lifecycle.requeue_unanswered(30, now=NOW) == 0
    assert len(_audit("session.requeued")) == 1


def test_idle_sessions_are_closed(client, app_ctx, make_account, make_agent, open_session):
    admin = make_account("admin")
    _agent_account, agent = make_agent(max_chats=5)
    user = make_account("user")
    idle_pending, idle_active, busy_active, already_closed = (open_session(user) for _ in range(4))
    for session in (idle_active, busy_active, already_closed):
        assign(client, session["id"], agent["id"], admin, expect=200)
    close(client, already_closed["id"], user, expect=200)
    closed_at_before = _session(already_closed["id"]).closed_at

    _set_times(idle_pending["id"], last_message_at=NOW - timedelta(hours=25))
    _set_times(idle_active["id"], last_message_at=NOW - timedelta(hours=24, seconds=1))
    _set_times(busy_active["id"], last_message_at=NOW - timedelta(hours=23, minutes=59))
    _set_times(already_closed["id"], last_message_at=NOW - timedelta(days=3))
    assert _agent(agent["id"]).current_active_chats == 2

    assert lifecycle.close_inactive(0, now=NOW) == 0  # 0 = off
    assert lifecycle.close_inactive(24, now=NOW) == 2

    for session in (idle_pending, idle_active):
        found = _session(session["id"])
        assert found.status == "closed"
        assert found.closed_at == NOW
        assert found.waiting_since is None
    assert _session(busy_active["id"]).status == "active"
    assert _session(already_closed["id"]).closed_at == closed_at_before
    assert _agent(agent["id"]).current_active_chats == 1 == _real_active(agent["id"])

    entries = _audit("session.auto_closed")
    assert {e.session_id for e in entries} == {
        uuid.UUID(idle_pending["id"]),
        uuid.UUID(idle_active["id"]),
    }
    assert all(e.actor_role == "system" and e.actor_id is None for e in entries)
    assert {e.before["status"] for e in entries} == {"pending", "active"}
    assert all(e.after == {"status": "closed"} for e in entries)

    assert lifecycle.close_inactive(24, now=NOW) == 0

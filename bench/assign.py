"""Automatic assignment throughput: `python -m bench.assign --sessions 10000 --agents 200`.

Fills the queue with pending sessions, creates agents of mixed capacity, starts two Celery
worker processes (as the Procfile does), enqueues the auto-assignment task and measures
sessions assigned per second, then checks that no agent went over capacity and that every
counter equals the real number of active sessions.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

import psycopg2

from bench.common import arguments, bench_env, machine, throwaway_database, write_result
from testkit.processes import CeleryWorker, stop_all

SETUP_SQL = """
INSERT INTO users (id, email, name, role)
SELECT gen_random_uuid(), 'assign-agent-' || g || '@bench.example', 'Agente ' || g, 'support'
  FROM generate_series(1, %(agents)s) g;
INSERT INTO support_agents (id, user_id, name, email, max_concurrent_chats)
SELECT gen_random_uuid(), id, name, email, 30 + (abs(hashtext(email)) %% 21)
  FROM users WHERE email LIKE 'assign-agent-%%';
INSERT INTO users (id, email, name, role)
VALUES (gen_random_uuid(), 'assign-user@bench.example', 'Usuario', 'user');
INSERT INTO chat_sessions (id, user_id, status, priority, created_at, last_message_at, queued_at)
SELECT gen_random_uuid(), (SELECT id FROM users WHERE email = 'assign-user@bench.example'),
       'pending', (ARRAY['low','medium','high'])[1 + g %% 3]::session_priority,
       now() - g * interval '1 second', now(), now() - g * interval '1 second'
  FROM generate_series(1, %(sessions)s) g;
"""

CHECK_SQL = {
    "agents_over_capacity": (
        "SELECT count(*) FROM support_agents WHERE current_active_chats > max_concurrent_chats"
    ),
    "counter_mismatches": """
        SELECT count(*) FROM support_agents a WHERE current_active_chats <>
          (SELECT count(*) FROM chat_sessions s WHERE s.support_agent_id = a.id
             AND s.status = 'active')""",
    "assigned": "SELECT count(*) FROM chat_sessions WHERE status = 'active'",
    "capacity": "SELECT sum(max_concurrent_chats) FROM support_agents",
}


@contextlib.contextmanager
def celery_workers(database_url: str, count: int) -> Iterator[None]:
    """`count` Celery workers (one process each) on the assignment queue, started the
    Procfile way (testkit/processes.py) and answering pings before the benchmark starts."""
    # The seeded agents have no sockets: presence is left out of what this measures.
    env = bench_env(database_url, AUTO_ASSIGN_ENABLED="true", ASSIGN_ONLY_ONLINE="false")
    workers: list[CeleryWorker] = []
    try:
        for index in range(count):
            worker = CeleryWorker(
                env, name=f"bench{index}", queues="assignment", concurrency=1, loglevel="WARNING"
            )
            workers.append(worker.start())
        for worker in workers:
            worker.wait_answering()
        yield
    finally:
        stop_all(workers, timeout=20)
        for worker in workers:
            worker.cleanup()


def _enqueue(database_url: str, tasks: int) -> None:
    from supportapp import create_app
    from supportapp.config import Config
    from supportapp.jobs import AUTO_ASSIGN, celery

    create_app(Config(bench_env(database_url)))
    for _ in range(tasks):
        celery.send_task(AUTO_ASSIGN)


def run(sessions: int, agents: int, workers: int) -> dict:
    with throwaway_database("bench_assign") as database_url:
        conn = psycopg2.connect(database_url)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(SETUP_SQL, {"sessions": sessions, "agents": agents})
            cur.execute("ANALYZE")
        with celery_workers(database_url, workers):
            started = time.time()
            _enqueue(database_url, tasks=workers * 4)
            last_count, stable_since = -1, time.time()
            while time.time() - stable_since < 3 and time.time() - started < 300:
                with conn.cursor() as cur:
                    cur.execute("SELECT count(*) FROM chat_sessions WHERE status = 'active'")
                    count = cur.fetchone()[0]
                if count != last_count:
                    last_count, stable_since = count, time.time()
                time.sleep(0.2)
        with conn.cursor() as cur:
            cur.execute(
                "SELECT extract(epoch FROM min(assigned_at)), "
                "extract(epoch FROM max(assigned_at)) FROM chat_sessions"
            )
            first, finished = (float(v or started) for v in cur.fetchone())
            checks = {}
            for name, sql in CHECK_SQL.items():
                cur.execute(sql)
                checks[name] = int(cur.fetchone()[0] or 0)
        conn.close()
    elapsed = max(finished - started, 1e-6)
    busy = max(finished - first, 1e-6)
    return {
        "machine": machine(),
        "sessions": sessions,
        "agents": agents,
        "workers": workers,
        **checks,
        "seconds_from_enqueue": round(elapsed, 2),
        "seconds_first_to_last_assignment": round(busy, 2),
        "assigned_per_second": round(checks["assigned"] / busy, 1),
        "assigned_per_second_from_enqueue": round(checks["assigned"] / elapsed, 1),
        "target_per_second": 1000,
    }


def main(argv: list[str] | None = None) -> int:
    args = arguments(__doc__, argv, name="assign", sessions=10_000, agents=200, workers=2)
    result = run(args.sessions, args.agents, args.workers)
    print(result)
    write_result(args.name, result)
    ok = result["agents_over_capacity"] == 0 and result["counter_mismatches"] == 0
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())

"""CPU and Redis round trips per request, in-process: `python -m bench.request_cost`.

`--profile "PATCH assign"` also writes a cProfile of that case on CPU time
(bench/results/profile-*.txt) — where the CPU of one request goes.

bench/load.py measures throughput through gunicorn, which a busy machine skews; this measures
what one request costs the web process itself — CPU time (time.process_time, unaffected by
other processes) and the Redis commands it sends — so two versions compare on a shared box.
"""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import time
from collections.abc import Callable
from itertools import cycle

import redis

from bench.common import PASSWORD, RESULTS, arguments, throwaway_database, write_result


def _count_round_trips(calls: list[int]) -> None:
    """Count every command and pipeline any redis-py client sends (one round trip each)."""
    command, pipeline = redis.Redis.execute_command, redis.client.Pipeline.execute

    def counted_command(self, *args, **kwargs):
        calls[0] += 1
        return command(self, *args, **kwargs)

    def counted_pipeline(self, *args, **kwargs):
        calls[0] += 1
        return pipeline(self, *args, **kwargs)

    redis.Redis.execute_command = counted_command
    redis.client.Pipeline.execute = counted_pipeline


def _count_statements(engine, statements: list[int]) -> None:
    """Count the SQL statements this thread sends to PostgreSQL (one round trip each; the
    outbox relay's thread is left out)."""
    import threading

    from sqlalchemy import event

    main = threading.get_ident()

    @event.listens_for(engine, "before_cursor_execute")
    def counted(*_args):
        if threading.get_ident() == main:
            statements[0] += 1


def _login(client, email: str) -> dict[str, str]:
    login = client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    return {"Authorization": f"Bearer {login.get_json()['data']['accessToken']}"}


def run(requests: int, profile: str | None = None, only: str | None = None) -> dict:
    from flask_migrate import upgrade

    from supportapp import create_app
    from supportapp.config import Config
    from supportapp.outbox import start_relay

    report: dict = {"requests_per_case": requests, "cases": {}}
    with throwaway_database("bench_cost") as database_url:
        environ = {
            **os.environ,
            "APP_ENV": "testing",
            "DATABASE_URL": database_url,
            "LOG_LEVEL": "ERROR",
            "JWT_SECRET_KEY": "benchmark-secret-key-0123456789-abcdefghijklmnop",
            "AUTO_ASSIGN_ENABLED": "false",
            "MESSAGE_RATE_LIMIT": "1000000/minute",
            "LOGIN_RATE_LIMIT": "1000000/minute",  # runs back to back log in again
            "SESSION_OPEN_RATE_LIMIT": "1000000/minute",
            "MAX_OPEN_SESSIONS_PER_USER": "1000000",
        }
        app = create_app(Config(environ))
        with app.app_context():
            upgrade()
            from supportapp.models import Role
            from supportapp.services import users

            for email, role in (
                ("cost@example.com", Role.USER),
                ("cost-agent@example.com", Role.SUPPORT),
                ("cost-agent2@example.com", Role.SUPPORT),
                ("cost-admin@example.com", Role.ADMIN),
            ):
                users.register_user(email=email, password=PASSWORD, name="C", role=role)
        # As in a gunicorn worker (post_worker_init): published outbox rows are deleted in
        # batches by the relay, not one statement per request.
        start_relay(app)
        client = app.test_client()
        headers = _login(client, "cost@example.com")
        support = _login(client, "cost-agent@example.com")
        admin = _login(client, "cost-admin@example.com")
        agents = []
        for email in ("cost-agent@example.com", "cost-agent2@example.com"):
            me = client.get("/api/auth/me", headers=_login(client, email)).get_json()["data"]
            created = client.post(
                "/api/support/agents",
                json={"userId": me["id"], "name": "Agent", "maxConcurrentChats": 50},
                headers=admin,
            )
            assert created.status_code == 201, created.get_json()
            agents.append(created.get_json()["data"]["id"])
        opened = client.post("/api/chat/sessions", json={"message": "hola"}, headers=headers)
        session_id = opened.get_json()["data"]["id"]
        session = f"/api/chat/session/{session_id}"
        turn = cycle(range(6))

        def assign():
            body = {"supportAgentId": agents[next(turn) % 2]}
            return client.patch(f"{session}/assign", json=body, headers=admin)

        def priority():
            body = {"priority": ("high", "low", "medium")[next(turn) % 3]}
            return client.patch(f"{session}/priority", json=body, headers=support)

        cases: dict[str, Callable] = {
            "GET /api/auth/verify": lambda: client.get("/api/auth/verify", headers=headers),
            "GET /api/auth/me": lambda: client.get("/api/auth/me", headers=headers),
            "POST user message": lambda: client.post(
                f"{session}/message", json={"message": "x"}, headers=headers
            ),
            "POST support-message": lambda: client.post(
                f"{session}/support-message", json={"message": "x"}, headers=support
            ),
            "PATCH assign": assign,
            "PATCH priority": priority,
        }
        calls = [0]
        _count_round_trips(calls)
        statements = [0]
        with app.app_context():
            from supportapp.extensions import db

            _count_statements(db.engine, statements)
        wanted = set(only.split(",")) if only else set(cases)
        for name, call in cases.items():
            if name not in wanted:
                continue
            for _ in range(30):  # warm caches (statements, the Lua script's SHA)
                response = call()
                assert response.status_code < 300, response.get_json()
            best = None
            calls[0] = statements[0] = 0
            for _ in range(3):
                started = time.process_time()
                for _ in range(requests):
                    call()
                per_request = (time.process_time() - started) / requests * 1000
                best = per_request if best is None else min(best, per_request)
            report["cases"][name] = {
                "cpu_ms": round(best, 3),
                "redis_round_trips": round(calls[0] / (3 * requests), 2),
                "sql_statements": round(statements[0] / (3 * requests), 2),
            }
            print(name, report["cases"][name], flush=True)
        if profile:
            _profile(profile, cases[profile], requests)
    return report


def _profile(name: str, call: Callable, requests: int) -> None:
    """cProfile on CPU time (waits for PostgreSQL and Redis left out), functions by own time
    and by cumulative time."""
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    for _ in range(requests):
        call()
    profiler.disable()
    path = RESULTS / f"profile-{name.lower().replace(' ', '-').replace('/', '')}.txt"
    profiler.dump_stats(path.with_suffix(".prof"))  # full paths, for pstats or snakeviz
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).strip_dirs()
    stats.sort_stats("tottime").print_stats(40)
    stats.sort_stats("cumulative").print_stats(80)
    path.write_text(out.getvalue())
    print(f"wrote {path}")


def main(argv: list[str] | None = None) -> int:
    args = arguments(
        __doc__,
        argv,
        name="request_cost",
        helps={
            "profile": "also profile this case (cProfile on CPU time)",
            "only": "measure only these cases (comma-separated names)",
        },
        requests=300,
        profile=None,
        only=None,
    )
    print(f"wrote {write_result(args.name, run(args.requests, args.profile, args.only))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

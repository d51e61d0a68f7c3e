"""CPU and Redis round trips per request, in-process: `python -m bench.request_cost`.

bench/load.py measures throughput through gunicorn, which a busy machine skews; this measures
what one request costs the web process itself — CPU time (time.process_time, unaffected by
other processes) and the Redis commands it sends — so two versions compare on a shared box.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import redis

from bench.common import PASSWORD, arguments, throwaway_database, write_result


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


def run(requests: int) -> dict:
    from flask_migrate import upgrade

    from supportapp import create_app
    from supportapp.config import Config

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
            "SESSION_OPEN_RATE_LIMIT": "1000000/minute",
            "MAX_OPEN_SESSIONS_PER_USER": "1000000",
        }
        app = create_app(Config(environ))
        with app.app_context():
            upgrade()
            from supportapp.models import Role
            from supportapp.services import users

            users.register_user(
                email="cost@example.com", password=PASSWORD, name="C", role=Role.USER
            )
        client = app.test_client()
        login = client.post(
            "/api/auth/login", json={"email": "cost@example.com", "password": PASSWORD}
        )
        headers = {"Authorization": f"Bearer {login.get_json()['data']['accessToken']}"}
        opened = client.post("/api/chat/sessions", json={"message": "hola"}, headers=headers)
        session_id = opened.get_json()["data"]["id"]
        cases: dict[str, Callable] = {
            "GET /api/auth/verify": lambda: client.get("/api/auth/verify", headers=headers),
            "GET /api/auth/me": lambda: client.get("/api/auth/me", headers=headers),
            "POST user message": lambda: client.post(
                f"/api/chat/session/{session_id}/message", json={"message": "x"}, headers=headers
            ),
        }
        calls = [0]
        _count_round_trips(calls)
        for name, call in cases.items():
            for _ in range(30):  # warm caches (statements, the Lua script's SHA)
                response = call()
                assert response.status_code < 300, response.get_json()
            best = None
            calls[0] = 0
            for _ in range(3):
                started = time.process_time()
                for _ in range(requests):
                    call()
                per_request = (time.process_time() - started) / requests * 1000
                best = per_request if best is None else min(best, per_request)
            report["cases"][name] = {
                "cpu_ms": round(best, 3),
                "redis_round_trips": round(calls[0] / (3 * requests), 2),
            }
            print(name, report["cases"][name], flush=True)
    return report


def main(argv: list[str] | None = None) -> int:
    args = arguments(__doc__, argv, name="request_cost", requests=300)
    print(f"wrote {write_result(args.name, run(args.requests))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

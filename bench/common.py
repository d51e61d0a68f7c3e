"""Shared benchmark plumbing: a throwaway database and gunicorn as the Procfile runs it (both
from testkit/, shared with the tests), accounts, and a small keep-alive HTTP client. Everything
talks to 127.0.0.1 only."""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from testkit import databases, processes
from testkit.processes import ROOT, gunicorn_server

RESULTS = ROOT / "bench" / "results"
PASSWORD = "password123"
SERVER_PIDS: dict[str, int] = {}  # base URL -> gunicorn master pid, while it runs


def arguments(
    doc: str,
    argv: list[str] | None,
    *,
    name: str | None = None,
    helps: dict[str, str] | None = None,
    **defaults: Any,
) -> argparse.Namespace:
    """A benchmark's command line: one `--option` per keyword (`messages_per_session` →
    `--messages-per-session`) typed like its default (a list: one or more values; None: text,
    unset), and `--name` (the result file) when `name` is given."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    for key, default in defaults.items():
        flag = "--" + key.replace("_", "-")
        options: dict[str, Any] = {"default": default, "help": (helps or {}).get(key)}
        if isinstance(default, list):
            options.update(type=type(default[0]), nargs="+")
        elif default is not None:
            options["type"] = type(default)
        parser.add_argument(flag, **options)
    if name:
        parser.add_argument("--name", default=name)
    return parser.parse_args(argv)


def server_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if not url:
        raise SystemExit("DATABASE_URL is not set: run through `make bench` / `make bench-quick`")
    return url


@contextlib.contextmanager
def throwaway_database(prefix: str = "bench") -> Iterator[str]:
    """A migrated database on the configured server, dropped afterwards."""
    with databases.throwaway_database(server_url(), prefix) as url:
        run_flask(url, "db", "upgrade")
        yield url


def bench_env(database_url: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "APP_ENV": "production",
        "DATABASE_URL": database_url,
        "REDIS_URL": os.environ["REDIS_URL"],
        "JWT_SECRET_KEY": "benchmark-secret-key-0123456789-abcdefghijklmnop",
        "LOG_LEVEL": "WARNING",
        # Limits raised through configuration, not code, so the load is not throttled.
        "MESSAGE_RATE_LIMIT": "1000000/minute",
        "LOGIN_RATE_LIMIT": "1000000/minute",
        "REGISTER_RATE_LIMIT": "1000000/minute",
        "AUTO_ASSIGN_ENABLED": "false",
        **extra,
    }


def run_flask(database_url: str, *args: str) -> str:
    return processes.run_flask(bench_env(database_url), *args, timeout=None)


@contextlib.contextmanager
def gunicorn(
    database_url: str, *, workers: int = 2, root: Path = ROOT, **extra: str
) -> Iterator[str]:
    """gunicorn exactly as the Procfile runs it (testkit/processes.py), from the code in
    `root`; yields its base URL."""
    env = bench_env(database_url, **extra)
    with gunicorn_server(env, workers=workers, threads=None, timeout=30, cwd=root) as server:
        SERVER_PIDS[server.url] = server.pid
        try:
            yield server.url
        finally:
            SERVER_PIDS.pop(server.url, None)


class Client:
    """A keep-alive HTTP/1.1 connection with JSON helpers (one per thread)."""

    def __init__(self, base_url: str, token: str | None = None) -> None:
        host_port = base_url.removeprefix("http://")
        host, port = host_port.split(":")
        self.conn = http.client.HTTPConnection(host, int(port), timeout=30)
        self.token = token

    def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        payload = json.dumps(body) if body is not None else None
        try:
            self.conn.request(method, path, body=payload, headers=headers)
            response = self.conn.getresponse()
            raw = response.read()
        except (http.client.HTTPException, OSError):
            self.conn.close()
            self.conn.connect()
            self.conn.request(method, path, body=payload, headers=headers)
            response = self.conn.getresponse()
            raw = response.read()
        return response.status, json.loads(raw) if raw else {}


@dataclass
class Account:
    id: str
    email: str
    token: str


def create_account(database_url: str, base_url: str, role: str) -> Account:
    email = f"{role}-{uuid.uuid4().hex[:8]}@bench.example"
    run_flask(
        database_url,
        "users",
        "create",
        "--email",
        email,
        "--password",
        PASSWORD,
        "--name",
        f"Bench {role}",
        "--role",
        role,
    )
    status, body = Client(base_url).request(
        "POST", "/api/auth/login", {"email": email, "password": PASSWORD}
    )
    assert status == 200, body
    return Account(id=body["data"]["user"]["id"], email=email, token=body["data"]["accessToken"])


def percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


def write_result(name: str, data: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    return path


def machine() -> dict:
    import platform

    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
    }

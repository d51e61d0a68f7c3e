"""Shared benchmark plumbing: a throwaway database, gunicorn as the Procfile runs it, accounts,
and a small keep-alive HTTP client. Everything talks to 127.0.0.1 only."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg2
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
BIN = Path(sys.executable).parent
PASSWORD = "password123"
SERVER_PIDS: dict[str, int] = {}  # base URL -> gunicorn master pid, while it runs


def server_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if not url:
        raise SystemExit("DATABASE_URL is not set: run through `make bench` / `make bench-quick`")
    return url


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _admin(database_url: str):
    url = make_url(database_url).set(database="postgres")
    conn = psycopg2.connect(
        host=url.host, port=url.port, user=url.username, password=url.password, dbname="postgres"
    )
    conn.autocommit = True
    return conn


@contextlib.contextmanager
def throwaway_database(prefix: str = "bench") -> Iterator[str]:
    """A migrated database on the configured server, dropped afterwards."""
    base = server_url()
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = _admin(base)
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    url = make_url(base).set(database=name).render_as_string(hide_password=False)
    url = url.replace("postgresql+psycopg2://", "postgresql://")
    try:
        run_flask(url, "db", "upgrade")
        yield url
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


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
    result = subprocess.run(
        [str(BIN / "flask"), "--app", "wsgi", *args],
        cwd=ROOT,
        env=bench_env(database_url),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"flask {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


@contextlib.contextmanager
def gunicorn(
    database_url: str, *, workers: int = 2, root: Path = ROOT, **extra: str
) -> Iterator[str]:
    """gunicorn exactly as the Procfile runs it, from the code in `root`; yields its base URL."""
    port = free_port()
    env = bench_env(database_url, PORT=str(port), WEB_CONCURRENCY=str(workers), **extra)
    proc = subprocess.Popen(
        [str(BIN / "gunicorn"), "--config", "gunicorn.conf.py", "wsgi:app"],
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        wait_healthy(port, proc)
        SERVER_PIDS[f"http://127.0.0.1:{port}"] = proc.pid
        yield f"http://127.0.0.1:{port}"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def wait_healthy(port: int, proc: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited: {proc.stderr.read().decode()[-2000:]}")
        with contextlib.suppress(OSError):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        time.sleep(0.2)
    raise RuntimeError("gunicorn did not become healthy")


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

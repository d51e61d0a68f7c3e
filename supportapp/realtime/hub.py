"""Per-process fan-out: one Redis stream reader feeds every WebSocket held by this process.

The reader starts lazily with the first socket, remembers the id of the last entry it has seen
and follows the stream from there (XREAD BLOCK), so it never skips an event, even across Redis
reconnects. Each socket has a bounded buffer: a client too slow to drain it is flagged and closed
with OVERFLOW_CLOSE_CODE, telling it to reconnect with its last event id.

Nothing here polls: the reader blocks on Redis, and a subscriber is woken (its `wake` callback)
only when something was added to its buffer, so an idle socket costs no CPU.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import redis

from supportapp.realtime import events
from supportapp.realtime.bus import (
    EVENT_STREAM,
    Ephemeral,
    StreamEvent,
    control_of,
    ephemeral_channel,
    parse_entry,
)
from supportapp.services.access import may_receive

log = logging.getLogger(__name__)

OVERFLOW_CLOSE_CODE = 4409
TOO_MANY_SOCKETS_CLOSE_CODE = 4429
CLIENT_BUFFER = 1000
READ_BLOCK_MS = 5000
READ_COUNT = 500
# A socket's slot in its user's count (sockets_key) lives this long unless its process renews
# it; the reader renews every slot of the process each third of it. A crashed process's slots
# expire by themselves.
SOCKET_LEASE = 60

# Told to every local socket when the reader gets Redis back after losing it: events published
# meanwhile may never have reached the stream, so clients refetch what they show over REST.
STREAM_INTERRUPTED = events.resync_required("the event stream was interrupted")


def _nothing() -> None:
    return None


@dataclass(eq=False)
class Subscriber:
    """A connected socket as the hub sees it: who it is, its outgoing buffer and how to wake
    the thread that drains it. Buffered items are StreamEvents, Ephemeral signals or ready-made
    notice dicts."""

    user_id: str
    is_support: bool
    wake: Callable[[], None] = _nothing
    buffer: deque = field(default_factory=deque)
    overflowed: bool = False
    # The token the socket authenticated with, to match revocations (auth/blocklist.py).
    login_id: str | None = None
    token_id: str | None = None
    issued_ms: int = 0
    socket_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    revoked: bool = False

    # Called for every event and socket: the policy function itself is the method.
    may_see = may_receive

    def covered_by(self, revocation: dict[str, Any]) -> bool:
        """Whether a revocation (blocklist.revoke_login / revoke_user) covers this socket's
        token: all of the user's tokens issued before a moment, or its login, or the token."""
        if revocation.get("user") != self.user_id:
            return False
        before = revocation.get("before")
        if isinstance(before, int) and self.issued_ms < before:
            return True
        login, token = revocation.get("login"), revocation.get("token")
        return bool(login and login == self.login_id) or bool(token and token == self.token_id)

    def offer(self, item: StreamEvent | Ephemeral | dict[str, Any]) -> bool:
        """Buffer `item` if this socket may see it; True when the drainer has work to do."""
        if self.overflowed:
            return False
        if isinstance(item, StreamEvent | Ephemeral) and not self.may_see(item):
            return False
        if len(self.buffer) >= CLIENT_BUFFER:
            self.overflowed = True
        else:
            self.buffer.append(item)
        return True

    def take(self) -> list[StreamEvent | Ephemeral | dict[str, Any]]:
        """Everything buffered so far, oldest first (deque pops are thread-safe)."""
        items = []
        while self.buffer:
            items.append(self.buffer.popleft())
        return items


class Hub:
    def __init__(self) -> None:
        self._subscribers: set[Subscriber] = set()
        self._lock = threading.Lock()
        self._reader: threading.Thread | None = None
        self._listener: threading.Thread | None = None
        self._listening = threading.Event()
        self._position: str | None = None
        self._started = threading.Event()
        self._redis_url: str | None = None
        self._renew_at = 0.0

    # -- subscribers ---------------------------------------------------------------------

    def subscribe(self, subscriber: Subscriber, redis_url: str) -> None:
        """Register a socket. Returns once the reader has a concrete stream position, so an
        event added after this call reaches the subscriber live or through replay."""
        self._ensure_reader(redis_url)
        with self._lock:
            self._subscribers.add(subscriber)

    def unsubscribe(self, subscriber: Subscriber) -> None:
        with self._lock:
            self._subscribers.discard(subscriber)

    def _dispatch_entries(self, entries: list[tuple[str, dict[str, str]]]) -> None:
        events = []
        for entry in entries:
            control = control_of(entry[1])
            if control is None:
                events.append(parse_entry(entry))
            elif isinstance(control.get("revoke"), dict):
                self._revoke(control["revoke"])
        if events:
            self._dispatch(events)

    def _revoke(self, revocation: dict[str, Any]) -> None:
        """Flag and wake every local socket the revocation covers; its thread closes it 4401."""
        with self._lock:
            subscribers = list(self._subscribers)
        for subscriber in subscribers:
            if subscriber.covered_by(revocation):
                subscriber.revoked = True
                subscriber.wake()

    def _renew_slots(self, client: redis.Redis) -> None:
        """Keep this process's sockets counted in their users' slot sets (one pipeline)."""
        now = time.time()
        if now < self._renew_at:
            return
        self._renew_at = now + SOCKET_LEASE / 3
        with self._lock:
            subscribers = list(self._subscribers)
        if not subscribers:
            return
        pipe = client.pipeline(transaction=False)
        for subscriber in subscribers:
            key = sockets_key(subscriber.user_id)
            pipe.zadd(key, {subscriber.socket_id: now + SOCKET_LEASE}, xx=True)
            pipe.expire(key, SOCKET_LEASE)
        pipe.execute()

    def _dispatch(self, items: list[StreamEvent | Ephemeral | dict[str, Any]]) -> None:
        """Offer a batch to every subscriber, then wake each one that got something once."""
        with self._lock:
            subscribers = list(self._subscribers)
        for subscriber in subscribers:
            woken = False
            for item in items:
                woken = subscriber.offer(item) or woken
            if woken:
                subscriber.wake()

    # -- the reader ----------------------------------------------------------------------

    def _ensure_reader(self, redis_url: str) -> None:
        with self._lock:
            if self._reader is None or not self._reader.is_alive():
                self._redis_url = redis_url
                self._started.clear()
                self._reader = threading.Thread(
                    target=self._run, name="event-stream-reader", daemon=True
                )
                self._reader.start()
            if self._listener is None or not self._listener.is_alive():
                self._listener = threading.Thread(
                    target=self._listen, name="ephemeral-listener", daemon=True
                )
                self._listener.start()
        self._started.wait(timeout=10)
        self._listening.wait(timeout=5)

    def _run(self) -> None:
        backoff = 0.5
        client: redis.Redis | None = None
        interrupted = False
        while True:
            try:
                if client is None:
                    client = redis.Redis.from_url(
                        self._redis_url,
                        decode_responses=True,
                        socket_timeout=READ_BLOCK_MS / 1000 + 5,
                        socket_connect_timeout=2,
                    )
                    client.ping()  # connect now, so a recovery is noticed at once
                    backoff = 0.5
                    if interrupted:
                        log.warning("event stream reader has Redis back; clients must resync")
                        interrupted = False
                        self._dispatch([STREAM_INTERRUPTED])
                if self._position is None:
                    newest = client.xrevrange(EVENT_STREAM, count=1)
                    self._position = newest[0][0] if newest else "0-0"
                    self._started.set()
                reply = client.xread(
                    {EVENT_STREAM: self._position}, count=READ_COUNT, block=READ_BLOCK_MS
                )
                for _stream, entries in reply or []:
                    if entries:
                        self._position = entries[-1][0]
                        self._dispatch_entries(entries)
                self._renew_slots(client)
            except redis.RedisError:
                log.warning(
                    "event stream reader lost Redis; retrying in %.1fs", backoff, exc_info=True
                )
                interrupted = interrupted or self._position is not None
                client = None
                time.sleep(backoff)
                backoff = min(backoff * 2, 5)
                if self._position is None:
                    # Nothing to resume from yet: let subscribers proceed (replay covers them).
                    self._started.set()
            except Exception:  # keep the process's only reader alive whatever happens
                log.exception("event stream reader failed; restarting")
                time.sleep(backoff)

    def _listen(self) -> None:
        """Follow the ephemeral pub/sub channel (typing) and fan its signals out; what is
        published while Redis is unreachable is lost, by design."""
        backoff = 0.5
        while True:
            try:
                client = redis.Redis.from_url(
                    self._redis_url, decode_responses=True, socket_connect_timeout=2
                )
                pubsub = client.pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(ephemeral_channel(client))
                self._listening.set()
                backoff = 0.5
                for message in pubsub.listen():
                    signal = Ephemeral.from_message(message.get("data"))
                    if signal is not None:
                        self._dispatch([signal])
            except redis.RedisError:
                log.warning("ephemeral listener lost Redis; retrying in %.1fs", backoff)
                self._listening.set()  # nothing to wait for: sockets proceed without it
            except Exception:  # keep the process's only listener alive whatever happens
                log.exception("ephemeral listener failed; restarting")
            time.sleep(backoff)
            backoff = min(backoff * 2, 5)


hub = Hub()


# --- sockets per user, across processes --------------------------------------------------------


def sockets_key(user_id: str) -> str:
    return f"supportapp:ws:sockets:{user_id}"


# KEYS[1]: the user's slots (socket id → lease end). ARGV: now, lease end, max, socket id.
_CLAIM_SLOT = """
redis.call('zremrangebyscore', KEYS[1], '-inf', ARGV[1])
if redis.call('zcard', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('zadd', KEYS[1], ARGV[2], ARGV[4])
redis.call('expire', KEYS[1], tonumber(ARGV[2]) - tonumber(ARGV[1]) + 1)
return 1
"""


def claim_slot(client: redis.Redis, subscriber: Subscriber, max_sockets: int) -> bool:
    """Count the socket against its user's WS_MAX_SOCKETS_PER_USER, across all processes;
    False when the user already holds that many. Without Redis: allowed (logged)."""
    now = time.time()
    try:
        claimed = client.eval(
            _CLAIM_SLOT,
            1,
            sockets_key(subscriber.user_id),
            repr(now),
            repr(now + SOCKET_LEASE),
            max_sockets,
            subscriber.socket_id,
        )
    except redis.RedisError:
        log.warning("socket limit not enforced: Redis unavailable", exc_info=True)
        return True
    return bool(claimed)


def release_slot(client: redis.Redis, subscriber: Subscriber) -> None:
    try:
        client.zrem(sockets_key(subscriber.user_id), subscriber.socket_id)
    except redis.RedisError:
        log.warning("could not release a socket slot (it expires by itself)", exc_info=True)

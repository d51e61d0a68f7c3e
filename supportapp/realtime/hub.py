"""Per-process fan-out: one Redis stream reader feeds every WebSocket held by this process.

The reader starts lazily with the first socket, remembers the id of the last entry it has seen
and follows the stream from there (XREAD BLOCK), so it never skips an event, even across Redis
reconnects. Each socket has a bounded queue: a client too slow to drain it is flagged and closed
with OVERFLOW_CLOSE_CODE, telling it to reconnect with its last event id.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from dataclasses import dataclass, field

import redis

from supportapp.realtime.bus import EVENT_STREAM, StreamEvent, parse_entry

log = logging.getLogger(__name__)

OVERFLOW_CLOSE_CODE = 4409
CLIENT_BUFFER = 1000
READ_BLOCK_MS = 5000
READ_COUNT = 500


@dataclass(eq=False)
class Subscriber:
    """A connected socket as the hub sees it: who it is and its outgoing buffer."""

    user_id: str
    is_support: bool
    buffer: queue.Queue = field(default_factory=lambda: queue.Queue(maxsize=CLIENT_BUFFER))
    overflowed: bool = False
    key: str = field(default_factory=lambda: uuid.uuid4().hex)

    def may_see(self, event: StreamEvent) -> bool:
        return (self.is_support and event.to_support) or event.user_id == self.user_id

    def offer(self, event: StreamEvent) -> None:
        if self.overflowed or not self.may_see(event):
            return
        try:
            self.buffer.put_nowait(event)
        except queue.Full:
            self.overflowed = True


class Hub:
    def __init__(self) -> None:
        self._subscribers: dict[str, Subscriber] = {}
        self._lock = threading.Lock()
        self._reader: threading.Thread | None = None
        self._position: str | None = None
        self._started = threading.Event()
        self._redis_url: str | None = None

    # -- subscribers ---------------------------------------------------------------------

    def subscribe(self, subscriber: Subscriber, redis_url: str) -> None:
        """Register a socket. Returns once the reader has a concrete stream position, so an
        event added after this call reaches the subscriber live or through replay."""
        self._ensure_reader(redis_url)
        with self._lock:
            self._subscribers[subscriber.key] = subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        with self._lock:
            self._subscribers.pop(subscriber.key, None)

    @property
    def size(self) -> int:
        return len(self._subscribers)

    def _dispatch(self, events: list[StreamEvent]) -> None:
        with self._lock:
            subscribers = list(self._subscribers.values())
        for event in events:
            for subscriber in subscribers:
                subscriber.offer(event)

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
        self._started.wait(timeout=10)

    def _run(self) -> None:
        backoff = 0.5
        client: redis.Redis | None = None
        while True:
            try:
                if client is None:
                    client = redis.Redis.from_url(
                        self._redis_url,
                        decode_responses=True,
                        socket_timeout=READ_BLOCK_MS / 1000 + 5,
                        socket_connect_timeout=2,
                    )
                if self._position is None:
                    newest = client.xrevrange(EVENT_STREAM, count=1)
                    self._position = newest[0][0] if newest else "0-0"
                    self._started.set()
                reply = client.xread(
                    {EVENT_STREAM: self._position}, count=READ_COUNT, block=READ_BLOCK_MS
                )
                backoff = 0.5
                for _stream, entries in reply or []:
                    if entries:
                        self._position = entries[-1][0]
                        self._dispatch([parse_entry(entry) for entry in entries])
            except redis.RedisError:
                log.warning(
                    "event stream reader lost Redis; retrying in %.1fs", backoff, exc_info=True
                )
                client = None
                time.sleep(backoff)
                backoff = min(backoff * 2, 10)
                if self._position is None:
                    # Nothing to resume from yet: let subscribers proceed (replay covers them).
                    self._started.set()
            except Exception:  # keep the process's only reader alive whatever happens
                log.exception("event stream reader failed; restarting")
                time.sleep(backoff)


hub = Hub()

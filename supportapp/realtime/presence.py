"""Who has a staff WebSocket open, across every web process: socket counts kept in Redis.

Each web process counts its own open staff sockets per user and vouches for each such user
with one member of the sorted set PRESENCE_KEY ("<user id>|<process>"), scored with the time
until which the vouch holds: now + PRESENCE_GRACE_SECONDS. A heartbeat thread renews the
scores every third of the grace period while the process holds a socket of that user. When a
user's last local socket closes, the score is set one last time, so the user counts as
connected for the grace period (a page reload is not an absence); a process that crashes stops
renewing and its members run out the same way. Nothing is ever deleted to go offline.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterable

import redis

from supportapp.extensions import redis_client
from supportapp.realtime.bus import PRESENCE_KEY

log = logging.getLogger(__name__)

MIN_HEARTBEAT = 0.2


def connected_user_ids(client: redis.Redis | None = None) -> set[str]:
    """Ids of the users some web process vouches for now (raises redis.RedisError)."""
    client = client or redis_client.client
    members = client.zrangebyscore(PRESENCE_KEY, time.time(), "+inf")
    return {member.partition("|")[0] for member in members}


def vouch(user_ids: Iterable[str], process: str, grace: float, client=None) -> None:
    """Vouch for `user_ids` from `process` for the next `grace` seconds; forget vouches that
    ran out (so the set stays as small as the staff online)."""
    client = client or redis_client.client
    now = time.time()
    pipe = client.pipeline(transaction=False)
    pipe.zadd(PRESENCE_KEY, {f"{user_id}|{process}": now + grace for user_id in user_ids})
    pipe.zremrangebyscore(PRESENCE_KEY, "-inf", now)
    pipe.execute()


class SocketRegistry:
    """This process's open staff sockets, counted per user, and the heartbeat that vouches
    for them in Redis."""

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid: int | None = None
        self._process = ""
        self.grace = 30.0

    @property
    def process(self) -> str:
        """This process's name in Redis (a forked child gets its own)."""
        if self._pid != os.getpid():
            self._pid = os.getpid()
            self._process = f"{socket.gethostname()}:{self._pid}:{uuid.uuid4().hex[:8]}"
            self._counts = {}
            self._thread = None
        return self._process

    def open(self, user_id: str, grace: float) -> bool:
        """Count a staff socket of `user_id`; True when it is this process's first one. The
        vouch is written before returning, so a presence check right after sees the user."""
        with self._lock:
            process = self.process
            self.grace = float(grace)
            first = self._counts.get(user_id, 0) == 0
            self._counts[user_id] = self._counts.get(user_id, 0) + 1
            self._ensure_heartbeat()
        if first:
            self._safe_vouch([user_id], process)
        return first

    def close(self, user_id: str) -> None:
        """Uncount a socket; after the last one the user stays vouched for the grace period."""
        with self._lock:
            left = self._counts.get(user_id, 0) - 1
            if left > 0:
                self._counts[user_id] = left
                return
            self._counts.pop(user_id, None)
            process = self.process
        self._safe_vouch([user_id], process)

    def local_users(self) -> list[str]:
        with self._lock:
            return list(self._counts)

    def _safe_vouch(self, user_ids: list[str], process: str) -> None:
        try:
            vouch(user_ids, process, self.grace)
        except redis.RedisError:
            log.warning("could not record presence of %d user(s)", len(user_ids), exc_info=True)

    def _ensure_heartbeat(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(
                target=self._heartbeat, name="presence-heartbeat", daemon=True
            )
            self._thread.start()

    def _heartbeat(self) -> None:
        while True:
            time.sleep(max(self.grace / 3, MIN_HEARTBEAT))
            users = self.local_users()
            if users:
                self._safe_vouch(users, self.process)


registry = SocketRegistry()

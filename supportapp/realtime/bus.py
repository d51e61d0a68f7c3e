"""Publish events to the Redis stream every web process reads. All channel names live here.

An event is recorded in the outbox (PostgreSQL) by the transaction that causes it and appended
to the stream after COMMIT by `publish_once`, keyed by its outbox id: whoever publishes it (the
request right after COMMIT, or the relay later), it enters the stream once, under one id.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

import redis
from flask import current_app

from supportapp.extensions import redis_client
from supportapp.timestamps import now_iso

log = logging.getLogger(__name__)

EVENT_STREAM = "supportapp:events"
# Sorted set of "<user id>|<web process>" members, each scored with the epoch second until
# which that process vouches for an open staff socket of that user (realtime/presence.py).
PRESENCE_KEY = "supportapp:presence"


def ephemeral_channel(client: redis.Redis) -> str:
    """The pub/sub channel of ephemeral signals (typing). Pub/sub is not scoped by database
    number, so the channel carries it: deployments (and test runs) sharing one Redis server on
    different databases never hear each other."""
    return f"supportapp:ephemeral:{client.connection_pool.connection_kwargs.get('db', 0)}"


# outbox id -> stream id of an event already appended; kept long enough to outlive any row the
# relay may still hold (a row is deleted right after its publication is confirmed).
PUBLISHED_KEY = "supportapp:events:published:{}"
PUBLISHED_TTL_SECONDS = 6 * 3600

# KEYS: the stream, then one "published" key per event. ARGV: maxlen, ttl, then per event its
# field count and fields. An event whose key exists is not appended again; its id is returned.
_PUBLISH_ONCE = """
local ids = {}
local at = 3
for i = 2, #KEYS do
  local n = tonumber(ARGV[at])
  local known = redis.call('GET', KEYS[i])
  if known then
    ids[#ids + 1] = known
  else
    local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*',
                          unpack(ARGV, at + 1, at + n))
    redis.call('SET', KEYS[i], id, 'EX', ARGV[2])
    ids[#ids + 1] = id
  end
  at = at + n + 1
end
return ids
"""


@dataclass(frozen=True)
class Event:
    """`name` and `data` go to clients; `user_id`/`to_support` decide who may receive it."""

    name: str
    data: dict[str, Any]
    user_id: str | None = None
    to_support: bool = True
    timestamp: str = field(default_factory=now_iso)

    def to_fields(self) -> dict[str, str]:
        return {
            "event": self.name,
            "data": json.dumps(self.data, default=str, ensure_ascii=False),
            "user": self.user_id or "",
            "support": "1" if self.to_support else "0",
            "ts": self.timestamp,
        }


def publish_once(client: redis.Redis, entries: list[tuple[int, dict[str, str]]], maxlen: int):
    """Append each (outbox id, stream fields) not appended before, in order, atomically and in
    one round trip; return the stream id of every entry. Raises redis.RedisError."""
    if not entries:
        return []
    keys = [EVENT_STREAM, *(PUBLISHED_KEY.format(outbox_id) for outbox_id, _ in entries)]
    args: list[Any] = [maxlen, PUBLISHED_TTL_SECONDS]
    for _outbox_id, fields in entries:
        flat = [item for pair in fields.items() for item in pair]
        args.append(len(flat))
        args.extend(flat)
    return list(_script(client)(keys=keys, args=args))


def _script(client: redis.Redis):
    script = getattr(client, "_supportapp_publish_once", None)
    if script is None:
        script = client.register_script(_PUBLISH_ONCE)
        client._supportapp_publish_once = script
    return script


def event_stream_maxlen() -> int:
    return current_app.config.get("EVENT_STREAM_MAXLEN", 100_000)


# Entries that are instructions to the web processes, not events: addressed to no one, so no
# client receives them live or in a replay; the hub's reader acts on them (a revocation).
CONTROL_FIELD = "ctl"


def control_fields(payload: dict[str, Any]) -> dict[str, str]:
    return {
        "event": "",
        "data": "{}",
        "user": "",
        "support": "0",
        "ts": "",
        CONTROL_FIELD: json.dumps(payload, separators=(",", ":")),
    }


def control_of(fields: dict[str, str]) -> dict[str, Any] | None:
    """The instruction a stream entry carries, when it is a control entry."""
    raw = fields.get(CONTROL_FIELD)
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def publish(events: list[Event]) -> list[str]:
    """Append events to the stream directly, bypassing the outbox (tools and tests that inject
    events); return their ids ([] if Redis failed). Services emit through the unit of work."""
    if not events:
        return []
    maxlen = event_stream_maxlen()
    try:
        pipe = redis_client.client.pipeline(transaction=False)
        for event in events:
            pipe.xadd(EVENT_STREAM, event.to_fields(), maxlen=maxlen, approximate=True)
        return list(pipe.execute())
    except redis.RedisError:
        log.exception(
            "could not publish %d event(s)", len(events), extra={"events": [e.name for e in events]}
        )
        return []


@dataclass(frozen=True)
class Ephemeral:
    """A signal that is delivered live and then forgotten (typing): no id, never stored in the
    stream, never replayed. Goes over Redis pub/sub to every web process."""

    frame_json: str
    user_id: str = ""
    to_support: bool = False

    def to_message(self) -> str:
        return json.dumps(
            {"frame": self.frame_json, "user": self.user_id, "support": self.to_support}
        )

    @classmethod
    def from_message(cls, raw: str) -> Ephemeral | None:
        try:
            value = json.loads(raw)
            return cls(str(value["frame"]), str(value["user"]), bool(value["support"]))
        except (TypeError, ValueError, KeyError):
            return None


def publish_ephemeral(signal: Ephemeral) -> None:
    """Hand `signal` to every web process now; lost if Redis is down (it is only a hint)."""
    try:
        client = redis_client.client
        client.publish(ephemeral_channel(client), signal.to_message())
    except redis.RedisError:
        log.warning("could not publish an ephemeral signal", exc_info=True)


@dataclass(frozen=True)
class StreamEvent:
    """An event as read back from the stream, with its id."""

    id: str
    name: str
    data_json: str
    user_id: str
    to_support: bool
    timestamp: str

    def frame(self) -> str:
        """The JSON text sent to clients; `data` is embedded without re-encoding."""
        return (
            f'{{"id": {json.dumps(self.id)}, "event": {json.dumps(self.name)}, '
            f'"data": {self.data_json}, "timestamp": {json.dumps(self.timestamp)}}}'
        )


def parse_entry(entry: tuple[str, dict[str, str]]) -> StreamEvent:
    entry_id, fields = entry
    return StreamEvent(
        id=entry_id,
        name=fields.get("event", ""),
        data_json=fields.get("data", "{}"),
        user_id=fields.get("user", ""),
        to_support=fields.get("support") == "1",
        timestamp=fields.get("ts", ""),
    )


class ReplayGap(Exception):
    """The requested id is older than what the stream still holds."""


def stream_id_key(entry_id: str) -> tuple[int, int]:
    millis, _, seq = entry_id.partition("-")
    return int(millis), int(seq or 0)


def valid_stream_id(value: str) -> bool:
    try:
        stream_id_key(value)
    except ValueError:
        return False
    return True


def replay_after(client: redis.Redis, last_id: str, batch: int = 500):
    """Yield every event after `last_id`, oldest first. Raises ReplayGap when entries after
    `last_id` may have been trimmed away (the id is older than the oldest one kept)."""
    oldest = client.xrange(EVENT_STREAM, count=1)
    newest = client.xrevrange(EVENT_STREAM, count=1)
    wanted = stream_id_key(last_id)
    # An empty stream or an id from the future means the stream was reset (e.g. Redis lost its
    # data); an id older than the oldest entry means entries after it may have been trimmed.
    if not oldest or stream_id_key(oldest[0][0]) > wanted or stream_id_key(newest[0][0]) < wanted:
        raise ReplayGap(last_id)
    cursor = f"({last_id}"
    while True:
        entries = client.xrange(EVENT_STREAM, min=cursor, count=batch)
        for entry in entries:
            yield parse_entry(entry)
        if len(entries) < batch:
            return
        cursor = f"({entries[-1][0]}"

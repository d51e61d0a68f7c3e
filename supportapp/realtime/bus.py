"""Publish events to the Redis stream every web process reads. All channel names live here.

An event is published only after the transaction that caused it has committed; when Redis is
down the failure is logged and the request still succeeds (PostgreSQL holds the truth).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import redis
from flask import current_app

from supportapp.extensions import redis_client

log = logging.getLogger(__name__)

EVENT_STREAM = "supportapp:events"


@dataclass(frozen=True)
class Event:
    """`name` and `data` go to clients; `user_id`/`to_support` decide who may receive it."""

    name: str
    data: dict[str, Any]
    user_id: str | None = None
    to_support: bool = True
    timestamp: str = field(
        default_factory=lambda: (
            datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        )
    )

    def to_fields(self) -> dict[str, str]:
        return {
            "event": self.name,
            "data": json.dumps(self.data, default=str, ensure_ascii=False),
            "user": self.user_id or "",
            "support": "1" if self.to_support else "0",
            "ts": self.timestamp,
        }


def publish(events: list[Event]) -> list[str]:
    """Append events to the stream in one round trip; return their ids ([] if Redis failed)."""
    if not events:
        return []
    maxlen = current_app.config.get("EVENT_STREAM_MAXLEN", 100_000)
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

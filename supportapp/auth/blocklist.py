"""Revoked tokens, kept in Redis until they would have expired anyway."""

from __future__ import annotations

import logging
import time
from typing import Any

import redis

from supportapp.extensions import redis_client

log = logging.getLogger(__name__)

_PREFIX = "supportapp:revoked:"


def revoke(claims: dict[str, Any]) -> None:
    ttl = max(int(claims.get("exp", time.time() + 3600) - time.time()), 1)
    redis_client.client.set(_PREFIX + claims["jti"], "1", ex=ttl)


def is_revoked(claims: dict[str, Any]) -> bool:
    """Without Redis the blocklist cannot be read; the token's signature and expiry still hold,
    so it is accepted (and the outage logged) rather than failing every request."""
    jti = claims.get("jti")
    if not jti:
        return False
    try:
        return bool(redis_client.client.exists(_PREFIX + jti))
    except redis.RedisError:
        log.warning("token blocklist unavailable: Redis unreachable", exc_info=True)
        return False

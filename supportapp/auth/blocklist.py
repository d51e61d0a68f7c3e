"""Revoked tokens, kept in Redis until they would have expired anyway."""

from __future__ import annotations

import time
from typing import Any

from supportapp.extensions import redis_client

_PREFIX = "supportapp:revoked:"


def revoke(claims: dict[str, Any]) -> None:
    ttl = max(int(claims.get("exp", time.time() + 3600) - time.time()), 1)
    redis_client.client.set(_PREFIX + claims["jti"], "1", ex=ttl)


def is_revoked(claims: dict[str, Any]) -> bool:
    jti = claims.get("jti")
    if not jti:
        return False
    return bool(redis_client.client.exists(_PREFIX + jti))

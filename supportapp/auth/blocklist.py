"""Revoked tokens, kept in Redis until they would have expired anyway.

Two kinds of revocation, read in one round trip: one token (its `jti`, on logout) and every
token of a subject issued up to a moment (its `sub`, when the user's data is erased). A token
without `exp` or `jti` cannot expire or be revoked, so it is refused outright.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterable
from typing import Any

import redis
from flask import current_app

from supportapp.extensions import redis_client

log = logging.getLogger(__name__)

_PREFIX = "supportapp:revoked:"
_SUBJECT_PREFIX = "supportapp:revoked-sub:"
# Tokens of an external issuer have lifetimes this service does not set: a subject stays
# revoked at least this long, and at least as long as this service's own tokens live.
_MIN_SUBJECT_TTL = 7 * 24 * 3600


def revoke(claims: dict[str, Any]) -> None:
    ttl = max(int(claims.get("exp", time.time() + 3600) - time.time()), 1)
    redis_client.client.set(_PREFIX + claims["jti"], "1", ex=ttl)


def revoke_subjects(subjects: Iterable[str], at: float | None = None) -> None:
    """Every token of these subjects issued at or before `at` (default now) stops working."""
    moment = str(math.ceil(at if at is not None else time.time()))
    config = current_app.config
    ttl = max(_MIN_SUBJECT_TTL, config["JWT_ACCESS_TTL"], config["JWT_REFRESH_TTL"]) + 60
    pipe = redis_client.client.pipeline(transaction=False)
    for subject in subjects:
        pipe.set(_SUBJECT_PREFIX + subject, moment, ex=ttl)
    pipe.execute()


def is_revoked(claims: dict[str, Any]) -> bool:
    """Without Redis the blocklist cannot be read; the token's signature and expiry still hold,
    so it is accepted (and the outage logged) rather than failing every request."""
    jti = claims.get("jti")
    if not jti or claims.get("exp") is None:
        return True
    try:
        revoked_jti, subject_cutoff = redis_client.client.mget(
            _PREFIX + str(jti), _SUBJECT_PREFIX + str(claims.get("sub"))
        )
    except redis.RedisError:
        log.warning("token blocklist unavailable: Redis unreachable", exc_info=True)
        return False
    if revoked_jti is not None:
        return True
    if subject_cutoff is None:
        return False
    issued_at = claims.get("iat")
    return not isinstance(issued_at, int | float) or issued_at <= int(subject_cutoff)

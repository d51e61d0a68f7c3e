"""Revoked tokens, and the one Redis round trip every authenticated request makes.

Three kinds of revocation, each a Redis key that expires when the tokens it covers would have
expired anyway:

- one token (`jti`): a token of an external issuer presented to logout;
- one login (`lid` claim): the access and refresh tokens issued together at login, and the
  access tokens later minted from that refresh token — what logout revokes;
- one user before a moment (milliseconds): every token of the user issued earlier — logout-all,
  a role change, an admin deactivating the user's agent profile, the user's data erased.

A token without `exp` or `jti` cannot expire or be revoked, so it is refused outright.

`check()` reads all three and, in the same Lua script, spends the per-user rate limits of the
endpoint being called (moving windows in the same keys and format as `limits`' Redis storage,
so flask-limiter's strategy reads them back): one round trip per request, however many rules
apply. Every revocation is also announced on the event stream so each web process closes the
WebSockets it covers (realtime/hub.py).

Without Redis nothing can be read: tokens are accepted on their signature and expiry alone and
limits are not enforced (fail open, logged); docs/operations.md says what that means.
"""

from __future__ import annotations

import logging
import math
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import redis
from flask import current_app

from supportapp.extensions import redis_client
from supportapp.realtime.bus import EVENT_STREAM, control_fields, event_stream_maxlen

log = logging.getLogger(__name__)

_TOKEN = "supportapp:revoked:"
_LOGIN = "supportapp:revoked-login:"
_BEFORE = "supportapp:revoked-before:"

# Tokens of an external issuer have lifetimes this service does not set: a user stays
# revoked at least this long, and at least as long as this service's own tokens live.
_MIN_SUBJECT_TTL = 7 * 24 * 3600

LOGIN_CLAIM = "lid"
ISSUED_MS_CLAIM = "ims"

# KEYS: the token, the login, the user's cut-off, then one moving-window list per limit.
# ARGV: the token's issue time (ms), now (s), then limit, window (s), cost per limit.
# Limits are all checked before any is spent: a refused request spends nothing.
_SCRIPT = """
if redis.call('exists', KEYS[1], KEYS[2]) > 0 then return {1} end
local before = redis.call('get', KEYS[3])
if before and tonumber(before) > tonumber(ARGV[1]) then return {1} end
local now = tonumber(ARGV[2])
for i = 4, #KEYS do
  local base = 3 + (i - 4) * 3
  local limit, expiry, cost = tonumber(ARGV[base]), tonumber(ARGV[base + 1]),
    tonumber(ARGV[base + 2])
  if cost > limit then return {0, i - 3, tostring(expiry)} end
  if cost > 0 then
    local entry = redis.call('lindex', KEYS[i], limit - cost)
    if entry and tonumber(entry) >= now - expiry then
      return {0, i - 3, tostring(tonumber(entry) + expiry - now)}
    end
  end
end
for i = 4, #KEYS do
  local base = 3 + (i - 4) * 3
  local limit, expiry, cost = tonumber(ARGV[base]), tonumber(ARGV[base + 1]),
    tonumber(ARGV[base + 2])
  for _ = 1, cost do redis.call('lpush', KEYS[i], ARGV[2]) end
  if cost > 0 then
    redis.call('ltrim', KEYS[i], 0, limit - 1)
    redis.call('expire', KEYS[i], expiry)
  end
end
return {0, 0}
"""


@dataclass(frozen=True)
class LimitHit:
    """One moving-window hit to spend: the storage key, the allowance per window, the window
    in seconds and how many units this request costs (0 = checked for nothing, spends none)."""

    key: str
    limit: int
    window: int
    cost: int = 1


@dataclass(frozen=True)
class Verdict:
    revoked: bool = False
    refused: int | None = None  # index in the hits of the limit that refused the request
    retry_after: int = 0


def issued_ms(claims: dict[str, Any]) -> int:
    """When a token was issued, in ms: our own claim, else the standard `iat` (seconds)."""
    value = claims.get(ISSUED_MS_CLAIM)
    if isinstance(value, int):
        return value
    return int(claims.get("iat") or 0) * 1000


def new_login_id() -> str:
    return uuid.uuid4().hex


def check(claims: dict[str, Any], hits: list[LimitHit] | tuple[LimitHit, ...] = ()) -> Verdict:
    """Whether the token is revoked and, if not, whether `hits` fit their limits (spent when
    they do) — in one round trip. Redis unreachable → accepted and unlimited, logged."""
    if not claims.get("jti") or claims.get("exp") is None:
        return Verdict(revoked=True)
    jti = str(claims["jti"])
    keys = [
        _TOKEN + jti,
        _LOGIN + str(claims.get(LOGIN_CLAIM) or "-"),
        _BEFORE + str(claims.get("sub") or "-"),
    ]
    args: list[Any] = [issued_ms(claims), repr(time.time())]
    for hit in hits:
        keys.append(hit.key)
        args.extend((hit.limit, hit.window, hit.cost))
    try:
        client = redis_client.client
        reply = _script(client)(keys=keys, args=args, client=client)
    except redis.RedisError:
        log.warning("token blocklist and rate limits unavailable: Redis unreachable", exc_info=True)
        return Verdict()
    if reply[0] == 1:
        return Verdict(revoked=True)
    if reply[1]:
        wait = float(reply[2])
        return Verdict(refused=int(reply[1]) - 1, retry_after=max(1, math.ceil(wait)))
    return Verdict()


def is_revoked(claims: dict[str, Any]) -> bool:
    return check(claims).revoked


def revoke_login(claims: dict[str, Any]) -> None:
    """Logout: the presented token and every token of the same login (the access/refresh pair
    and access tokens refreshed from it). A token naming neither (an external issuer's without
    `jti`) can only be revoked with all of the user's earlier tokens. Raises redis.RedisError
    when it cannot be recorded."""
    token_id, login_id = claims.get("jti"), claims.get(LOGIN_CLAIM)
    if not token_id and not login_id:
        revoke_user(str(claims.get("sub")), "logout of a token without jti")
        return
    now = time.time()
    pipe = redis_client.client.pipeline(transaction=False)
    if token_id:
        pipe.set(_TOKEN + token_id, "1", ex=max(int(claims.get("exp", now + 3600) - now), 1))
    if login_id:
        pipe.set(_LOGIN + str(login_id), "1", ex=_longest_token_life())
    _announce(pipe, {"user": str(claims.get("sub")), "login": login_id, "token": token_id})
    pipe.execute()


def revoke_user(user_id: uuid.UUID | str, reason: str) -> None:
    """Every token of the user issued until now (logout-all, role change, deactivation).
    Raises redis.RedisError when it cannot be recorded."""
    revoke_subjects([str(user_id)], reason=reason)


def revoke_subjects(
    subjects: Iterable[str], at: float | None = None, *, reason: str = "erased"
) -> None:
    """Every token of these subjects issued at or before `at` (default now) stops working, and
    their sockets close. Raises redis.RedisError when it cannot be recorded."""
    subjects = [str(subject) for subject in subjects]
    moment_ms = math.ceil((at if at is not None else time.time()) * 1000) + 1
    config = current_app.config
    ttl = max(_MIN_SUBJECT_TTL, config["JWT_ACCESS_TTL"], config["JWT_REFRESH_TTL"]) + 60
    pipe = redis_client.client.pipeline(transaction=False)
    for subject in subjects:
        pipe.set(_BEFORE + subject, moment_ms, ex=ttl)
        _announce(pipe, {"user": subject, "before": moment_ms, "reason": reason})
    pipe.execute()
    log.info("tokens of %s revoked (%s)", ", ".join(subjects), reason)


def _announce(pipe: redis.client.Pipeline, revocation: dict[str, Any]) -> None:
    """Tell every web process (through the stream their readers already follow) to close the
    sockets this revocation covers."""
    pipe.xadd(
        EVENT_STREAM,
        control_fields({"revoke": revocation}),
        maxlen=event_stream_maxlen(),
        approximate=True,
    )


def _longest_token_life() -> int:
    config = current_app.config
    return max(int(config["JWT_REFRESH_TTL"]), int(config["JWT_ACCESS_TTL"]))


_scripts: dict[int, Any] = {}


def _script(client: redis.Redis):
    """The registered script (its SHA computed once per client): EVALSHA, and EVAL only the
    first time a Redis server has not seen it."""
    script = _scripts.get(id(client))
    if script is None:
        script = _scripts[id(client)] = client.register_script(_SCRIPT)
    return script

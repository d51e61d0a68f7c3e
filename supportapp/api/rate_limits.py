"""Rate limits whose key is known only inside the view: the authenticated user, the email.

flask-limiter owns the Redis storage and the strategy (moving window); these decorators ask it
directly, after authentication, so every web process shares the same counters.
"""

from __future__ import annotations

import functools
import logging
import math
import time
from collections.abc import Callable
from typing import Any

import redis
from flask import current_app, request
from limits import parse

from supportapp.auth.actor import current_actor
from supportapp.errors import MSG_TOO_MANY_MESSAGES, MSG_TOO_MANY_REQUESTS, RateLimited
from supportapp.extensions import limiter

log = logging.getLogger(__name__)


def enforce(setting: str, scope: str, key: str, message: str) -> None:
    """Count one hit of `key` against the limit named by config `setting`; 429 when over it."""
    item = parse(current_app.config[setting])
    strategy = limiter.limiter
    try:
        allowed = strategy.hit(item, scope, key)
        if not allowed:
            reset_at, _remaining = strategy.get_window_stats(item, scope, key)
    except redis.RedisError:
        # PostgreSQL is the truth and the request is valid: without Redis we serve unlimited
        # rather than fail, and say so in the logs.
        log.warning("rate limit %s not enforced: Redis unavailable", scope, exc_info=True)
        return
    if not allowed:
        raise RateLimited(message, retry_after=max(1, math.ceil(reset_at - time.time())))


def rate_limited(setting: str, scope: str, keys: Callable[[], list[str]], message: str):
    def decorator(func: Callable) -> Callable:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            for key in keys():
                enforce(setting, scope, key, message)
            return func(*args, **kwargs)

        return wrapper

    return decorator


def _client_ip() -> str:
    return request.remote_addr or "unknown"


def _login_keys() -> list[str]:
    body = request.get_json(silent=True)
    email = body.get("email") if isinstance(body, dict) else None
    keys = [f"ip:{_client_ip()}"]
    if isinstance(email, str) and email.strip():
        keys.append(f"email:{email.strip().lower()}")
    return keys


login_limits = rate_limited("LOGIN_RATE_LIMIT", "login", _login_keys, MSG_TOO_MANY_REQUESTS)
register_limit = rate_limited(
    "REGISTER_RATE_LIMIT", "register", lambda: [f"ip:{_client_ip()}"], MSG_TOO_MANY_REQUESTS
)

guest_limit = rate_limited(
    "GUEST_RATE_LIMIT", "guest", lambda: [f"ip:{_client_ip()}"], MSG_TOO_MANY_REQUESTS
)


def _message_keys() -> list[str]:
    return [str(current_actor().user_id)]


# One budget per user shared by user messages, support messages and opening messages.
message_limit = rate_limited("MESSAGE_RATE_LIMIT", "messages", _message_keys, MSG_TOO_MANY_MESSAGES)


def spend_message_budget() -> None:
    """Count one message for a view that writes a message only sometimes (opening a session)."""
    for key in _message_keys():
        enforce("MESSAGE_RATE_LIMIT", "messages", key, MSG_TOO_MANY_MESSAGES)

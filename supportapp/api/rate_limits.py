"""Rate limits, all in Redis and shared by every web process.

- Keyed by the client address or the email (login, register): flask-limiter's shared limits,
  with its storage (RATELIMIT_STORAGE_URI/OPTIONS), error messages and fail-open
  (RATELIMIT_SWALLOW_ERRORS). Our 429 handler adds Retry-After (errors.py).
- Keyed by the authenticated user (messages, opening sessions): declared here with `per_user`,
  but spent by the token check itself (auth/blocklist.py: check), in the one Lua script that
  also reads the blocklist. flask-limiter can only make its own Redis calls, so using it here
  would be a second round trip on every limited request (docs/decisions.md, "One Redis round
  trip per request"). The windows are `limits`' moving windows in its storage and key format,
  so flask-limiter's strategy reads and clears them like its own.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import current_app, g, request
from flask_jwt_extended import get_jwt
from limits import parse

from supportapp.auth import blocklist
from supportapp.auth.blocklist import LimitHit
from supportapp.errors import (
    MSG_TOO_MANY_MESSAGES,
    MSG_TOO_MANY_REQUESTS,
    MSG_TOO_MANY_SESSIONS,
    RateLimited,
)
from supportapp.extensions import limiter
from supportapp.services.sessions import opening_message_cost

# --- by address or email: flask-limiter ------------------------------------------------------


def _client_ip() -> str:
    return request.remote_addr or "unknown"


def _login_email() -> str:
    body = request.get_json(silent=True)
    email = body.get("email") if isinstance(body, dict) else None
    return email.strip().lower() if isinstance(email, str) else ""


def _config_limit(setting: str) -> Callable[[], str]:
    return lambda: current_app.config[setting]


def _shared(setting: str, scope: str, key: Callable[[], str], **options: Any):
    return limiter.shared_limit(
        _config_limit(setting),
        scope,
        key_func=key,
        error_message=MSG_TOO_MANY_REQUESTS,
        **options,
    )


def login_limits(view: Callable) -> Callable:
    """LOGIN_RATE_LIMIT per client address and, when the body names one, per email."""
    by_email = _shared(
        "LOGIN_RATE_LIMIT",
        "login",
        lambda: f"email:{_login_email()}",
        exempt_when=lambda: not _login_email(),
    )
    by_address = _shared("LOGIN_RATE_LIMIT", "login", lambda: f"ip:{_client_ip()}")
    return by_address(by_email(view))


register_limit = _shared("REGISTER_RATE_LIMIT", "register", lambda: f"ip:{_client_ip()}")
guest_limit = _shared("GUEST_RATE_LIMIT", "guest", lambda: f"ip:{_client_ip()}")


# --- by user: spent with the token check -------------------------------------------------------


@dataclass(frozen=True)
class UserLimit:
    setting: str
    scope: str
    message: str
    cost: Callable[[], int] = lambda: 1

    def hit(self, user_id: str) -> LimitHit:
        item = parse(current_app.config[self.setting])
        key = limiter.limiter.storage.prefixed_key(item.key_for(self.scope, user_id))
        return LimitHit(key=key, limit=item.amount, window=item.get_expiry(), cost=self.cost())


def _opening_message_cost() -> int:
    body = request.get_json(silent=True)
    return opening_message_cost(body.get("message") if isinstance(body, dict) else None)


# One budget per user shared by user messages, support messages and opening messages.
MESSAGES = UserLimit("MESSAGE_RATE_LIMIT", "messages", MSG_TOO_MANY_MESSAGES)
OPENING_MESSAGE = UserLimit(
    "MESSAGE_RATE_LIMIT", "messages", MSG_TOO_MANY_MESSAGES, _opening_message_cost
)
SESSION_OPENING = UserLimit("SESSION_OPEN_RATE_LIMIT", "session-open", MSG_TOO_MANY_SESSIONS)


def per_user(*limits: UserLimit) -> Callable[[Callable], Callable]:
    """Declare the per-user limits of a view that requires an access token. The token check
    spends them (auth/__init__.py: token_is_revoked reads `user_limits`); the view answers
    429 with Retry-After when one refused the request."""

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            verdict = g.get("token_verdict")
            if verdict is None:  # the token was not checked through the loader: check it now
                claims = get_jwt()
                verdict = blocklist.check(claims, [lim.hit(claims["sub"]) for lim in limits])
            if verdict.refused is not None:
                raise RateLimited(limits[verdict.refused].message, verdict.retry_after)
            return view(*args, **kwargs)

        wrapper.user_limits = limits  # outer functools.wraps copy it
        return wrapper

    return decorator


message_limit = per_user(MESSAGES)
opening_limits = per_user(SESSION_OPENING, OPENING_MESSAGE)

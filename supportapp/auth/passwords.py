"""Password hashing with Argon2id."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
# Verified against when the email is unknown, so both failures cost the same time.
_DUMMY_HASH = _hasher.hash("not-a-real-password")

T = TypeVar("T")


def _off_the_event_loop(func: Callable[..., T], *args: str) -> T:
    """Run a hash (tenths of a second of C code) where it stalls no one.

    Under gunicorn's gevent worker every request and WebSocket of the process shares one OS
    thread: a hash run there would freeze them all. gevent's thread pool runs it on a real
    thread instead (argon2 releases the GIL) while the greenlet waits. Elsewhere: a plain call.
    """
    monkey = sys.modules.get("gevent.monkey")
    if monkey is not None and monkey.is_module_patched("threading"):
        import gevent

        return gevent.get_hub().threadpool.apply(func, args)
    return func(*args)


def hash_password(password: str) -> str:
    return _off_the_event_loop(_hasher.hash, password)


def _verify(password_hash: str, password: str) -> bool:
    # Failures are answered here, on the hashing thread: gevent's pool would log each one.
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def verify_password(password_hash: str | None, password: str) -> bool:
    verified = _off_the_event_loop(_verify, password_hash or _DUMMY_HASH, password)
    return verified and bool(password_hash)

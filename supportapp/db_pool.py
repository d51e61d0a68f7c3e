"""Pooled PostgreSQL connections checked for life without a round trip.

SQLAlchemy's `pool_pre_ping` sends `SELECT 1` on every checkout: one round trip per request
(two for a write whose outbox rows are deleted afterwards) to guard against what is rare — a
connection the server closed while it sat in the pool. Instead, on checkout the connection's
socket is polled with a zero timeout: an idle PostgreSQL connection has nothing to read unless
the server wrote to it on its own, which it does when it closes it (a restart, a terminated
backend, `idle_session_timeout`: an error message, then end of file). Such a connection is
refused with a DisconnectionError, which makes the pool drop every connection opened before it
and check out a fresh one — the one retry. `pool_recycle` bounds how long a connection lives,
for what a poll cannot see (a middlebox that forgets an idle connection silently): such a
connection fails its first statement, which invalidates the pool and answers 503 with
Retry-After like any unavailable database (supportapp/errors.py).
"""

from __future__ import annotations

import select
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError

# Seconds a pooled connection is reused before it is replaced by a new one.
POOL_RECYCLE_SECONDS = 300

_READABLE = select.POLLIN | select.POLLPRI | select.POLLERR | select.POLLHUP


def install(engine: Engine) -> None:
    """Check every connection `engine`'s pool hands out (create_app, for each bind)."""
    event.listen(engine, "checkout", _refuse_dropped)


def dropped(dbapi_connection: Any) -> bool:
    """Whether the server closed (or wrote unasked to) this idle psycopg2 connection."""
    if dbapi_connection.closed:
        return True
    # gevent's poll under gunicorn's gevent workers, the kernel's otherwise: no FD_SETSIZE limit.
    poller = select.poll()
    poller.register(dbapi_connection.fileno(), _READABLE)
    return bool(poller.poll(0))


def _refuse_dropped(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    if dropped(dbapi_connection):
        # invalidate_pool: a restart closed every connection of the pool, not just this one.
        error = DisconnectionError("PostgreSQL closed this pooled connection")
        error.invalidate_pool = True
        raise error

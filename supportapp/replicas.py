"""Reads on replicas: `@replica_reads` sends a read endpoint's queries to a streaming replica
of DATABASE_REPLICA_URL that is up and at most DATABASE_REPLICA_MAX_LAG_SECONDS behind, and
to the primary otherwise (docs/operations.md, "Reads on replicas").

Routing happens in the session (`RoutingSession.get_bind`): inside `replica_reads`, the
session's reads go to the chosen replica's engine (a Flask-SQLAlchemy bind, config.py
`replica_binds`); a flush, INSERT/UPDATE/DELETE, SELECT … FOR UPDATE, and everything after a
write in the same transaction stay on the primary. Each process checks each replica's replay
lag at most once per CHECK_INTERVAL, in the request that finds the figure stale; a replica
that failed is tried again after DOWN_RETRY. A read that fails on a replica (stopped,
restarted, a recovery conflict) is run again on the primary, so the client sees no error.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import itertools
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import Flask, current_app
from flask_sqlalchemy.session import Session
from sqlalchemy import event, exc
from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)

CHECK_INTERVAL = 1.0
DOWN_RETRY = 5.0
# The replica's delay behind the primary, in seconds: 0 while it has replayed everything it
# received and is streaming; otherwise the time since the last transaction it replayed was
# committed (an upper bound of how stale it is; NULL = unknown, treated as too far behind).
LAG_QUERY = sa.text(
    "SELECT pg_is_in_recovery(), CASE"
    " WHEN NOT pg_is_in_recovery() THEN NULL"
    " WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn()"
    "  AND EXISTS (SELECT 1 FROM pg_stat_wal_receiver) THEN 0"
    " ELSE EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())::float8 END"
)
# Errors after which a read is run again on the primary: the replica's connection failed or
# the replica cancelled the query (a conflict with recovery).
RETRY_ON_PRIMARY = (exc.OperationalError, exc.InterfaceError, exc.DisconnectionError)

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class _Route:
    """The replica the current `replica_reads` block reads from; `used` once a query went."""

    replica: Replica
    engine: Engine
    used: bool = False


_route: contextvars.ContextVar[_Route | None] = contextvars.ContextVar(
    "replica_route", default=None
)


def _is_read(clause: Any) -> bool:
    if clause is None or isinstance(clause, sa.sql.dml.UpdateBase):
        return False
    if isinstance(clause, sa.sql.Select):
        return clause._for_update_arg is None
    if isinstance(clause, sa.TextClause):
        words = clause.text.split(None, 1)
        return bool(words) and words[0].upper() in ("SELECT", "WITH")
    return isinstance(clause, sa.sql.selectable.Selectable)


class RoutingSession(Session):
    """Flask-SQLAlchemy's session, reading from a replica inside `replica_reads`."""

    _wrote = False

    def get_bind(self, mapper: Any = None, clause: Any = None, bind: Any = None, **kwargs: Any):
        if bind is None:
            reads = not self._flushing and _is_read(clause)
            route = _route.get()
            if route is not None and reads and not self._wrote:
                route.used = True
                return route.engine
            if not reads:  # read your own write: the rest of the transaction stays here
                self._wrote = True
        return super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)


@event.listens_for(RoutingSession, "after_transaction_end")
def _transaction_ended(session: RoutingSession, transaction: Any) -> None:
    if transaction.parent is None:
        session._wrote = False


@dataclass(eq=False)
class Replica:
    """One replica as this process last saw it."""

    key: str
    max_lag: float
    usable: bool = False
    lag: float | None = None
    next_check: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def check(self, engine: Engine) -> bool:
        """Whether reads may go here; the lag is re-read when the last figure is stale (by
        one caller at a time: the others go by the last figure meanwhile)."""
        if time.monotonic() >= self.next_check and self._lock.acquire(blocking=False):
            try:
                self._probe(engine)
            finally:
                self._lock.release()
        return self.usable

    def _probe(self, engine: Engine) -> None:
        from supportapp.telemetry import REPLICA_LAG

        try:
            with engine.connect() as connection:
                standby, lag = connection.execute(LAG_QUERY).one()
        except exc.SQLAlchemyError as error:
            self.mark_down(error)
            return
        was = self.usable
        self.lag = lag
        self.usable = bool(standby) and lag is not None and lag <= self.max_lag
        self.next_check = time.monotonic() + CHECK_INTERVAL
        REPLICA_LAG.labels(self.key).set(-1 if lag is None else lag)
        if was != self.usable:
            state = "in use" if self.usable else "skipped" if standby else "not a standby: skipped"
            log.log(
                logging.INFO if self.usable else logging.WARNING,
                "replica %s %s (lag %s s, bound %s s)",
                self.key,
                state,
                lag,
                self.max_lag,
            )

    def mark_down(self, error: BaseException) -> None:
        if self.usable or self.next_check == 0.0:
            reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
            log.warning("replica %s unavailable, reads go to the primary: %s", self.key, reason)
        self.usable = False
        self.lag = None
        self.next_check = time.monotonic() + DOWN_RETRY


class ReplicaSet:
    """The app's replicas (its `replica-*` binds), chosen in turn among the usable ones."""

    def __init__(self, app: Flask) -> None:
        max_lag = app.config["DATABASE_REPLICA_MAX_LAG_SECONDS"]
        keys = sorted(
            k for k in app.config.get("SQLALCHEMY_BINDS") or {} if k.startswith("replica-")
        )
        self.replicas = [Replica(key, max_lag) for key in keys]
        self._turn = itertools.count()

    def choose(self) -> tuple[Replica, Engine] | None:
        if not self.replicas:
            return None
        from supportapp.extensions import db

        engines = db.engines
        start = next(self._turn)
        for n in range(len(self.replicas)):
            replica = self.replicas[(start + n) % len(self.replicas)]
            engine = engines[replica.key]
            if replica.check(engine):
                return replica, engine
        return None


_sets_lock = threading.Lock()


def replica_set(app: Flask | None = None) -> ReplicaSet:
    app = app or current_app._get_current_object()
    found = app.extensions.get("supportapp-replicas")
    if found is None:
        with _sets_lock:
            found = app.extensions.setdefault("supportapp-replicas", ReplicaSet(app))
    return found


@contextlib.contextmanager
def reading_from_replica() -> Iterator[bool]:
    """The block's reads go to a usable replica (yields True) or to the primary (yields
    False) when there is none. No retry here: a failing replica query raises (replica_reads
    runs a function again on the primary)."""
    if _route.get() is not None:  # nested: the outer block decides
        yield True
        return
    chosen = replica_set().choose()
    if chosen is None:
        yield False
        return
    token = _route.set(_Route(*chosen))
    try:
        yield True
    finally:
        _route.reset(token)


def replica_reads(func: F) -> F:
    """Decorate a read-only function (a route or a service call): its queries go to a usable
    replica; when that fails, it runs again on the primary. Without replicas it just runs."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from supportapp.telemetry import REPLICA_READS

        replicas = replica_set()
        if not replicas.replicas or _route.get() is not None:  # none, or nested in another
            return func(*args, **kwargs)
        chosen = replicas.choose()
        if chosen is None:
            REPLICA_READS.labels("primary").inc()
            return func(*args, **kwargs)
        route = _Route(*chosen)
        token = _route.set(route)
        try:
            result = func(*args, **kwargs)
            REPLICA_READS.labels("replica" if route.used else "primary").inc()
            return result
        except RETRY_ON_PRIMARY as error:
            if not route.used:
                raise
            route.replica.mark_down(error)
            log.warning(
                "a read failed on replica %s; running it on the primary: %s",
                route.replica.key,
                type(error).__name__,
            )
        finally:
            _route.reset(token)
        from supportapp.extensions import db

        db.session.rollback()
        REPLICA_READS.labels("primary").inc()
        return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]

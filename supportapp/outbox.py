"""The transactional outbox: every event and job of a change is recorded in PostgreSQL by the
change's own transaction, handed to Redis right after COMMIT, and relayed later if that failed.

- `record` (inside the transaction) inserts the entries and tells whether an older entry with
  the same ordering key (the same session, the same agent) is still waiting: then this one must
  not overtake it (`deliver` re-checks for a moment, then leaves it to the relay).
- `deliver` (right after COMMIT: the fast path) publishes the events with `bus.publish_once` and
  sends the jobs; the rows it handed over are deleted by the process's next `record` or, a
  moment later, by its relay thread (at once where no relay runs). It publishes nothing while
  Redis is known to be failing (`redis_client.healthy()`), so an outage costs one request one
  timeout.
- `relay_once` publishes, oldest first, whatever is older than RELAY_GRACE_SECONDS, under an
  advisory lock so that one relay works at a time, and deletes what Redis took. `Relay` runs
  it in a loop in a daemon thread of each web process (docs/decisions.md, "Durable events").

An event is appended to the stream at most once whoever publishes it (its outbox id keys it in
Redis), so a client never sees one event under two ids; a job is sent at least once (every job
is idempotent) with the task id `outbox-<id>`.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import orjson
import redis
from flask import Flask, current_app
from psycopg2.extras import Json
from sqlalchemy import text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from supportapp import jobs
from supportapp.extensions import db, redis_client
from supportapp.models import AuditLog
from supportapp.realtime import bus

log = logging.getLogger(__name__)

EVENT = "event"
TASK = "task"
RELAY_INTERVAL_SECONDS = 0.5
# Rows younger than this are left to the request that wrote them (it publishes them at once).
RELAY_GRACE_SECONDS = 1.0
RELAY_BATCH = 500
RELAY_LOCK_KEY = 0x0B_0C_0E_57  # pg_try_advisory_xact_lock key of the relay
# How long a request waits, re-checking, for the older entries of its session to be published
# by the request that wrote them, before leaving its own to the relay (about a second later).
CATCH_UP_PAUSES = (0.02, 0.05, 0.1)
FLUSH_DELAY_SECONDS = 0.05

# What `record` sends, in one round trip, as separate simple statements (the driver sends them
# as one query; a single statement of CTEs cost PostgreSQL twice the CPU, mostly planning):
# the deletion of rows this process handed over, the transaction's audit rows, and the new
# entries with whether an older entry of their ordering keys is still waiting. Sent as is to
# the driver: no SQLAlchemy compilation, in every write transaction.
_DELETE_HANDED = "DELETE FROM event_outbox WHERE id = ANY(CAST(%(gone)s AS bigint[]));"
# The audit_logs columns a unit of work fills (all but the identity), from the model.
_AUDIT_COLUMNS = tuple(c.name for c in AuditLog.__table__.columns if c.name != "id")
_JSON_COLUMNS = frozenset(c.name for c in AuditLog.__table__.columns if isinstance(c.type, JSONB))
_INSERT_ENTRIES = """
    WITH new AS (
        INSERT INTO event_outbox (kind, ordering_key, payload) VALUES {values} RETURNING id
    )
    SELECT (SELECT array_agg(id ORDER BY id) FROM new) AS ids,
           EXISTS (SELECT 1 FROM event_outbox AS waiting
                   WHERE waiting.ordering_key = ANY(CAST(%(keys)s AS text[]))
                     AND waiting.id <> ALL(CAST(%(published)s AS bigint[]))) AS behind"""


@functools.cache
def _record_sql(entries: int, deleting: bool, audit_rows: int) -> str:
    """The statements `record` sends for `entries` new entries and `audit_rows` audit rows
    (both by VALUES, in order)."""
    parts = [_DELETE_HANDED] if deleting else []
    if audit_rows:
        rows = ", ".join(
            "(" + ", ".join(f"%(a{i}_{column})s" for column in _AUDIT_COLUMNS) + ")"
            for i in range(audit_rows)
        )
        parts.append(f"INSERT INTO audit_logs ({', '.join(_AUDIT_COLUMNS)}) VALUES {rows};")
    if entries:
        values = ", ".join(f"(%(kind{i})s, %(key{i})s, %(payload{i})s)" for i in range(entries))
        parts.append(_INSERT_ENTRIES.format(values=values))
    return "\n".join(parts)


_PENDING = text(
    """
    SELECT id, kind, payload FROM event_outbox
    WHERE created_at <= now() - make_interval(secs => :grace)
    ORDER BY id LIMIT :limit
    """
)
_OLDER = text(
    "SELECT EXISTS (SELECT 1 FROM event_outbox WHERE ordering_key = ANY(:keys) AND id < :first)"
)
_FORGET = (
    "BEGIN; SET LOCAL synchronous_commit TO OFF; "
    "DELETE FROM event_outbox WHERE id = ANY(%(ids)s); COMMIT"
)


class _Handed:
    """Ids this process handed to Redis whose rows are not deleted yet. The next `record` of
    the process deletes them in its own statement (no round trip of their own); the relay
    thread deletes what is left a moment later (FLUSH_DELAY_SECONDS). Until a deletion has
    committed, `record` does not count those rows as waiting (they are published)."""

    def __init__(self) -> None:
        self._queue: deque[int] = deque()
        self._undeleted: set[int] = set()
        self._lock = threading.Lock()
        self.added = threading.Event()

    def add(self, ids: list[int]) -> None:
        with self._lock:
            self._undeleted.update(ids)
        self._queue.extend(ids)
        self.added.set()

    def take(self) -> list[int]:
        """The queued ids, for one deleter; `deleted` or `put_back` them afterwards."""
        taken = []
        with contextlib.suppress(IndexError):
            while True:
                taken.append(self._queue.popleft())
        return taken

    def put_back(self, ids: list[int]) -> None:
        self._queue.extend(ids)

    def deleted(self, ids: list[int]) -> None:
        with self._lock:
            self._undeleted.difference_update(ids)

    def undeleted(self) -> list[int]:
        with self._lock:
            return list(self._undeleted)


_handed = _Handed()


@dataclass(frozen=True)
class Entry:
    """A recorded entry: `body` is the stream fields of an event, or {task, kwargs} of a job."""

    id: int
    kind: str
    body: dict[str, Any]
    ordering_key: str | None = None


@dataclass(frozen=True)
class Recorded:
    """What `record` did: the new entries, whether an older entry of theirs is still waiting,
    and the handed-over rows its statement deleted (once its transaction commits)."""

    entries: list[Entry]
    behind: bool = False
    deleting: list[int] = field(default_factory=list)


def ordering_key(event: bus.Event) -> str | None:
    """What `event` must stay in commit order with: its session, else its agent."""
    data = event.data
    session = data.get("session")
    if isinstance(session, dict) and session.get("id"):
        return f"session:{session['id']}"
    if data.get("sessionId"):
        return f"session:{data['sessionId']}"
    agent = data.get("agent")
    if isinstance(agent, dict) and agent.get("id"):
        return f"agent:{agent['id']}"
    return None


def _payload(kind: str, body: dict[str, Any]) -> str:
    """The stored text of an entry. An event's `data` (already JSON) is embedded as is, not
    encoded a second time as a string: that would escape every quote of the payload."""
    if kind != EVENT:
        return json.dumps(body, ensure_ascii=False)
    head = json.dumps({k: v for k, v in body.items() if k != "data"}, ensure_ascii=False)
    return f'{head[:-1]}, "data": {body["data"]}}}'


def _body(kind: str, payload: str) -> dict[str, Any]:
    """The entry `_payload` stored: an event's stream fields, with `data` as JSON text again."""
    body = json.loads(payload)
    if kind == EVENT:
        body["data"] = json.dumps(body["data"], ensure_ascii=False)
    return body


def record(
    session: Session,
    events: list[bus.Event],
    tasks: list[tuple[str, dict[str, Any]]],
    audit_rows: list[dict[str, Any]] | None = None,
) -> Recorded:
    """Insert the entries and the transaction's `audit_rows` (audit_logs columns) in the
    current transaction — one round trip, which also deletes rows this process handed over
    meanwhile — and tell whether an older entry of the same ordering key is still waiting."""
    bodies = [(EVENT, ordering_key(e), e.to_fields()) for e in events]
    bodies += [(TASK, None, {"task": name, "kwargs": kwargs}) for name, kwargs in tasks]
    if not bodies and not audit_rows:
        return Recorded([])
    gone = _handed.take()
    parameters: dict[str, Any] = {
        "gone": gone,
        "published": _handed.undeleted(),
        "keys": [key for _, key, _ in bodies],
    }
    for i, (kind, key, body) in enumerate(bodies):
        parameters[f"kind{i}"] = kind
        parameters[f"key{i}"] = key
        parameters[f"payload{i}"] = _payload(kind, body)
    for i, row in enumerate(audit_rows or ()):
        for column in _AUDIT_COLUMNS:
            parameters[f"a{i}_{column}"] = _audit_value(column, row.get(column))
    try:
        result = session.connection().exec_driver_sql(
            _record_sql(len(bodies), bool(gone), len(audit_rows or ())), parameters
        )
        ids, behind = result.one() if bodies else ([], False)
    except BaseException:
        _handed.put_back(gone)
        raise
    entries = [
        Entry(id_, kind, body, key) for id_, (kind, key, body) in zip(ids, bodies, strict=True)
    ]
    return Recorded(entries, bool(behind), gone)


def _audit_value(column: str, value: Any) -> Any:
    """An audit row's value as the driver takes it (UUIDs as text, JSON documents as JSON)."""
    if value is None:
        return None
    if column in _JSON_COLUMNS:
        return Json(value, dumps=_json_text)
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def _json_text(value: Any) -> str:
    return orjson.dumps(value).decode()


def settle(recorded: Recorded, committed: bool) -> None:
    """After COMMIT (or ROLLBACK) of the transaction `recorded` belongs to."""
    if committed:
        _handed.deleted(recorded.deleting)
    else:
        _handed.put_back(recorded.deleting)


def deliver(recorded: Recorded) -> None:
    """The fast path, right after COMMIT. Never raises: what it cannot hand over stays in the
    outbox for the relay."""
    entries = recorded.entries
    if not entries:
        return
    if not redis_client.healthy():
        log.warning("could not publish %d outbox entries now (Redis failed moments ago); "
                    "the relay will", len(entries))  # fmt: skip
        return
    if recorded.behind and not _caught_up(entries):
        return  # an older entry of the same session is still waiting: the relay keeps order
    try:
        done = _hand_over(redis_client.client, entries)
    except redis.RedisError:
        redis_client.failed()
        log.warning("could not publish %d outbox entries; the relay will", len(entries))
        return
    if len(done) < len(entries):
        redis_client.failed()
    if current_app.extensions.get("outbox_relay") is not None:
        _handed.add(done)
    else:  # no relay thread here (a Celery worker, a script): delete now
        _forget(done)


def _caught_up(entries: list[Entry]) -> bool:
    """Whether the older entries that shared an ordering key with `entries` are gone, waiting
    a few moments for them: usually another request is publishing them right now."""
    keys = sorted({e.ordering_key for e in entries if e.ordering_key})
    first = min(e.id for e in entries)
    for pause in CATCH_UP_PAUSES:
        time.sleep(pause)
        try:
            with db.engine.connect() as connection:
                waiting = connection.execute(_OLDER, {"keys": keys, "first": first}).scalar()
        except SQLAlchemyError:
            return False
        if not waiting:
            return True
    return False


def _hand_over(client: redis.Redis, entries: list[Entry]) -> list[int]:
    """Publish the events (raises redis.RedisError), then send the jobs until one fails;
    return the ids of the entries handed over."""
    events = [(e.id, e.body) for e in entries if e.kind == EVENT]
    maxlen = current_app.config.get("EVENT_STREAM_MAXLEN", 100_000)
    bus.publish_once(client, events, maxlen)
    done = [outbox_id for outbox_id, _ in events]
    for entry in entries:
        if entry.kind != TASK:
            continue
        try:
            jobs.send(entry.body["task"], entry.body["kwargs"], task_id=f"outbox-{entry.id}")
        except Exception:  # kombu raises its own errors, not redis-py's
            log.warning("could not send job %s; the relay will", entry.body["task"])
            break
        done.append(entry.id)
    return done


def _forget(ids: list[int]) -> bool:
    """Delete handed-over rows in one round trip; False when that failed. Losing this (or its
    commit, asynchronous on purpose) only means the relay finds the rows again, and
    publish_once skips them."""
    if not ids:
        return True
    try:
        with db.engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                _FORGET, {"ids": ids}
            )
    except SQLAlchemyError:
        log.warning("could not delete %d published outbox rows", len(ids), exc_info=True)
        return False
    return True


def _flush_handed() -> None:
    """Delete what this process handed over and no write of it deleted yet."""
    ids = _handed.take()
    if _forget(ids):
        _handed.deleted(ids)
    else:
        _handed.put_back(ids)


def relay_once(grace: float = RELAY_GRACE_SECONDS, limit: int = RELAY_BATCH) -> int:
    """Publish and delete up to `limit` rows older than `grace` seconds, oldest first; return
    how many were handed over (0 when another relay holds the lock). Raises redis.RedisError
    when Redis does not take the events (nothing is deleted then)."""
    with db.engine.connect() as connection, connection.begin():
        locked = connection.execute(
            text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": RELAY_LOCK_KEY}
        ).scalar()
        if not locked:
            return 0
        rows = connection.execute(_PENDING, {"grace": grace, "limit": limit}).all()
        if not rows:
            return 0
        entries = [Entry(row.id, row.kind, _body(row.kind, row.payload)) for row in rows]
        done = _hand_over(redis_client.client, entries)
        connection.execute(text("DELETE FROM event_outbox WHERE id = ANY(:ids)"), {"ids": done})
    if done:
        redis_client.recovered()
        log.info("outbox relay published %d entries", len(done))
    return len(done)


class Relay:
    """`relay_once` every RELAY_INTERVAL_SECONDS (at once again after a full batch) in a daemon
    thread, which also deletes the rows this process's requests handed over. Failures are
    logged once per outage and retried."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def start(self) -> Relay:
        self._thread = threading.Thread(target=self._run, name="outbox-relay", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        failing = False
        next_relay = 0.0
        while not self._stop.is_set():
            if _handed.added.wait(RELAY_INTERVAL_SECONDS):
                _handed.added.clear()
                self._stop.wait(FLUSH_DELAY_SECONDS)  # a next request may take them first
            try:
                with self.app.app_context():
                    _flush_handed()
                    if time.monotonic() >= next_relay:
                        handed = relay_once()
                        # At once again after a full batch, else after the interval.
                        next_relay = time.monotonic() + (
                            0 if handed == RELAY_BATCH else RELAY_INTERVAL_SECONDS
                        )
                failing = False
            except (redis.RedisError, SQLAlchemyError) as exc:
                if not failing:
                    log.warning("outbox relay cannot publish now (%r); retrying", exc)
                failing = True
                next_relay = time.monotonic() + RELAY_INTERVAL_SECONDS
            except Exception:  # the process's relay must survive anything
                log.exception("outbox relay failed; retrying")
                next_relay = time.monotonic() + RELAY_INTERVAL_SECONDS


def start_relay(app: Flask) -> Relay:
    """Start the relay thread of this process (gunicorn's post_worker_init)."""
    relay = Relay(app).start()
    app.extensions["outbox_relay"] = relay
    return relay

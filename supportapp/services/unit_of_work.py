"""The transaction boundary of a use case: commit or roll back, then publish what happened.

Events and jobs are recorded in the outbox by the transaction itself (supportapp/outbox.py), so
a committed change always gets its events and jobs out, even when Redis fails right then or the
process dies between COMMIT and publishing.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from sqlalchemy import Select

from supportapp import outbox
from supportapp.extensions import db
from supportapp.realtime import bus

log = logging.getLogger("supportapp.audit")

# Exit status of a process stopped by the FAULT_EXIT_AFTER_COMMIT test hook.
FAULT_EXIT_STATUS = 75


@dataclass
class UnitOfWork:
    events: list[bus.Event] = field(default_factory=list)
    jobs: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    log_lines: list[dict[str, Any]] = field(default_factory=list)
    audit_rows: list[dict[str, Any]] = field(default_factory=list)
    callbacks: list[Callable[[], None]] = field(default_factory=list)

    @property
    def db(self):
        """The SQLAlchemy session the transaction runs in (a chat session is a `chat`)."""
        return db.session

    def emit(self, event: bus.Event) -> None:
        """Publish `event` to clients once the transaction has committed (durably)."""
        self.events.append(event)

    def enqueue(self, task_name: str, **kwargs: Any) -> None:
        """Send the background job `task_name` once the transaction has committed (durably)."""
        self.jobs.append((task_name, kwargs))

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run `callback` once the transaction has committed; not durable (a crash right after
        COMMIT skips it): use emit/enqueue for anything that must happen."""
        self.callbacks.append(callback)


@contextmanager
def unit_of_work() -> Iterator[UnitOfWork]:
    """Yield a UnitOfWork; commit when the block ends, roll back if it raises.

    Events and jobs are written to the outbox just before COMMIT and handed to Redis right
    after it; audit log lines are released after it. A rolled-back transaction sends nothing.
    """
    uow = UnitOfWork()
    recorded = outbox.Recorded([])
    try:
        yield uow
        recorded = outbox.record(db.session, uow.events, uow.jobs, uow.audit_rows)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        outbox.settle(recorded, committed=False)
        raise
    outbox.settle(recorded, committed=True)
    if recorded.entries and current_app.config.get("FAULT_EXIT_AFTER_COMMIT"):
        os._exit(FAULT_EXIT_STATUS)  # test hook: a crash between COMMIT and publishing
    for line in uow.log_lines:
        log.info("audit %s", line["action"], extra={"audit": line})
    outbox.deliver(recorded)
    for callback in uow.callbacks:
        try:
            callback()
        except Exception:  # the change is committed; a failed follow-up must not undo the reply
            log.exception("after-commit callback %r failed", callback)


def in_batches(query: Select, handle: Callable[[UnitOfWork, list], None], size: int) -> int:
    """Claim up to `size` rows of `query` (rows locked by someone else are skipped) and
    `handle` them in one unit of work; repeat until a batch comes back short. Each batch
    commits on its own, so a long backlog never holds its locks for long. Returns the count."""
    total = 0
    while True:
        with unit_of_work() as uow:
            rows = list(db.session.scalars(query.limit(size).with_for_update(skip_locked=True)))
            if rows:
                handle(uow, rows)
        total += len(rows)
        if len(rows) < size:
            return total

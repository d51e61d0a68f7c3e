"""The transaction boundary of a use case: commit or roll back, then publish what happened."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select

from supportapp.extensions import db
from supportapp.realtime import bus

log = logging.getLogger("supportapp.audit")


@dataclass
class UnitOfWork:
    events: list[bus.Event] = field(default_factory=list)
    log_lines: list[dict[str, Any]] = field(default_factory=list)
    callbacks: list[Callable[[], None]] = field(default_factory=list)

    @property
    def session(self):
        return db.session

    def emit(self, event: bus.Event) -> None:
        self.events.append(event)

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run `callback` once the transaction has committed (e.g. to enqueue a task)."""
        self.callbacks.append(callback)


@contextmanager
def unit_of_work() -> Iterator[UnitOfWork]:
    """Yield a UnitOfWork; commit when the block ends, roll back if it raises.

    Events and audit log lines are released only after the commit succeeded, so an event
    from a rolled-back transaction is never sent.
    """
    uow = UnitOfWork()
    try:
        yield uow
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    for line in uow.log_lines:
        log.info("audit %s", line["action"], extra={"audit": line})
    bus.publish(uow.events)
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

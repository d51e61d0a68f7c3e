"""The transaction boundary of a use case: commit or roll back, then publish what happened."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

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

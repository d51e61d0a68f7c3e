"""SLA warnings and breaches."""

from __future__ import annotations

from supportapp.jobs import celery
from supportapp.services import sla


@celery.task(name="workers.sla_tasks.sweep_sla")
def sweep_sla() -> int:
    """Announce every SLA warning and breach that is due, once; returns how many."""
    return len(sla.sweep())

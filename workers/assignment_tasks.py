"""Automatic assignment from the pending queue, and the inactivity rules."""

from __future__ import annotations

from flask import current_app

from supportapp.jobs import celery
from supportapp.services import assignment, lifecycle, presence


@celery.task(name="workers.assignment_tasks.auto_assign")
def auto_assign() -> int:
    """Give queued sessions to the least-loaded active agents until one side runs out."""
    if not current_app.config["AUTO_ASSIGN_ENABLED"]:
        return 0
    return assignment.auto_assign_all()


@celery.task(name="workers.assignment_tasks.sweep_inactive_sessions")
def sweep_inactive_sessions() -> dict[str, int]:
    """Requeue unanswered sessions and close idle ones, as configured."""
    return {
        "requeued": lifecycle.requeue_unanswered(current_app.config["UNANSWERED_REQUEUE_MINUTES"]),
        "closed": lifecycle.close_inactive(current_app.config["AUTO_CLOSE_AFTER_HOURS"]),
    }


@celery.task(name="workers.assignment_tasks.sweep_presence")
def sweep_presence() -> dict[str, int]:
    """Store and announce presence changes (agents whose sockets ran out go offline), then
    requeue the chats of agents offline longer than OFFLINE_REQUEUE_SECONDS."""
    return {
        "changed": presence.reconcile(),
        "requeued": lifecycle.requeue_offline(current_app.config["OFFLINE_REQUEUE_SECONDS"]),
    }

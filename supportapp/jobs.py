"""Background jobs: the Celery app (broker = Redis), its queues, routes and beat schedule.

Web processes only *enqueue* by task name (no import of workers/); `celery_app.py` builds the
worker and imports the task modules. Tasks run inside the Flask app context. A job that a
change causes is recorded in the outbox with the change (`UnitOfWork.enqueue`) and sent after
COMMIT, by the request or, when the broker did not take it, by the relay.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from celery import Celery, Task
from flask import Flask, current_app, has_app_context
from kombu import Queue

if TYPE_CHECKING:
    from supportapp.services.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

# Sending a task must never hold a request for long: one attempt, short socket timeouts (the
# outbox relay sends what the broker did not take).
BROKER_TIMEOUT_SECONDS = 1.0

AUTO_ASSIGN = "workers.assignment_tasks.auto_assign"
SWEEP_INACTIVE = "workers.assignment_tasks.sweep_inactive_sessions"
SWEEP_PRESENCE = "workers.assignment_tasks.sweep_presence"
# Going offline is noticed this soon after PRESENCE_GRACE_SECONDS runs out.
PRESENCE_SWEEP_SECONDS = 1
ROLLUP_RECENT = "workers.rollup_tasks.rollup_recent"
NOTIFY_SESSIONS_QUEUED = "workers.notification_tasks.notify_sessions_queued"
DELIVER_WEBHOOK = "workers.notification_tasks.deliver_webhook"
NOTIFY_SLA = "workers.notification_tasks.notify_sla"
RELEASE_DEFERRED_NOTICES = "workers.notification_tasks.release_deferred_notices"
SWEEP_SLA = "workers.sla_tasks.sweep_sla"
APPLY_RETENTION = "workers.retention_tasks.apply_retention"

QUEUES = ("assignment", "notifications", "rollups")
ROUTES = {
    "workers.assignment_tasks.*": {"queue": "assignment"},
    "workers.notification_tasks.*": {"queue": "notifications"},
    "workers.rollup_tasks.*": {"queue": "rollups"},
    "workers.sla_tasks.*": {"queue": "notifications"},
    # Housekeeping shares the rollups queue: both are periodic, batched and never urgent.
    "workers.retention_tasks.*": {"queue": "rollups"},
}
TASK_MODULES = (
    "workers.assignment_tasks",
    "workers.notification_tasks",
    "workers.rollup_tasks",
    "workers.sla_tasks",
    "workers.retention_tasks",
)


class AppContextTask(Task):
    """Runs every task inside the app context of the Flask app bound by init_app()."""

    def __call__(self, *args, **kwargs):
        if has_app_context():
            return self.run(*args, **kwargs)
        app = getattr(self.app, "flask_app", None)
        if app is None:
            raise RuntimeError("supportapp.jobs.init_app() was not called")
        with app.app_context():
            return self.run(*args, **kwargs)


# The task class is fixed here, at creation, so every task gets it whatever the import order.
celery = Celery("supportapp", task_cls=AppContextTask)


def init_app(app: Flask) -> Celery:
    """Bind the Celery app to the Flask app's configuration and context."""

    celery.flask_app = app
    celery.conf.update(
        broker_url=app.config["REDIS_URL"],
        broker_connection_retry_on_startup=True,
        broker_transport_options={
            "visibility_timeout": 3600,
            "socket_timeout": BROKER_TIMEOUT_SECONDS * 2,
            "socket_connect_timeout": BROKER_TIMEOUT_SECONDS,
        },
        broker_connection_timeout=BROKER_TIMEOUT_SECONDS,
        task_ignore_result=True,
        worker_hijack_root_logger=False,
        task_serializer="json",
        accept_content=["json"],
        timezone="UTC",
        enable_utc=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_queues=[Queue(name) for name in QUEUES],
        task_default_queue="assignment",
        task_routes=ROUTES,
        include=list(TASK_MODULES),
        beat_schedule=beat_schedule(app),
    )
    app.extensions["celery"] = celery
    return celery


def beat_schedule(app: Flask) -> dict:
    """Every periodic job, in one place. Exactly one beat process runs it."""
    config = app.config
    sla_seconds = config["SLA_SWEEP_INTERVAL_SECONDS"]
    return {
        "auto-assign-sweep": _every(config["AUTO_ASSIGN_INTERVAL_SECONDS"], AUTO_ASSIGN),
        "presence-sweep": _every(
            PRESENCE_SWEEP_SECONDS, SWEEP_PRESENCE, expires=PRESENCE_SWEEP_SECONDS * 2
        ),
        "inactive-sessions-sweep": _every(60, SWEEP_INACTIVE),
        "stats-rollup": _every(config["ROLLUP_INTERVAL_SECONDS"], ROLLUP_RECENT),
        "sla-sweep": _every(sla_seconds, SWEEP_SLA),
        "deferred-queue-notices": _every(sla_seconds, RELEASE_DEFERRED_NOTICES),
        "data-retention": _every(3600, APPLY_RETENTION),
    }


def _every(seconds: float, task: str, *, expires: float | None = None) -> dict[str, Any]:
    """Run `task` every `seconds`; a run still queued after `expires` seconds (one period
    unless said) is dropped, since the next one does the same work."""
    return {
        "task": task,
        "schedule": timedelta(seconds=seconds),
        "options": {"expires": expires if expires is not None else seconds},
    }


def send(task_name: str, kwargs: dict[str, Any], task_id: str | None = None) -> None:
    """Hand one task to the broker, once, without retrying; raises when the broker fails."""
    celery.send_task(task_name, kwargs=kwargs, task_id=task_id, retry=False)


def enqueue(task_name: str, **kwargs) -> None:
    """Send a task by name from a task (not durable: a broker failure is logged, never raised;
    changes enqueue their jobs through the unit of work instead)."""
    try:
        send(task_name, kwargs)
    except Exception:
        log.exception("could not enqueue %s", task_name)


def request_auto_assignment(uow: UnitOfWork) -> None:
    """Run an auto-assignment pass once `uow` commits (when automatic assignment is on)."""
    if current_app.config["AUTO_ASSIGN_ENABLED"]:
        uow.enqueue(AUTO_ASSIGN)


def notify_queued(uow: UnitOfWork, session_ids: Iterable[uuid.UUID], reason: str) -> None:
    """Sessions entered the pending queue (`reason`: created, requeued): Web Push to the agents
    with free capacity, and the outgoing webhook when configured, once `uow` commits."""
    uow.enqueue(NOTIFY_SESSIONS_QUEUED, session_ids=[str(i) for i in session_ids], reason=reason)


def notify_sla(uow: UnitOfWork, notices: list[tuple[str, str, str]]) -> None:
    """SLA warnings/breaches `(session id, kind, target)` were announced: push them once `uow`
    commits."""
    uow.enqueue(NOTIFY_SLA, notices=[list(n) for n in notices])

"""New-chat notifications: Web Push to available agents and the outgoing webhook."""

from __future__ import annotations

import requests

from supportapp.jobs import celery
from supportapp.services import notifications, queue


@celery.task(name="workers.notification_tasks.notify_sessions_queued")
def notify_sessions_queued(session_ids: list[str], reason: str) -> dict[str, int]:
    """Sessions entered the pending queue: push to agents with free capacity, enqueue webhooks."""
    return vars(notifications.notify_sessions_queued(session_ids, reason))


@celery.task(
    name="workers.notification_tasks.deliver_webhook",
    autoretry_for=(notifications.WebhookDeliveryFailed, requests.RequestException),
    retry_backoff=True,  # 1 s, 2 s, 4 s, … (with jitter), capped below
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=5,
)
def deliver_webhook(body: str) -> int:
    """POST one signed event to NOTIFY_WEBHOOK_URL, retried with exponential backoff."""
    return notifications.deliver_webhook(body)


@celery.task(name="workers.notification_tasks.notify_sla")
def notify_sla(notices: list[list[str]]) -> dict[str, int]:
    """Push SLA warnings and breaches to the assigned agent (or available agents)."""
    return vars(notifications.notify_sla([tuple(n) for n in notices]))


@celery.task(name="workers.notification_tasks.release_deferred_notices")
def release_deferred_notices() -> int:
    """Sessions opened while their team was closed: announce them once it opens."""
    return queue.release_deferred_notices()

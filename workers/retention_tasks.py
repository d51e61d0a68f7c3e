"""Data retention: old sessions' content and inactive guests (docs/operations.md)."""

from __future__ import annotations

from flask import current_app

from supportapp.jobs import celery
from supportapp.services import data_rights


@celery.task(name="workers.retention_tasks.apply_retention")
def apply_retention() -> dict[str, int]:
    """Erase closed sessions' content past RETENTION_DAYS and remove guests inactive past
    GUEST_RETENTION_DAYS; each in batches, each batch its own transaction."""
    config = current_app.config
    return {
        "sessionsErased": data_rights.erase_expired_content(config["RETENTION_DAYS"]),
        "guestsRemoved": data_rights.remove_inactive_guests(config["GUEST_RETENTION_DAYS"]),
    }

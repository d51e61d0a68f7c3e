"""Daily stats rollups."""

from __future__ import annotations

from flask import current_app

from supportapp.analytics import rollups
from supportapp.jobs import celery


@celery.task(name="workers.rollup_tasks.rollup_recent")
def rollup_recent() -> int:
    """Recompute the recent finished days and every day marked dirty; returns how many."""
    return len(rollups.rollup_recent(current_app.config["ROLLUP_RECENT_DAYS"]))

"""Celery entry point: `celery -A celery_app worker|beat`. Builds the Flask app once, binds the
task base to its context and imports every task module."""

from celery import signals

from supportapp import create_app, telemetry
from supportapp.jobs import celery

flask_app = create_app()
app = celery
telemetry.observe_celery_tasks()


@signals.worker_process_shutdown.connect(weak=False)
def _forget_process_metrics(pid: int | None = None, **_kwargs) -> None:
    """A pool process that exits stops counting in the live gauges."""
    import os

    from prometheus_client import multiprocess

    if telemetry.multiprocess_dir():
        multiprocess.mark_process_dead(pid or os.getpid())


__all__ = ["app", "celery", "flask_app"]

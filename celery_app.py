"""Celery entry point: `celery -A celery_app worker|beat`. Builds the Flask app once, binds the
task base to its context and imports every task module."""

from supportapp import create_app
from supportapp.jobs import celery

flask_app = create_app()
app = celery

__all__ = ["app", "celery", "flask_app"]

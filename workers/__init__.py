"""Celery tasks: thin shells around services/ use cases."""

"""gunicorn settings for the `web` process (Procfile). Every value can be overridden from the
environment; see docs/operations.md and docs/decisions.md for how they were chosen."""

import multiprocessing
import os

bind = f"0.0.0.0:{os.environ.get('PORT', '5000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", min(multiprocessing.cpu_count(), 4)))
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
# Each open WebSocket holds one thread of a gthread worker, so threads bound sockets per process.
threads = int(os.environ.get("GUNICORN_THREADS", "64"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 20
keepalive = 5
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()

"""gunicorn settings for the `web` process (Procfile). Every value can be overridden from the
environment; see docs/operations.md and docs/decisions.md for how they were chosen."""

import multiprocessing
import os
import tempfile

bind = [f"0.0.0.0:{os.environ.get('PORT', '5000')}"]
# METRICS_PORT: /metrics is answered only on this second address (supportapp/telemetry.py),
# which a platform's router does not expose; the public port then answers it with 404.
if os.environ.get("METRICS_PORT"):
    bind.append(f"0.0.0.0:{os.environ['METRICS_PORT']}")

# Prometheus multiprocess mode: every worker writes its metrics to files in this directory and
# a scrape merges them. It must be in the environment before a worker imports the app (and so
# prometheus_client); a fresh directory of our own when the operator did not choose one (a
# chosen one must be emptied before the processes start: scripts/run.sh does).
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="supportapp-metrics-")
workers = int(os.environ.get("WEB_CONCURRENCY", min(multiprocessing.cpu_count(), 4)))
# The same processes serve HTTP and the /ws WebSockets. gevent was chosen by measurement over
# gthread (docs/decisions.md, "gunicorn worker class for HTTP + WebSocket"): half the CPU per
# delivered event, a third less memory per socket, no thread per socket.
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gevent")
# gthread only (GUNICORN_WORKER_CLASS=gthread): each open WebSocket holds one thread, so
# threads bound the sockets per process; set it above the expected sockets.
threads = int(os.environ.get("GUNICORN_THREADS", "64"))
# Connections (open WebSockets included) one worker holds at once: the gevent pool size, and
# gthread's limit on accepted connections.
worker_connections = int(os.environ.get("GUNICORN_WORKER_CONNECTIONS", "3000"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 20
keepalive = 5
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()


def post_fork(server, worker):
    """Under gevent, psycopg2 must wait through gevent too, or one query blocks every socket
    of the worker (gevent's monkey patching covers sockets, threads and redis-py, not libpq)."""
    if "gevent" in server.cfg.worker_class_str:
        from psycogreen.gevent import patch_psycopg

        patch_psycopg()


def child_exit(server, worker):
    """A worker that exits stops counting in the live gauges (open WebSockets)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def post_worker_init(worker):
    """Each web process relays the outbox entries a request could not publish (docs/decisions.md,
    "Durable events"); one relay works at a time, under a PostgreSQL advisory lock."""
    from supportapp.outbox import start_relay

    start_relay(worker.wsgi)

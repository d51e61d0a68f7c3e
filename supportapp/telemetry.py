"""Prometheus metrics: what operators watch (`GET /metrics`, docs/operations.md).

Every web and worker process records into prometheus-client's multiprocess directory
(`PROMETHEUS_MULTIPROC_DIR`, set by gunicorn.conf.py, celery_app.py and scripts/run.sh before
prometheus_client is imported), and a scrape merges all of them, so one scrape shows every
gunicorn worker and, on the same host, every Celery process. Without the directory (tests, a
plain `flask run`) the metrics live in the process's own registry.

Figures that are state rather than events — the queue, agents online, the outbox — are read
from PostgreSQL/Redis at scrape time (`StateCollector`), so they are right whichever process
answers the scrape.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from typing import Any

from flask import Flask, Response, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
TASK_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0)

HTTP_REQUESTS = Counter(
    "supportapp_http_requests_total",
    "HTTP requests answered, by route template, method and status",
    ["route", "method", "status"],
)
HTTP_LATENCY = Histogram(
    "supportapp_http_request_duration_seconds",
    "Time to answer an HTTP request (WebSocket sessions excluded), by route, method and status",
    ["route", "method", "status"],
    buckets=LATENCY_BUCKETS,
)
RATE_LIMITED = Counter(
    "supportapp_rate_limit_rejections_total",
    "Requests refused with 429 by a rate limit, by route",
    ["route"],
)
WEBSOCKETS_OPEN = Gauge(
    "supportapp_websockets_open",
    "WebSockets open now (summed over live web processes)",
    multiprocess_mode="livesum",
)
EVENTS_DELIVERED = Counter(
    "supportapp_websocket_events_delivered_total",
    "Event frames written to WebSockets (live and replayed)",
)
REPLICA_READS = Counter(
    "supportapp_replica_reads_total",
    "Calls of replica-routed reads (supportapp/replicas.py), by where they were served",
    ["served_by"],
)
REPLICA_LAG = Gauge(
    "supportapp_replica_lag_seconds",
    "Replay lag of each replica at its last check (-1: unknown, e.g. not streaming)",
    ["replica"],
    multiprocess_mode="livemostrecent",
)
TASK_DURATION = Histogram(
    "supportapp_celery_task_duration_seconds",
    "Run time of Celery tasks, by task name",
    ["task"],
    buckets=TASK_BUCKETS,
)
TASK_FAILURES = Counter(
    "supportapp_celery_task_failures_total",
    "Celery tasks that raised, by task name",
    ["task"],
)

# Paths never measured: the scrape itself and the probes would dominate the figures.
UNMEASURED = frozenset({"/metrics", "/healthz", "/readyz"})


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def scrape_registry() -> CollectorRegistry:
    """A registry holding every process's metrics (or this process's) plus the state read at
    scrape time."""
    if multiprocess_dir():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = CollectorRegistry()
        registry.register(_ProcessMetrics())
    registry.register(StateCollector())
    return registry


class _ProcessMetrics(Collector):
    """This process's own metrics, when there is no multiprocess directory."""

    def collect(self) -> Iterator[Any]:
        for collector in (
            HTTP_REQUESTS,
            HTTP_LATENCY,
            RATE_LIMITED,
            WEBSOCKETS_OPEN,
            EVENTS_DELIVERED,
            REPLICA_READS,
            REPLICA_LAG,
            TASK_DURATION,
            TASK_FAILURES,
        ):
            yield from collector.collect()


class StateCollector(Collector):
    """Queue length and longest wait, agents online, outbox backlog — read when scraped. Needs
    an app context (the /metrics view has one)."""

    def collect(self) -> Iterator[Any]:
        from supportapp.replicas import replica_reads
        from supportapp.services import operations

        try:
            state = replica_reads(operations.current_state)()
        except Exception:  # a scrape must answer; a missing figure is visible as absent
            log.exception("could not read the service state for /metrics")
            return
        for name, help_text, value in state:
            family = GaugeMetricFamily(name, help_text)
            family.add_metric([], value)
            yield family


def render() -> Response:
    return Response(generate_latest(scrape_registry()), mimetype=CONTENT_TYPE_LATEST)


def init_app(app: Flask) -> None:
    """Measure every HTTP request and serve `/metrics` (unless METRICS_ENABLED is false or
    METRICS_PORT moves it to an internal port, see gunicorn.conf.py)."""
    if not app.config["METRICS_ENABLED"]:
        return

    @app.before_request
    def start_timer() -> None:
        g.metrics_started_at = time.perf_counter()

    @app.after_request
    def observe(response):
        started = g.pop("metrics_started_at", None)
        if started is None or request.path in UNMEASURED:
            return response
        route = request.url_rule.rule if request.url_rule is not None else "<unmatched>"
        if route == "/ws":  # a WebSocket's "request" lasts as long as the socket
            return response
        status = str(response.status_code)
        HTTP_REQUESTS.labels(route, request.method, status).inc()
        HTTP_LATENCY.labels(route, request.method, status).observe(time.perf_counter() - started)
        if response.status_code == 429:
            RATE_LIMITED.labels(route).inc()
        return response

    app.add_url_rule("/metrics", "metrics", _serve_metrics, methods=["GET"])


def _serve_metrics() -> Response:
    from flask import current_app

    from supportapp.errors import envelope_error

    port = current_app.config.get("METRICS_PORT")
    if port and request.environ.get("SERVER_PORT") != str(port):
        return envelope_error(404, "Recurso no encontrado")
    return render()


_celery_observed = False


def observe_celery_tasks() -> None:
    """Connect Celery's signals: task durations and failures (called by celery_app.py; once
    per process, however often it is called)."""
    global _celery_observed
    if _celery_observed:
        return
    _celery_observed = True
    from celery import signals

    started: dict[str, float] = {}

    @signals.task_prerun.connect(weak=False)
    def _prerun(task_id: str, **_: Any) -> None:
        started[task_id] = time.perf_counter()

    @signals.task_postrun.connect(weak=False)
    def _postrun(task_id: str, task: Any, **_: Any) -> None:
        begun = started.pop(task_id, None)
        if begun is not None:
            TASK_DURATION.labels(task.name).observe(time.perf_counter() - begun)

    @signals.task_failure.connect(weak=False)
    def _failure(sender: Any = None, **_: Any) -> None:
        TASK_FAILURES.labels(getattr(sender, "name", "unknown")).inc()

"""GET /metrics: the Prometheus text format, without a token, with request counts and latency
per route and status, rate-limit rejections and the queue read at scrape time."""

from __future__ import annotations

import re

from supportapp import create_app
from supportapp.config import Config


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of one sample in a Prometheus text exposition (None when absent)."""
    for line in text.splitlines():
        if line.startswith("#") or not line:
            continue
        series, value = line.rsplit(" ", 1)
        if series.split("{", 1)[0] != name:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', series))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(value)
    return None


def test_metrics_without_a_token_in_prometheus_format(client):
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain")
    assert "# TYPE supportapp_queue_length gauge" in response.get_data(as_text=True)


def test_requests_are_counted_per_route_and_status(client, make_account, open_session):
    before = sample(
        client.get("/metrics").get_data(as_text=True),
        "supportapp_http_requests_total",
        route="/api/chat/sessions",
        method="POST",
        status="201",
    )
    user = make_account("user")
    open_session(user)
    open_session(user)
    client.get("/api/chat/session/nope/messages", headers=user.headers)
    text = client.get("/metrics").get_data(as_text=True)
    created = sample(
        text,
        "supportapp_http_requests_total",
        route="/api/chat/sessions",
        method="POST",
        status="201",
    )
    assert created == (before or 0) + 2
    assert (
        sample(
            text,
            "supportapp_http_requests_total",
            route="/api/chat/session/<session_id>/messages",
            method="GET",
            status="404",
        )
        >= 1
    )
    assert (
        sample(
            text,
            "supportapp_http_request_duration_seconds_count",
            route="/api/chat/sessions",
            method="POST",
            status="201",
        )
        >= 2
    )
    # The scrape and the probes are not measured.
    assert (
        sample(text, "supportapp_http_requests_total", route="/metrics", method="GET", status="200")
        is None
    )


def test_queue_gauges_read_at_scrape_time(client, make_account, open_session):
    user = make_account("user")
    open_session(user)
    open_session(user)
    text = client.get("/metrics").get_data(as_text=True)
    assert sample(text, "supportapp_queue_length") == 2
    assert sample(text, "supportapp_queue_longest_wait_seconds") >= 0
    assert sample(text, "supportapp_agents_online") == 0


def test_rate_limit_rejections_are_counted(client, make_account):
    for _ in range(12):
        response = client.post(
            "/api/auth/login", json={"email": "x@example.com", "password": "nope"}
        )
    assert response.status_code == 429
    text = client.get("/metrics").get_data(as_text=True)
    assert sample(text, "supportapp_rate_limit_rejections_total", route="/api/auth/login") >= 1


def test_metrics_can_be_switched_off(test_environ):
    app = create_app(Config({**test_environ, "METRICS_ENABLED": "false"}))
    response = app.test_client().get("/metrics")
    assert response.status_code == 404
    assert response.get_json()["success"] is False


def test_metrics_port_moves_the_endpoint(test_environ):
    app = create_app(Config({**test_environ, "METRICS_PORT": "9109"}))
    client = app.test_client()
    public = client.get("/metrics", environ_overrides={"SERVER_PORT": "5000"})
    assert public.status_code == 404
    internal = client.get("/metrics", environ_overrides={"SERVER_PORT": "9109"})
    assert internal.status_code == 200


def test_celery_task_durations_and_failures(app):
    from celery import Celery

    from supportapp import telemetry

    celery = Celery("telemetry-test", set_as_current=False)
    telemetry.observe_celery_tasks()

    @celery.task(name="tests.telemetry.ok")
    def ok_task() -> int:
        return 1

    @celery.task(name="tests.telemetry.fails")
    def failing_task() -> None:
        raise RuntimeError("boom")

    ok_task.apply()
    failing_task.apply()
    with app.test_request_context():
        text = telemetry.render().get_data(as_text=True)
    assert (
        sample(text, "supportapp_celery_task_duration_seconds_count", task="tests.telemetry.ok")
        == 1
    )
    assert sample(text, "supportapp_celery_task_failures_total", task="tests.telemetry.fails") == 1


def test_agents_online_counts_online_agents(client, make_agent, mark_online):
    online, _ = make_agent()
    make_agent()  # never connected: offline
    mark_online(online.id)
    text = client.get("/metrics").get_data(as_text=True)
    assert sample(text, "supportapp_agents_online") == 1


def test_outbox_backlog_and_age_read_at_scrape_time(app, client):
    from sqlalchemy import text

    from supportapp.extensions import db

    text_before = client.get("/metrics").get_data(as_text=True)
    assert sample(text_before, "supportapp_outbox_backlog") == 0
    assert sample(text_before, "supportapp_outbox_oldest_age_seconds") == 0
    with app.app_context():
        db.session.execute(
            text(
                "INSERT INTO event_outbox (kind, payload, created_at) VALUES "
                "('event', '{}', now() - interval '90 seconds'), ('task', '{}', now())"
            )
        )
        db.session.commit()
        db.session.remove()
    scraped = client.get("/metrics").get_data(as_text=True)
    assert sample(scraped, "supportapp_outbox_backlog") == 2
    assert 90 <= sample(scraped, "supportapp_outbox_oldest_age_seconds") < 120

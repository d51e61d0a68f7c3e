"""/metrics under gunicorn with several worker processes: every worker's requests count, and
METRICS_PORT serves it on an internal address only."""

from __future__ import annotations

import pytest

from testkit.processes import free_port, gunicorn_server, http_request
from tests.test_telemetry import sample

pytestmark = pytest.mark.slow


def test_counts_are_summed_over_worker_processes(app, test_environ, tmp_path):
    env = {**test_environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    with gunicorn_server(env, workers=2, threads=2) as web:
        pids = set()
        for _ in range(40):
            response = web.request("GET", "/api/does-not-exist")
            assert response.status == 404
        for path in tmp_path.glob("counter_*.db"):
            pids.add(path.name)
        text = web.request("GET", "/metrics").body
    assert len(pids) == 2, pids  # both workers answered some of them
    total = sample(
        text, "supportapp_http_requests_total", route="<unmatched>", method="GET", status="404"
    )
    assert total == 40


def test_metrics_port_is_the_only_place_metrics_answer(app, test_environ, tmp_path):
    metrics_port = free_port()
    env = {
        **test_environ,
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
        "METRICS_PORT": str(metrics_port),
    }
    with gunicorn_server(env, workers=1) as web:
        assert web.request("GET", "/metrics").status == 404
        internal = http_request("GET", f"http://127.0.0.1:{metrics_port}/metrics")
        assert internal.status == 200
        assert "supportapp_queue_length" in internal.body

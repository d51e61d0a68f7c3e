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


def _scrape(web, name: str) -> float | None:
    return sample(web.request("GET", "/metrics").body, name)


def _open_sockets_per_process(directory) -> list[float]:
    """The open-socket gauge as each worker process wrote it (one file per pid)."""
    from prometheus_client.mmap_dict import MmapedDict

    values = []
    for path in directory.glob("gauge_livesum_*.db"):
        for key, value, *_ in MmapedDict.read_all_values_from_file(str(path)):
            if '"supportapp_websockets_open"' in key:
                values.append(value)
    return values


def test_open_sockets_and_delivered_events_are_summed_over_workers(
    app, test_environ, tmp_path, make_account
):
    from testkit.processes import wait_for
    from tests.realtime.harness import connected, http

    env = {**test_environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    with gunicorn_server(env, workers=2) as web:
        assert _scrape(web, "supportapp_websockets_open") == 0
        users, sockets = [], []
        try:
            # Sockets until both workers hold some: the scrape must add the two processes up.
            while sum(1 for v in _open_sockets_per_process(tmp_path) if v > 0) < 2:
                assert len(sockets) < 20, _open_sockets_per_process(tmp_path)
                users.append(make_account("user"))
                sockets.append(connected(web, users[-1].token))
            assert _scrape(web, "supportapp_websockets_open") == len(sockets)

            delivered_before = _scrape(web, "supportapp_websocket_events_delivered_total") or 0
            for user, sock in zip(users, sockets, strict=True):
                body = {"message": "Hola"}
                reply = http("POST", web.url + "/api/chat/sessions", body, user.token)
                assert reply.status == 201, reply.body
                sock.wait_event("chat_created")
            for sock in sockets:
                sock.drain()
            received = sum(len(sock.events) for sock in sockets)
            assert received >= 2 * len(sockets)  # chat_created and the first message, each
            wait_for(
                lambda: (
                    _scrape(web, "supportapp_websocket_events_delivered_total")
                    == delivered_before + received
                ),
                timeout=10,
                message="every delivered event counted once",
            )

            sockets[0].close()
            wait_for(
                lambda: _scrape(web, "supportapp_websockets_open") == len(sockets) - 1,
                timeout=10,
                message="a closed socket leaves the gauge",
            )
        finally:
            for sock in sockets:
                sock.close()

"""bench/day.py in its smallest form: a real service (gunicorn, Celery worker and beat, a
private Redis, a throwaway database), 3 agents and 10 customers in one short step."""

from __future__ import annotations

import json
import time

from bench import common, day


def test_the_day_reports_a_knee_without_lost_events(tmp_path, monkeypatch):
    monkeypatch.setattr(common, "RESULTS", tmp_path)
    started = time.monotonic()
    code = day.main(
        [
            *("--agents", "3", "--admins", "1", "--customers", "10", "--capacity", "5"),
            *("--rates", "2", "--step-seconds", "5", "--warmup", "0", "--web", "1"),
            *("--think-scale", "0.2"),
            *("--name", "day-test", "--plot", str(tmp_path / "day.png")),
        ]
    )
    assert code == 0
    assert time.monotonic() - started < 60
    report = json.loads((tmp_path / "day-test.json").read_text())
    run = report["runs"]["1"]
    knee = run["knee"]
    for field in (
        "messages_per_second",
        "delivery_p99_ms",
        "cpu_ms_per_message",
        "redis_commands_per_message",
        "pg_transactions_per_message",
        "first_failing_step",
    ):
        assert field in knee
    assert report["lost_events"] == 0 and run["lost_deliveries"] == 0
    assert run["errors"] == 0, run["first_errors"]
    step = run["steps"][0]
    assert step["messages"] > 0
    assert set(step["cpu_ms_per_message"]) == {"web", "worker", "postgres", "redis", "generator"}
    assert step["cpu_ms_per_message"]["web"] > 0
    assert step["redis_commands_per_message"] > 0 and step["pg_transactions_per_message"] > 0
    # Every customer's chat ran to its end: opened, answered, closed.
    assert run["counts"]["chats_opened"] == run["counts"]["chats_closed"] > 0
    assert (tmp_path / "day.png").stat().st_size > 0
    section = "\n".join(day.markdown("day-test", report, None))
    assert section.startswith("## A day of load") and "| 1 | " in section

"""Metrics and advanced stats read from the daily rollups: the same answers as from raw rows,
histogram percentiles within their stated error, busiest hours from the hourly counters."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import current_app
from sqlalchemy import text

from supportapp.analytics import metrics, rollups
from supportapp.analytics.histograms import ACCURACY, Figure, bucket_of
from supportapp.analytics.stats import Range
from supportapp.analytics.windows import plan_window, utc_today
from supportapp.extensions import db
from supportapp.models import OVERALL
from tests.workers.test_rollups import DAYS_BACK, history  # noqa: F401 (fixture)

pytestmark = pytest.mark.usefixtures("history")


def windows() -> list[Range]:
    now = datetime.now(UTC)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return [
        Range(),
        Range(now - timedelta(days=3, hours=7), now - timedelta(hours=13)),
        Range(midnight - timedelta(days=2), midnight),
        Range(midnight - timedelta(days=DAYS_BACK), None),
    ]


def everything(window: Range) -> tuple[list[metrics.AgentMetrics], metrics.TeamMetrics]:
    return metrics.agent_metrics(window), metrics.team_metrics(window, timezone="UTC")


def test_metrics_from_rollups_equal_metrics_from_raw_rows(app_ctx):
    before = [everything(window) for window in windows()]
    rollups.rollup_recent(DAYS_BACK + 1)
    plan = plan_window(None, None)
    assert len(plan.rolled_days) >= DAYS_BACK  # the reads below do use the rollups
    after = [everything(window) for window in windows()]
    assert after == before


def test_rollup_histograms_equal_a_direct_bucketing(app_ctx):
    rollups.rollup_recent(DAYS_BACK + 1)
    expected: Counter = Counter()

    def count(created_at, agent, figure, seconds):
        day = created_at.astimezone(UTC).date()
        if day >= utc_today():
            return
        for key in {OVERALL, agent} - {None}:
            expected[(day, key, int(figure), bucket_of(seconds))] += 1

    for s in db.session.execute(
        text(
            "SELECT support_agent_id, created_at, closed_at FROM chat_sessions"
            " WHERE status = 'closed' AND closed_at IS NOT NULL"
        )
    ):
        count(
            s.created_at,
            s.support_agent_id,
            Figure.RESOLUTION,
            (s.closed_at - s.created_at).total_seconds(),
        )
    for m in db.session.execute(
        text(
            "SELECT s.created_at, m.agent_id, m.first_response_seconds, m.response_seconds"
            " FROM chat_messages m JOIN chat_sessions s ON s.id = m.session_id"
            " WHERE m.sender = 'support'"
        )
    ):
        if m.first_response_seconds is not None:
            count(m.created_at, m.agent_id, Figure.FIRST_RESPONSE, m.first_response_seconds)
        if m.response_seconds is not None:
            count(m.created_at, m.agent_id, Figure.RESPONSE, m.response_seconds)
    stored = {
        (row.day, row.agent_id, row.figure, row.bucket): row.count
        for row in db.session.execute(text("SELECT * FROM stats_daily_histograms"))
    }
    assert stored == dict(expected)


@pytest.mark.parametrize("rolled", [False, True])
def test_histogram_percentiles_stay_within_two_percent(app_ctx, monkeypatch, rolled):
    if rolled:
        rollups.rollup_recent(DAYS_BACK + 1)
    for window in windows():
        exact_agents, exact_team = everything(window)
        monkeypatch.setitem(current_app.config, "METRICS_EXACT_UP_TO", 0)
        approx_agents, approx_team = everything(window)
        monkeypatch.setitem(current_app.config, "METRICS_EXACT_UP_TO", 20_000)
        pairs = [(exact_team, approx_team), *zip(exact_agents, approx_agents, strict=True)]
        for exact, approx in pairs:
            for figure in metrics.TIME_FIGURES:
                want_figure, got_figure = getattr(exact, figure), getattr(approx, figure)
                assert got_figure.average == want_figure.average
                for statistic in ("median", "p90"):
                    want, got = getattr(want_figure, statistic), getattr(got_figure, statistic)
                    if want is None:
                        assert got is None
                    else:
                        # ACCURACY of (1 s + value), plus the rounding to 0.1 minute of both.
                        bound = ACCURACY * (want + 1 / 60) + 0.1 + 1e-9
                        assert got == pytest.approx(want, abs=bound)


@pytest.mark.parametrize("timezone", ["UTC", "America/Bogota", "Asia/Kolkata", "Europe/Madrid"])
def test_busiest_hours_equal_a_direct_count(app_ctx, timezone):
    zone = ZoneInfo(timezone)
    for window in windows():
        created = db.session.scalars(text("SELECT created_at FROM chat_sessions")).all()
        hours: dict[int, int] = defaultdict(int)
        for moment in created:
            if (window.start is None or moment >= window.start) and (
                window.end is None or moment < window.end
            ):
                hours[moment.astimezone(zone).hour] += 1
        expected = sorted(
            (metrics.BusyHour(h, n) for h, n in hours.items()),
            key=lambda item: (-item.sessions, item.hour),
        )
        assert metrics.busiest_hours(window, timezone) == expected


@pytest.mark.parametrize("who", ["team", "every agent", "one agent"])
def test_exact_percentiles_of_ranges_without_a_start_equal_a_join_on_every_reply(app_ctx, who):
    """Ranges with only an end read the replies older than end − 1 h without their sessions;
    the answer is that of joining every reply to its session."""
    agent = db.session.scalar(
        text("SELECT agent_id FROM chat_messages WHERE agent_id IS NOT NULL LIMIT 1")
    )
    agent_id = {"team": OVERALL, "every agent": None, "one agent": agent}[who]
    now = datetime.now(UTC)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    for end in (midnight, now - timedelta(minutes=30), midnight - timedelta(days=2, hours=5)):
        found = metrics._exact_percentiles(Range(None, end), agent_id)
        rows = db.session.execute(
            text(
                "SELECT CASE WHEN :team THEN CAST(:overall AS uuid) ELSE m.agent_id END AS key,"
                " percentile_cont(0.5) WITHIN GROUP (ORDER BY m.first_response_seconds),"
                " percentile_cont(0.9) WITHIN GROUP (ORDER BY m.first_response_seconds),"
                " percentile_cont(0.5) WITHIN GROUP (ORDER BY m.response_seconds),"
                " percentile_cont(0.9) WITHIN GROUP (ORDER BY m.response_seconds)"
                " FROM chat_messages m JOIN chat_sessions s ON s.id = m.session_id"
                " WHERE m.sender = 'support' AND s.created_at < :end"
                " AND (m.first_response_seconds IS NOT NULL OR m.response_seconds IS NOT NULL)"
                " AND (:team OR m.agent_id IS NOT NULL)"
                " AND (CAST(:agent AS uuid) IS NULL OR m.agent_id = CAST(:agent AS uuid))"
                " GROUP BY 1"
            ),
            {
                "team": who == "team",
                "overall": OVERALL,
                "end": end,
                "agent": agent if who == "one agent" else None,
            },
        ).all()
        assert rows
        for key, *values in rows:
            assert found[key][Figure.FIRST_RESPONSE] == tuple(values[:2])
            assert found[key][Figure.RESPONSE] == tuple(values[2:])

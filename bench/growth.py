"""Where analytics time goes as history grows: `python -m bench.growth --database-url URL …`.

In process (no HTTP), against databases seeded with bench.seed: the three reads that grew in
`scale` — the team's `advanced` block of GET /api/chat/stats, one agent's metrics (the agent
with the most sessions) and every agent's metrics — over all time, and each split into the
history before today (rolled-up days, histogram blocks) and today (raw rows), plus the team
read over 23 raw hours of a past day (the cost of a raw stretch per session, for scaling).
Median and minimum of --runs calls after one warm-up, and the sessions created today. Every
agent's merged histograms of the rolled-up days are kept between reads (windows._ROLLED_CACHE):
the "rolled-up part not kept" cases clear them before each call (the first read after a
rollup).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import text


def _time(call: Callable[[], object], runs: int) -> dict:
    from supportapp.extensions import db

    call()
    db.session.rollback()
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        timings.append((time.perf_counter() - started) * 1000)
        db.session.rollback()
    return {"median_ms": round(statistics.median(timings), 1), "min_ms": round(min(timings), 1)}


def measure(database_url: str, runs: int) -> dict:
    os.environ["DATABASE_URL"] = database_url
    from supportapp import create_app
    from supportapp.analytics import metrics
    from supportapp.analytics.stats import Range
    from supportapp.analytics.windows import _ROLLED_CACHE
    from supportapp.extensions import db

    app = create_app()
    with app.app_context():
        agent = db.session.scalar(
            text(
                "SELECT support_agent_id FROM chat_sessions WHERE support_agent_id IS NOT NULL"
                " GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
            )
        )
        today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        past = today - timedelta(days=7)
        windows = {
            "all time": Range(),
            "before today": Range(None, today),
            "today": Range(today, None),
        }
        cases: dict[str, dict] = {}
        for label, window in windows.items():
            cases[f"team advanced, {label}"] = _time(
                lambda w=window: metrics.team_metrics(w, timezone="UTC"), runs
            )
            cases[f"agent metrics, {label}"] = _time(
                lambda w=window: metrics.agent_metrics(w, agent), runs
            )
            cases[f"all agents, {label}"] = _time(lambda w=window: metrics.agent_metrics(w), runs)
            cases[f"all agents, {label}, rolled-up part not kept"] = _time(
                lambda w=window: (_ROLLED_CACHE.clear(), metrics.agent_metrics(w)), runs
            )
        raw_day = Range(past + timedelta(minutes=30), past + timedelta(hours=23, minutes=30))
        cases["team advanced, 23 raw hours of a past day"] = _time(
            lambda: metrics.team_metrics(raw_day, timezone="UTC"), runs
        )
        counts = db.session.execute(
            text(
                "SELECT count(*), count(*) FILTER (WHERE created_at >= :today),"
                " count(*) FILTER (WHERE created_at >= :lo AND created_at < :hi),"
                " count(DISTINCT created_at::date)"
                " FROM chat_sessions"
            ),
            {"today": today, "lo": raw_day.start, "hi": raw_day.end},
        ).one()
        agent_replies = db.session.scalar(
            text(
                "SELECT count(*) FROM chat_messages WHERE agent_id = :agent"
                " AND (response_seconds IS NOT NULL OR first_response_seconds IS NOT NULL)"
            ),
            {"agent": agent},
        )
        db.session.remove()
    return {
        "sessions": counts[0],
        "sessions_today": counts[1],
        "sessions_in_23_raw_hours": counts[2],
        "days_with_sessions": counts[3],
        "busiest_agent_timed_replies": agent_replies,
        "load_average": os.getloadavg(),
        "cases": cases,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", nargs="+", required=True)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--out", help="also write the report to this JSON file")
    args = parser.parse_args(argv)
    report = {url.rsplit("/", 1)[-1]: measure(url, args.runs) for url in args.database_url}
    print(json.dumps(report, indent=2))
    if args.out:
        with open(args.out, "w") as out:
            json.dump(report, out, indent=2)
            out.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

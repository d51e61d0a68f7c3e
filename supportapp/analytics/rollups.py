"""Daily rollups, the write side: per-day, per-agent figures and time histograms recomputed
from raw rows (`chat_sessions`, `chat_messages`, `session_ratings`) into `stats_daily_rollups`
and `stats_daily_histograms`; marks in `stats_rollup_dirty_days` say which days to redo.
Reading them is windows.py.

Every figure belongs to the UTC creation day of its session — the cohort rule of
GET /api/chat/stats — so a reply, a closing or a rating that arrives days later changes the row
of the day the session was created.

- `rollup_day(day)` recomputes one day in one transaction (DELETE + INSERT … SELECT … GROUP BY);
  running it again gives the same rows.
- `rollup_recent(days)` recomputes the last `days` finished days plus every day marked dirty.
  Triggers (migration 0003) mark the creation day of a session created before today whenever
  the session, one of its support messages or its rating changes, so an old session that
  changes is corrected on the next run whatever its age.
- `check_day(day)` counts the stored rows of a day that differ from a fresh computation.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import delete, select, text

from supportapp.analytics import histogram_blocks
from supportapp.analytics.rollup_sql import AGGREGATE_SQL, COLUMNS, HISTOGRAM_SQL
from supportapp.analytics.windows import day_bounds, utc_today
from supportapp.extensions import db
from supportapp.models import OVERALL, DailyHistogram, DailyRollup, RollupDirtyDay
from supportapp.services.unit_of_work import unit_of_work

# Dirty days one periodic run recomputes at most (each is its own short transaction).
MAX_DIRTY_DAYS_PER_RUN = 100


def rollup_day(day: date) -> int:
    """Recompute the rows of `day` from raw rows in one transaction; returns how many rows
    (agents + the overall row) it wrote. Idempotent; concurrent runs of one day take turns."""
    lo, hi = day_bounds(day, day)
    columns = ", ".join(COLUMNS)
    with unit_of_work() as uow:
        s = uow.db
        histogram_blocks.rollup_lock(s, day.toordinal())
        # Marks first: a change committed after this statement keeps its mark (and is either
        # in the snapshot below or recomputed on the next run); one committed before is in it.
        s.execute(delete(RollupDirtyDay).where(RollupDirtyDay.day == day))
        s.execute(delete(DailyRollup).where(DailyRollup.day == day))
        s.execute(delete(DailyHistogram).where(DailyHistogram.day == day))
        histogram_blocks.forget_blocks_of(s, day)
        bounds = {"day": day, "lo": lo, "hi": hi, "overall": str(OVERALL)}
        result = s.execute(
            text(
                f"INSERT INTO stats_daily_rollups (day, agent_id, {columns}, computed_at) "
                f"SELECT :day, agent_id, {columns}, now() FROM ({AGGREGATE_SQL}) AS a"
            ),
            bounds,
        )
        written = result.rowcount
        s.execute(
            text(
                "INSERT INTO stats_daily_histograms (day, agent_id, figure, bucket, count) "
                f"SELECT :day, agent_id, figure, bucket, n FROM ({HISTOGRAM_SQL}) AS h"
            ),
            bounds,
        )
    return written


def check_day(day: date) -> int:
    """Rows of `day` (rollup rows and histogram buckets) whose stored value differs from a fresh
    computation from raw rows; 0 means consistent."""
    lo, hi = day_bounds(day, day)
    bounds = {"day": day, "lo": lo, "hi": hi, "overall": str(OVERALL)}
    differs = " OR ".join(f"abs(coalesce(a.{c}, 0) - coalesce(r.{c}, 0)) > 0.001" for c in COLUMNS)
    rollup_rows = db.session.scalar(
        text(
            f"SELECT count(*) FROM ({AGGREGATE_SQL}) a FULL JOIN"
            " (SELECT * FROM stats_daily_rollups WHERE day = :day) r USING (agent_id)"
            f" WHERE {differs}"
        ),
        bounds,
    )
    histogram_rows = db.session.scalar(
        text(
            f"SELECT count(*) FROM ({HISTOGRAM_SQL}) h FULL JOIN"
            " (SELECT * FROM stats_daily_histograms WHERE day = :day) s"
            " USING (agent_id, figure, bucket) WHERE h.n IS DISTINCT FROM s.count"
        ),
        bounds,
    )
    return int(rollup_rows) + int(histogram_rows)


def dirty_days(limit: int | None = None, *, before: date | None = None) -> list[date]:
    """Days marked dirty (before `before`, when given), most recent first."""
    query = select(RollupDirtyDay.day).distinct().order_by(RollupDirtyDay.day.desc())
    if before is not None:
        query = query.where(RollupDirtyDay.day < before)
    return list(db.session.scalars(query.limit(limit)))


def rollup_recent(days: int, *, today: date | None = None) -> list[date]:
    """Recompute the `days` finished UTC days before `today` and the days marked dirty (at
    most MAX_DIRTY_DAYS_PER_RUN, most recent first; a backlog — e.g. the history marked by
    migration 0003 — drains over the next runs). Returns the days recomputed, oldest first."""
    today = today or utc_today()
    wanted = {today - timedelta(days=n) for n in range(1, days + 1)}
    # Today's marks (its last minutes mark too) wait until the day is over.
    wanted.update(dirty_days(MAX_DIRTY_DAYS_PER_RUN, before=today))
    db.session.commit()  # end the read transaction before the per-day ones
    done = []
    for day in sorted(wanted):
        rollup_day(day)
        done.append(day)
    histogram_blocks.build_missing_blocks()
    return done

"""Daily rollups: per-day, per-agent figures recomputed from raw rows, and the reader that
combines them with the raw tail.

Rows live in `stats_daily_rollups` (models/rollup.py). Every figure belongs to the UTC
creation day of its session — the cohort rule of GET /api/chat/stats — so a reply, a closing or
a rating that arrives days later changes the row of the day the session was created.

- `rollup_day(day)` recomputes one day in one transaction (DELETE + INSERT … SELECT … GROUP BY);
  running it again gives the same rows.
- `rollup_recent(days)` recomputes the last `days` finished days plus every day marked dirty.
  Triggers (migration 0003) mark the creation day of a session created before today whenever
  the session, one of its support messages or its rating changes, so an old session that
  changes is corrected on the next run whatever its age.
- `range_totals(first, last)` sums the rollups of the finished, clean days of a range and
  computes from raw rows the rest: today (the tail), days never rolled up and days marked dirty.
  Its answer is therefore exact at any moment, and its cost is one indexed read per rolled-up
  range plus raw scans of a day or two.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import delete, select, text

from supportapp.extensions import db
from supportapp.models import OVERALL, DailyRollup, RollupDirtyDay
from supportapp.services.unit_of_work import unit_of_work

# Advisory-lock namespace ("Roll") of rollup_day: two runs of the same day take turns.
ROLLUP_LOCK_CLASS = 0x526F6C6C
# Dirty days one periodic run recomputes at most (each is its own short transaction).
MAX_DIRTY_DAYS_PER_RUN = 100

INT_COLUMNS = (
    "sessions_created",
    "sessions_closed",
    "responses",
    "first_responses",
    "resolutions",
    "messages_sent",
    "ratings",
    "rating_sum",
    "ratings_positive",
)
FLOAT_COLUMNS = ("response_seconds", "first_response_seconds", "resolution_seconds")
COLUMNS = INT_COLUMNS + FLOAT_COLUMNS

# The figures of the sessions created in [:lo, :hi), one row per agent and one OVERALL row
# (always present). Three grouped passes — sessions, support messages, ratings — each with
# GROUPING SETS ((agent), ()) so the per-agent rows and the overall row come from one scan;
# GROUPING() tells the overall row from the group of rows without an agent.
AGGREGATE_SQL = """
WITH s AS (
    SELECT id, support_agent_id, status, created_at, closed_at
      FROM chat_sessions
     WHERE created_at >= :lo AND created_at < :hi
),
parts AS (
    SELECT CASE WHEN GROUPING(s.support_agent_id) = 1 THEN CAST(:overall AS uuid)
                ELSE s.support_agent_id END AS agent_id,
           count(*) AS sessions_created,
           count(*) FILTER (WHERE s.status = 'closed') AS sessions_closed,
           0::bigint AS responses, 0::float8 AS response_seconds,
           0::bigint AS first_responses, 0::float8 AS first_response_seconds,
           count(*) FILTER (WHERE s.status = 'closed' AND s.support_agent_id IS NOT NULL
                              AND s.closed_at IS NOT NULL) AS resolutions,
           coalesce(sum(extract(epoch FROM s.closed_at - s.created_at)::float8)
                    FILTER (WHERE s.status = 'closed' AND s.support_agent_id IS NOT NULL
                              AND s.closed_at IS NOT NULL), 0) AS resolution_seconds,
           0::bigint AS messages_sent,
           0::bigint AS ratings, 0::bigint AS rating_sum, 0::bigint AS ratings_positive
      FROM s
     GROUP BY GROUPING SETS ((s.support_agent_id), ())
    UNION ALL
    SELECT CASE WHEN GROUPING(m.agent_id) = 1 THEN CAST(:overall AS uuid) ELSE m.agent_id END,
           0, 0,
           count(m.response_seconds), coalesce(sum(m.response_seconds), 0),
           count(m.first_response_seconds), coalesce(sum(m.first_response_seconds), 0),
           0, 0,
           count(*),
           0, 0, 0
      FROM chat_messages m JOIN s ON s.id = m.session_id
     WHERE m.sender = 'support'
     GROUP BY GROUPING SETS ((m.agent_id), ())
    UNION ALL
    SELECT CASE WHEN GROUPING(r.agent_id) = 1 THEN CAST(:overall AS uuid) ELSE r.agent_id END,
           0, 0, 0, 0, 0, 0, 0, 0, 0,
           count(*), coalesce(sum(r.score), 0), count(*) FILTER (WHERE r.score >= 4)
      FROM session_ratings r JOIN s ON s.id = r.session_id
     GROUP BY GROUPING SETS ((r.agent_id), ())
    UNION ALL
    SELECT CAST(:overall AS uuid), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
)
SELECT agent_id, {sums}
  FROM parts
 WHERE agent_id IS NOT NULL
 GROUP BY agent_id
""".format(
    sums=", ".join(
        f"sum({c})::bigint AS {c}" if c in INT_COLUMNS else f"sum({c})::float8 AS {c}"
        for c in COLUMNS
    )
)


@dataclass
class Totals:
    """Summed figures of one agent (or the whole team) over some days."""

    sessions_created: int = 0
    sessions_closed: int = 0
    responses: int = 0
    first_responses: int = 0
    resolutions: int = 0
    messages_sent: int = 0
    ratings: int = 0
    rating_sum: int = 0
    ratings_positive: int = 0
    response_seconds: float = 0.0
    first_response_seconds: float = 0.0
    resolution_seconds: float = 0.0

    def add(self, row) -> None:
        for column in COLUMNS:
            setattr(self, column, getattr(self, column) + (getattr(row, column) or 0))

    @property
    def average_response_seconds(self) -> float | None:
        return self.response_seconds / self.responses if self.responses else None

    @property
    def average_first_response_seconds(self) -> float | None:
        return self.first_response_seconds / self.first_responses if self.first_responses else None

    @property
    def average_resolution_seconds(self) -> float | None:
        return self.resolution_seconds / self.resolutions if self.resolutions else None

    @property
    def average_rating(self) -> float | None:
        return self.rating_sum / self.ratings if self.ratings else None

    def as_dict(self) -> dict[str, float | int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass
class RangeTotals:
    """`overall` is the whole team (unassigned sessions included); `agents` by agent id."""

    overall: Totals = field(default_factory=Totals)
    agents: dict[uuid.UUID, Totals] = field(default_factory=dict)

    def add(self, row) -> None:
        if row.agent_id == OVERALL:
            self.overall.add(row)
        else:
            self.agents.setdefault(row.agent_id, Totals()).add(row)


def utc_today() -> date:
    return datetime.now(UTC).date()


def day_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """[start of `first`, start of the day after `last`) in UTC."""
    return (
        datetime.combine(first, time.min, tzinfo=UTC),
        datetime.combine(last + timedelta(days=1), time.min, tzinfo=UTC),
    )


def _aggregate(first: date, last: date):
    lo, hi = day_bounds(first, last)
    return db.session.execute(
        text(AGGREGATE_SQL), {"lo": lo, "hi": hi, "overall": str(OVERALL)}
    ).all()


# --- writing ---------------------------------------------------------------------------------


def rollup_day(day: date) -> int:
    """Recompute the rows of `day` from raw rows in one transaction; returns how many rows
    (agents + the overall row) it wrote. Idempotent; concurrent runs of one day take turns."""
    lo, hi = day_bounds(day, day)
    columns = ", ".join(COLUMNS)
    with unit_of_work() as uow:
        s = uow.session
        s.execute(
            text("SELECT pg_advisory_xact_lock(:cls, :obj)"),
            {"cls": ROLLUP_LOCK_CLASS, "obj": day.toordinal()},
        )
        # Marks first: a change committed after this statement keeps its mark (and is either
        # in the snapshot below or recomputed on the next run); one committed before is in it.
        s.execute(delete(RollupDirtyDay).where(RollupDirtyDay.day == day))
        s.execute(delete(DailyRollup).where(DailyRollup.day == day))
        result = s.execute(
            text(
                f"INSERT INTO stats_daily_rollups (day, agent_id, {columns}, computed_at) "
                f"SELECT :day, agent_id, {columns}, now() FROM ({AGGREGATE_SQL}) AS a"
            ),
            {"day": day, "lo": lo, "hi": hi, "overall": str(OVERALL)},
        )
        written = result.rowcount
    return written


def dirty_days(limit: int | None = None) -> list[date]:
    """Days marked dirty, most recent first."""
    query = select(RollupDirtyDay.day).distinct().order_by(RollupDirtyDay.day.desc())
    return list(db.session.scalars(query.limit(limit)))


def rollup_recent(days: int, *, today: date | None = None) -> list[date]:
    """Recompute the `days` finished UTC days before `today` and the days marked dirty (at
    most MAX_DIRTY_DAYS_PER_RUN, most recent first; a backlog — e.g. the history marked by
    migration 0003 — drains over the next runs). Returns the days recomputed, oldest first."""
    today = today or utc_today()
    wanted = {today - timedelta(days=n) for n in range(1, days + 1)}
    wanted.update(d for d in dirty_days(MAX_DIRTY_DAYS_PER_RUN) if d <= today)
    db.session.commit()  # end the read transaction before the per-day ones
    done = []
    for day in sorted(wanted):
        rollup_day(day)
        done.append(day)
    return done


# --- reading ---------------------------------------------------------------------------------


def range_totals(first: date, last: date, *, today: date | None = None) -> RangeTotals:
    """Per-agent and overall sums for the sessions created on UTC days `first`..`last`
    (inclusive): rollups for finished days that are rolled up and not marked dirty, raw rows
    for the others (today's tail, days not rolled up yet, dirty days). Exact at any moment."""
    today = today or utc_today()
    totals = RangeTotals()
    last = min(last, today)
    oldest = db.session.scalar(text("SELECT min(created_at) FROM chat_sessions"))
    if oldest is None:
        return totals
    first = max(first, oldest.astimezone(UTC).date())  # open-ended ranges: no empty days
    if first > last:
        return totals
    # One statement, one snapshot: the days it sums are exactly the days it reports.
    sums = ", ".join(f"sum(r.{c}) AS {c}" for c in COLUMNS)
    rows = db.session.execute(
        text(
            f"""
            WITH rolled AS (
                SELECT o.day FROM stats_daily_rollups o
                 WHERE o.agent_id = CAST(:overall AS uuid)
                   AND o.day BETWEEN :first AND :last AND o.day < :today
                   AND NOT EXISTS (SELECT 1 FROM stats_rollup_dirty_days d WHERE d.day = o.day)
            )
            SELECT r.agent_id, {sums}, (SELECT array_agg(day) FROM rolled) AS rolled_days
              FROM stats_daily_rollups r JOIN rolled USING (day)
             GROUP BY r.agent_id
            """
        ),
        {"overall": str(OVERALL), "first": first, "last": last, "today": today},
    ).all()
    rolled: set[date] = set(rows[0].rolled_days) if rows else set()
    for row in rows:
        totals.add(row)
    for run_first, run_last in _runs(first, last, rolled):
        for row in _aggregate(run_first, run_last):
            totals.add(row)
    return totals


def _runs(first: date, last: date, skip: set[date]) -> list[tuple[date, date]]:
    """The contiguous stretches of `first`..`last` not in `skip`."""
    runs: list[tuple[date, date]] = []
    start = None
    day = first
    while day <= last:
        if day in skip:
            if start is not None:
                runs.append((start, day - timedelta(days=1)))
                start = None
        elif start is None:
            start = day
        day += timedelta(days=1)
    if start is not None:
        runs.append((start, last))
    return runs


def raw_totals(first: date, last: date) -> RangeTotals:
    """The same sums straight from raw rows (for checks and for ranges never rolled up)."""
    totals = RangeTotals()
    for row in _aggregate(first, last):
        totals.add(row)
    return totals

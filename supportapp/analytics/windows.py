"""Reading a creation-time window of the analytics: which whole UTC days have clean daily
rollups (read from `stats_daily_rollups`, `stats_daily_histograms` and the histogram blocks) and
which stretches are computed from raw rows (`chat_sessions`, `chat_messages`,
`session_ratings`): the partial days at the edges, today, days never rolled up and days marked
dirty. The answer is therefore exact at any moment, and its cost is one indexed read per
rolled-up range plus raw scans of a day or two. Writes nothing (rollups.py writes the rows).

- `plan_window(start, end)` splits a range into rolled-up days and raw stretches;
- `plan_totals(plan, agent)` sums counts, seconds and ratings over a plan (the rolled-up days
  read as the fewest histogram blocks' summed totals and days that cover them);
- `plan_percentiles(plan, agent)` estimates medians and p90s from the histograms of a plan;
- `range_totals(first, last)` / `raw_totals(first, last)` are the same sums for whole days,
  through the plan and straight from raw rows (for checks).
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from dataclasses import dataclass, field, fields, make_dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import text

from supportapp.analytics import histogram_blocks
from supportapp.analytics.histograms import Figure, Histograms, sparse_sql
from supportapp.analytics.rollup_sql import (
    AGENT_AGGREGATE_SQL,
    AGENT_HISTOGRAM_SQL,
    AGENTS_HISTOGRAM_SQL,
    AGGREGATE_SQL,
    COLUMNS,
    FLOAT_COLUMNS,
    INT_COLUMNS,
    OVERALL_AGGREGATE_SQL,
    OVERALL_HISTOGRAM_SQL,
)
from supportapp.extensions import db
from supportapp.models import OVERALL

# Stand-ins for an unbounded side of a window.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 1, 1, tzinfo=UTC)


class _Sums:
    def add(self, row) -> None:
        for column in COLUMNS:
            setattr(self, column, getattr(self, column) + (getattr(row, column) or 0))

    def average(self, total: str, count: str) -> float | None:
        """`total` / `count` (column names, e.g. "response_seconds", "responses"); None when
        the count is 0."""
        n = getattr(self, count)
        return getattr(self, total) / n if n else None

    def as_dict(self) -> dict[str, float | int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


# Summed figures of one agent (or the whole team) over some days: one attribute per column of
# the rollups (rollup_sql.INT_COLUMNS, FLOAT_COLUMNS), each 0 to start with.
Totals = make_dataclass(
    "Totals",
    [(column, int, 0) for column in INT_COLUMNS] + [(c, float, 0.0) for c in FLOAT_COLUMNS],
    bases=(_Sums,),
)


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


@dataclass(frozen=True)
class WindowPlan:
    """How to read a creation-time window: the whole UTC days that have clean rollups, and the
    stretches in between (partial days at the edges, today, days not rolled up or marked
    dirty) that are read from raw rows."""

    rolled_days: list[date]
    raw_ranges: list[tuple[datetime, datetime]]


def plan_window(
    start: datetime | None, end: datetime | None, *, today: date | None = None
) -> WindowPlan:
    """Split [start, end) (None = unbounded) into rolled-up days and raw stretches."""
    today = today or utc_today()
    start = start or EARLIEST
    end = end or LATEST
    if start >= end:
        return WindowPlan([], [])
    first_day = _ceil_day(start)
    # The last day that ends by `end`; rollups only exist for days before today.
    last_day = min(end.astimezone(UTC).date(), today) - timedelta(days=1)
    rolled: list[date] = []
    if first_day <= last_day:
        rolled = list(
            db.session.scalars(
                text(
                    """
                    SELECT o.day FROM stats_daily_rollups o
                     WHERE o.agent_id = CAST(:overall AS uuid)
                       AND o.day BETWEEN :first AND :last AND o.day < :today
                       AND NOT EXISTS
                           (SELECT 1 FROM stats_rollup_dirty_days d WHERE d.day = o.day)
                     ORDER BY o.day
                    """
                ),
                {"overall": str(OVERALL), "first": first_day, "last": last_day, "today": today},
            )
        )
    raw: list[tuple[datetime, datetime]] = []
    cursor = start
    for day in rolled:
        lo, hi = day_bounds(day, day)
        if cursor < lo:
            raw.append((cursor, lo))
        cursor = hi
    if cursor < end:
        raw.append((cursor, end))
    return WindowPlan(rolled, raw)


def _ceil_day(moment: datetime) -> date:
    """The first UTC day that starts at or after `moment`."""
    moment = moment.astimezone(UTC)
    midnight = datetime.combine(moment.date(), time.min, tzinfo=UTC)
    return moment.date() if moment == midnight else moment.date() + timedelta(days=1)


def plan_totals(plan: WindowPlan, agent_id: uuid.UUID | None = None) -> RangeTotals:
    """Sums over a planned window: of every agent and OVERALL (None), of the team only
    (OVERALL: the other rows may be partial), or of one agent (then only that agent's row)."""
    totals = RangeTotals()
    if plan.rolled_days:
        # The fewest units covering the days, as for the percentiles: days alone, blocks' sums.
        blocks = histogram_blocks.existing_blocks(plan.rolled_days[0], plan.rolled_days[-1])
        units = histogram_blocks.cover(plan.rolled_days, blocks)
        days = [first_day for level, first_day in units if level == 0]
        levels = [level for level, _ in units if level > 0]
        firsts = [first_day for level, first_day in units if level > 0]
        sums = ", ".join(
            f"sum({c})::bigint AS {c}" if c in INT_COLUMNS else f"sum({c}) AS {c}" for c in COLUMNS
        )
        only = "" if agent_id is None else "AND agent_id = CAST(:agent AS uuid)"
        columns = ", ".join(COLUMNS)
        for row in db.session.execute(
            text(
                f"SELECT agent_id, {sums} FROM ("
                f" SELECT agent_id, {columns} FROM stats_daily_rollups"
                f"  WHERE day = ANY(:days) {only}"
                " UNION ALL"
                f" SELECT agent_id, {columns} FROM stats_rollup_block_totals"
                "  JOIN unnest(CAST(:levels AS smallint[]), CAST(:firsts AS date[]))"
                "  AS b(level, first_day) USING (level, first_day)"
                f"  WHERE true {only}) AS units"
                " GROUP BY agent_id"
            ),
            {"days": days, "levels": levels, "firsts": firsts, "agent": str(agent_id)},
        ):
            totals.add(row)
    team_sql = OVERALL_AGGREGATE_SQL if agent_id == OVERALL else AGGREGATE_SQL
    for row in _raw(plan, team_sql, AGENT_AGGREGATE_SQL, agent_id):
        totals.add(row)
    return totals


# Every agent's histograms of the rolled-up days of a window, merged, kept in this process for
# the next reads of the same days: (database, units, their versions) -> Histograms.dense()
# (~2 MB for 500 agents). A unit's version is its computed_at: rolling a day up again replaces
# the day's rows (new computed_at) and deletes the blocks containing it, rebuilt later under a
# new computed_at, so a changed unit never matches an old key.
_ROLLED_CACHE: OrderedDict[tuple, list[tuple[tuple, int, bytes]]] = OrderedDict()
ROLLED_CACHE_ENTRIES = 8


def plan_percentiles(
    plan: WindowPlan, agent_id: uuid.UUID | None = None
) -> dict[uuid.UUID, dict[Figure, tuple[float | None, float | None]]]:
    """(median, p90) in seconds of each time figure over a planned window, estimated from the
    histograms (analytics/histograms.py) of the rolled-up days — read as the fewest histogram
    blocks that cover them (analytics/histogram_blocks.py) — and of the raw stretches, fetched
    in one statement as one bytes value per histogram part and merged with numpy: OVERALL only
    (`agent_id` = OVERALL), one agent, or every agent (None; without OVERALL). Every agent's
    merged rolled-up part is kept for the next read of the same days (_ROLLED_CACHE)."""
    params: dict = {"overall": str(OVERALL), "agent": str(agent_id)}
    only = (
        "AND agent_id <> CAST(:overall AS uuid)"
        if agent_id is None
        else "AND agent_id = CAST(:agent AS uuid)"
    )
    histograms = Histograms()
    dense: list[str] = []  # statements of (agent_id, figure, first_bucket, counts)
    sparse: list[str] = []  # sources of (agent_id, figure, bucket, n) rows, packed into one part
    if plan.rolled_days:
        blocks = histogram_blocks.existing_blocks(plan.rolled_days[0], plan.rolled_days[-1])
        units = histogram_blocks.cover(plan.rolled_days, blocks)
        days = [first_day for level, first_day in units if level == 0]
        if days:
            sparse.append(
                "SELECT agent_id, figure, bucket, count AS n FROM stats_daily_histograms"
                f" WHERE day = ANY(:days) {only}"
            )
            params["days"] = days
        if len(days) < len(units):
            dense.append(
                "SELECT agent_id, figure, first_bucket, counts FROM stats_histogram_block_counts"
                " JOIN unnest(CAST(:levels AS smallint[]), CAST(:firsts AS date[]))"
                " AS b(level, first_day) USING (level, first_day)"
                f" WHERE true {only}"
            )
            params["levels"] = [level for level, _ in units if level > 0]
            params["firsts"] = [first_day for level, first_day in units if level > 0]
        if agent_id is None:
            key = _rolled_key(units)
            if key in _ROLLED_CACHE:
                _ROLLED_CACHE.move_to_end(key)
                for histogram, first_bucket, counts in _ROLLED_CACHE[key]:
                    histograms.add_dense(histogram, first_bucket, counts)
            else:
                _fetch_into(histograms, dense, sparse, params)
                _ROLLED_CACHE[key] = histograms.dense()
                while len(_ROLLED_CACHE) > ROLLED_CACHE_ENTRIES:
                    _ROLLED_CACHE.popitem(last=False)
            dense, sparse = [], []
    raw_sql = (
        OVERALL_HISTOGRAM_SQL
        if agent_id == OVERALL
        else AGENTS_HISTOGRAM_SQL
        if agent_id is None
        else AGENT_HISTOGRAM_SQL
    )
    for index, (lo, hi) in enumerate(plan.raw_ranges):
        stretch = raw_sql.replace(":lo", f":lo{index}").replace(":hi", f":hi{index}")
        sparse.append(f"SELECT agent_id, figure, bucket, n FROM ({stretch}) AS raw{index}")
        params[f"lo{index}"], params[f"hi{index}"] = lo, hi
    _fetch_into(histograms, dense, sparse, params)
    found: dict[uuid.UUID, dict[Figure, tuple[float | None, float | None]]] = {}
    for (agent, figure), pair in histograms.percentiles().items():
        found.setdefault(agent, {})[Figure(figure)] = pair
    return found


def _rolled_key(units: list[tuple[int, date]]) -> tuple:
    """The cache key of the rolled-up units of a read: the database, and each unit with the
    computed_at of its rows (a block's, or its day's OVERALL rollup row)."""
    versions = db.session.execute(
        text(
            "SELECT u.level, u.first_day, coalesce(b.computed_at, r.computed_at)"
            " FROM unnest(CAST(:levels AS smallint[]), CAST(:firsts AS date[]))"
            " AS u(level, first_day)"
            " LEFT JOIN stats_histogram_blocks b"
            "  ON u.level > 0 AND b.level = u.level AND b.first_day = u.first_day"
            " LEFT JOIN stats_daily_rollups r"
            "  ON u.level = 0 AND r.day = u.first_day AND r.agent_id = CAST(:overall AS uuid)"
            " ORDER BY 1, 2"
        ),
        {
            "levels": [level for level, _ in units],
            "firsts": [first_day for _, first_day in units],
            "overall": str(OVERALL),
        },
    ).all()
    return (str(db.engine.url), tuple(tuple(row) for row in versions))


def _fetch_into(histograms: Histograms, dense: list[str], sparse: list[str], params: dict) -> None:
    """Add the rows of `dense` statements and of the `sparse` sources (packed per histogram in
    SQL) to `histograms`, in one statement."""
    parts = [
        f"SELECT agent_id, figure, first_bucket, counts, NULL::bytea FROM ({statement}) AS d"
        for statement in dense
    ]
    if sparse:
        parts.append(
            "SELECT agent_id, figure, NULL::int2, NULL::bytea, "
            f"{sparse_sql()} FROM ({' UNION ALL '.join(sparse)}) AS parts GROUP BY agent_id, figure"
        )
    if not parts:
        return
    for agent, figure, first_bucket, counts, pairs in db.session.execute(
        text(" UNION ALL ".join(parts)), params
    ):
        if counts is not None:
            histograms.add_dense((agent, figure), first_bucket, counts)
        else:
            histograms.add_sparse((agent, figure), pairs)


def _raw(plan: WindowPlan, team_sql: str, agent_sql: str, agent_id: uuid.UUID | None):
    """Rows of `team_sql` (or of `agent_sql` for one agent) over the raw stretches of a plan."""
    one_agent = agent_id is not None and agent_id != OVERALL
    for lo, hi in plan.raw_ranges:
        yield from db.session.execute(
            text(agent_sql if one_agent else team_sql),
            {"lo": lo, "hi": hi, "overall": str(OVERALL), "agent": str(agent_id)},
        )


def range_totals(first: date, last: date, *, today: date | None = None) -> RangeTotals:
    """Per-agent and overall sums for the sessions created on UTC days `first`..`last`
    (inclusive): rollups for finished days that are rolled up and not marked dirty, raw rows
    for the others (today's tail, days not rolled up yet, dirty days). Exact at any moment."""
    lo, hi = day_bounds(first, min(last, LATEST.date() - timedelta(days=1)))
    return plan_totals(plan_window(lo, hi, today=today))


def raw_totals(first: date, last: date) -> RangeTotals:
    """The same sums straight from raw rows (for checks and for ranges never rolled up)."""
    totals = RangeTotals()
    for row in _aggregate(first, last):
        totals.add(row)
    return totals

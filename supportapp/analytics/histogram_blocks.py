"""Histogram blocks: the daily histograms of aligned runs of 1, 2, 4, … 1024 days, summed, so
the percentiles of a range of N rolled-up days read O(log N) blocks instead of N days. Each
block also holds its days' rollup figures summed per agent (`stats_rollup_block_totals`), so
the counts, sums and ratings of those days are read from the same O(log N) units.

A block of level k starts on a day whose ordinal is a multiple of 2**k and covers 2**k days;
it exists once both its halves do (level k − 1; level 0 is the day itself, in
stats_daily_histograms) and holds the sum of its days' counts, one dense run of counts per
agent and figure (a few hundred bytes instead of hundreds of rows: analytics/histograms.py).
Blocks are derived data with one rule for freshness: rolling up a day again deletes every block
that contains it (`forget_blocks_of`, inside rollup_day's transaction), and
`build_missing_blocks` — run after each periodic rollup — builds every block whose halves
exist. A range reader therefore never sees a block that disagrees with its days.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

from sqlalchemy import insert, text
from sqlalchemy.orm import Session

from supportapp.analytics.histograms import Histograms, sparse_sql
from supportapp.analytics.rollup_sql import COLUMNS
from supportapp.extensions import db
from supportapp.models import OVERALL, HistogramBlockCount
from supportapp.services.unit_of_work import unit_of_work

MAX_LEVEL = 10  # 1024 days
# Advisory-lock namespace ("Roll") of the rollups: object = a day's ordinal (rollup_day: two runs
# of one day take turns) or BLOCKS_LOCK_OBJECT, which no ordinal takes (block builds and
# rollup_day's deletions of blocks take turns, so a build never sums a day being replaced).
# Defined here rather than in analytics/rollups.py, which imports this module.
ROLLUP_LOCK_CLASS = 0x526F6C6C
BLOCKS_LOCK_OBJECT = -1

# Present units of the level below a level-k block: days with a rollup (level 0) or blocks.
_NEW_BLOCKS_SQL = """
WITH halves AS (
    SELECT day AS first_day FROM stats_daily_rollups
     WHERE :level = 1 AND agent_id = CAST(:overall AS uuid)
    UNION ALL
    SELECT first_day FROM stats_histogram_blocks WHERE level = :level - 1
),
parents AS (
    SELECT first_day - ((first_day - DATE '0001-01-01' + 1) % (1 << :level)) AS first_day
      FROM halves
     GROUP BY 1
    HAVING count(*) = 2
)
INSERT INTO stats_histogram_blocks (level, first_day, computed_at)
SELECT :level, p.first_day, now() FROM parents p
 WHERE NOT EXISTS (SELECT 1 FROM stats_histogram_blocks b
                    WHERE b.level = :level AND b.first_day = p.first_day)
RETURNING first_day
"""
# The two days of each new level-1 block, as sparse bytes per (agent, figure).
_DAY_PAIRS_SQL = f"""
SELECT p.first_day, h.agent_id, h.figure, {sparse_sql("h.bucket", "h.count")} AS pairs
  FROM unnest(CAST(:firsts AS date[])) AS p(first_day)
  JOIN stats_daily_histograms h ON h.day BETWEEN p.first_day AND p.first_day + 1
 GROUP BY 1, 2, 3
"""
# The summed rollup figures of each new block, per agent: from its two days (level 1) or from
# its halves' totals (level ≥ 2).
_TOTALS_SQL = f"""
INSERT INTO stats_rollup_block_totals (level, first_day, agent_id, {", ".join(COLUMNS)})
SELECT :level, p.first_day, u.agent_id, {", ".join(f"sum(u.{c})" for c in COLUMNS)}
  FROM unnest(CAST(:firsts AS date[])) AS p(first_day)
 CROSS JOIN LATERAL (VALUES (p.first_day), (p.first_day + (1 << (:level - 1)))) AS h(first_day)
  JOIN (SELECT day AS first_day, agent_id, {", ".join(COLUMNS)} FROM stats_daily_rollups
         WHERE :level = 1
        UNION ALL
        SELECT first_day, agent_id, {", ".join(COLUMNS)} FROM stats_rollup_block_totals
         WHERE :level > 1 AND level = :level - 1) AS u
    ON u.first_day = h.first_day
 GROUP BY p.first_day, u.agent_id
"""
# The halves of each new block of level ≥ 2.
_HALVES_SQL = """
SELECT first_day, agent_id, figure, first_bucket, counts FROM stats_histogram_block_counts
 WHERE level = :below AND first_day = ANY(:days)
"""


def rollup_lock(session: Session, obj: int) -> None:
    """Take the rollups' advisory lock `obj` until the session's transaction ends."""
    session.execute(
        text("SELECT pg_advisory_xact_lock(:cls, :obj)"),
        {"cls": ROLLUP_LOCK_CLASS, "obj": obj},
    )


def forget_blocks_of(session: Session, day: date) -> None:
    """Delete every block containing `day` (with its counts), in the caller's transaction."""
    rollup_lock(session, BLOCKS_LOCK_OBJECT)
    session.execute(
        text(
            "DELETE FROM stats_histogram_blocks"
            " WHERE first_day <= :day AND first_day > :day - (1 << level)"
        ),
        {"day": day},
    )


def build_missing_blocks() -> int:
    """Build, level by level, every block whose two halves exist; returns how many."""
    built = 0
    for level in range(1, MAX_LEVEL + 1):
        with unit_of_work() as uow:
            rollup_lock(uow.db, BLOCKS_LOCK_OBJECT)
            firsts = list(
                uow.db.scalars(text(_NEW_BLOCKS_SQL), {"level": level, "overall": str(OVERALL)})
            )
            if firsts:
                _write_counts(uow.db, level, firsts)
                uow.db.execute(text(_TOTALS_SQL), {"level": level, "firsts": firsts})
        built += len(firsts)
    return built


def _write_counts(session: Session, level: int, firsts: list[date]) -> None:
    """Write the counts of new blocks: the sums of their two days (level 1) or halves."""
    half = timedelta(days=1 << (level - 1))
    sums = {first: Histograms() for first in firsts}
    if level == 1:
        for row in session.execute(text(_DAY_PAIRS_SQL), {"firsts": firsts}):
            sums[row.first_day].add_sparse((row.agent_id, row.figure), row.pairs)
    else:
        halves = [*firsts, *(first + half for first in firsts)]
        for row in session.execute(text(_HALVES_SQL), {"below": level - 1, "days": halves}):
            block = row.first_day if row.first_day in sums else row.first_day - half
            sums[block].add_dense((row.agent_id, row.figure), row.first_bucket, row.counts)
    rows = [
        {
            "level": level,
            "first_day": first,
            "agent_id": agent,
            "figure": figure,
            "first_bucket": first_bucket,
            "counts": counts,
        }
        for first, histograms in sums.items()
        for (agent, figure), first_bucket, counts in histograms.dense()
    ]
    if rows:
        session.execute(insert(HistogramBlockCount), rows)


def block_days(level: int, first_day: date) -> tuple[date, date]:
    """First and last day of a block."""
    return first_day, first_day + timedelta(days=(1 << level) - 1)


def cover(days: Iterable[date], blocks: set[tuple[int, date]]) -> list[tuple[int, date]]:
    """The fewest (level, first_day) units covering exactly `days`: the largest existing block
    that starts where the run of consecutive days does and fits in it, else the day itself
    (level 0)."""
    ordinals = sorted({day.toordinal() for day in days})
    found: list[tuple[int, date]] = []
    index = 0
    while index < len(ordinals):
        # End of the run of consecutive days starting here.
        end = index
        while end + 1 < len(ordinals) and ordinals[end + 1] == ordinals[end] + 1:
            end += 1
        cursor, last = ordinals[index], ordinals[end]
        while cursor <= last:
            level = MAX_LEVEL
            while level > 0 and not (
                cursor % (1 << level) == 0
                and cursor + (1 << level) - 1 <= last
                and (level, date.fromordinal(cursor)) in blocks
            ):
                level -= 1
            found.append((level, date.fromordinal(cursor)))
            cursor += 1 << level
        index = end + 1
    return found


def existing_blocks(first: date, last: date) -> set[tuple[int, date]]:
    """The blocks that lie within [first, last]."""
    rows = db.session.execute(
        text(
            "SELECT level, first_day FROM stats_histogram_blocks"
            " WHERE first_day BETWEEN :first AND :last"
            " AND first_day + (1 << level) - 1 <= :last"
        ),
        {"first": first, "last": last},
    )
    return {(row.level, row.first_day) for row in rows}


def check_block(level: int, first_day: date) -> int:
    """(agent, figure) histograms of a block that differ from the sum of its days' (0 = ok)."""
    first, last = block_days(level, first_day)
    stored, summed = Histograms(), Histograms()
    for row in db.session.execute(
        text(
            "SELECT agent_id, figure, first_bucket, counts FROM stats_histogram_block_counts"
            " WHERE level = :level AND first_day = :first_day"
        ),
        {"level": level, "first_day": first_day},
    ):
        stored.add_dense((row.agent_id, row.figure), row.first_bucket, row.counts)
    for row in db.session.execute(
        text(
            "SELECT agent_id, figure, bucket, sum(count) AS n FROM stats_daily_histograms"
            " WHERE day BETWEEN :first AND :last GROUP BY 1, 2, 3"
        ),
        {"first": first, "last": last},
    ):
        summed.add((row.agent_id, row.figure), row.bucket, int(row.n))
    return len(stored.differences(summed))

"""Log-scale histograms of the three times (first response, response, resolution) and the
percentiles read from them.

A value of `s` seconds falls in bucket `floor(ln(1 + s) / ln(GROWTH))`: each bucket is 2 %
wider than the one before, so about 900 buckets cover one second to a year and any value is
known to within ±1 % of (1 + s). Daily rollups keep one count per (day, agent, figure, bucket)
(`stats_daily_histograms`); the reader adds the raw tail bucketed by the same expression and
PERCENTILES_SQL reads medians and p90s from the merged counts. Exact percentiles stay the rule for
small ranges (services/metrics.py decides which path a request takes).
"""

from __future__ import annotations

import math
from enum import IntEnum

GROWTH = 1.02
LN_GROWTH = math.log(GROWTH)


class Figure(IntEnum):
    """The `figure` column of the histogram rows."""

    FIRST_RESPONSE = 1
    RESPONSE = 2
    RESOLUTION = 3


# SQL for the bucket of `seconds` — the same expression in the rollup and the raw reader.
BUCKET_SQL = f"floor(ln(1 + greatest({{seconds}}, 0)) / {LN_GROWTH!r})::int"


def bucket_of(seconds: float) -> int:
    return math.floor(math.log1p(max(seconds, 0.0)) / LN_GROWTH)


def bucket_bounds(bucket: int) -> tuple[float, float]:
    """[lower, upper) in seconds of a bucket."""
    return math.expm1(bucket * LN_GROWTH), math.expm1((bucket + 1) * LN_GROWTH)


# Medians and 90th percentiles of bucket counts, computed where the counts are: `{source}` is
# any query of (agent_id, figure, bucket, n) rows (several rows per bucket are summed). The
# same rank arithmetic as percentile_cont — position p·(n−1), linear interpolation between the
# values at its floor and the next rank — with each ranked value placed evenly inside its
# bucket: the value of rank r in a bucket [lower, upper) holding ranks before..before+n−1 is
# lower + (upper − lower)·(r − before + ½)/n. One row per (agent_id, figure, p).
PERCENTILES_SQL = f"""
WITH h AS (
    SELECT agent_id, figure, bucket, sum(n)::float8 AS n
      FROM ({{source}}) AS rows
     GROUP BY agent_id, figure, bucket
),
c AS (
    SELECT agent_id, figure, bucket, n,
           sum(n) OVER (PARTITION BY agent_id, figure ORDER BY bucket) - n AS before,
           sum(n) OVER (PARTITION BY agent_id, figure) AS total
      FROM h
),
-- The few buckets holding a wanted rank (rank lo = floor(p·(total−1)) or lo + 1).
candidates AS (
    SELECT * FROM c
     WHERE (floor(0.5 * (total - 1)) + 1 >= before AND floor(0.5 * (total - 1)) < before + n)
        OR (floor(0.9 * (total - 1)) + 1 >= before AND floor(0.9 * (total - 1)) < before + n)
),
valued AS (
    SELECT c.agent_id, c.figure, q.p, q.p * (c.total - 1) AS pos,
           exp(c.bucket * {LN_GROWTH!r}) - 1
             + (exp((c.bucket + 1) * {LN_GROWTH!r}) - exp(c.bucket * {LN_GROWTH!r}))
               * (k.rank - c.before + 0.5) / c.n AS value
      FROM candidates c
     CROSS JOIN (VALUES (0.5::float8), (0.9::float8)) AS q(p)
     CROSS JOIN LATERAL (VALUES (floor(q.p * (c.total - 1))),
                                (least(floor(q.p * (c.total - 1)) + 1, c.total - 1))) AS k(rank)
     WHERE k.rank >= c.before AND k.rank < c.before + c.n
)
SELECT agent_id, figure, p,
       min(value) + (max(value) - min(value)) * (pos - floor(pos)) AS value
  FROM valued
 GROUP BY agent_id, figure, p, pos
"""

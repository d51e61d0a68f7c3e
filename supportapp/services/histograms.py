"""Log-scale histograms of the three times (first response, response, resolution) and the
percentiles read from them.

A value of `s` seconds falls in bucket `floor(ln(1 + s) / ln(GROWTH))`: each bucket is 2 %
wider than the one before, so about 900 buckets cover one second to a year and any value is
known to within ±1 % of (1 + s). Daily rollups keep one count per (day, agent, figure, bucket)
(`stats_daily_histograms`); the reader adds the raw tail bucketed by the same expression and
`percentile` reads medians and p90s from the merged counts. Exact percentiles stay the rule for
small ranges (services/metrics.py decides which path a request takes).
"""

from __future__ import annotations

import math
import uuid
from collections import defaultdict
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


class Histograms:
    """Bucket counts by (agent or OVERALL, figure)."""

    def __init__(self) -> None:
        self.counts: dict[tuple[uuid.UUID, int], dict[int, int]] = defaultdict(
            lambda: defaultdict(int)
        )

    def add(self, agent_id: uuid.UUID, figure: int, bucket: int, n: int) -> None:
        self.counts[(agent_id, int(figure))][int(bucket)] += int(n)

    def of(self, agent_id: uuid.UUID, figure: Figure) -> dict[int, int]:
        return self.counts.get((agent_id, int(figure)), {})


def percentile(counts: dict[int, int], fraction: float) -> float | None:
    """`percentile_cont(fraction)` estimated from bucket counts: the same rank arithmetic
    (position fraction·(n−1), linear interpolation between neighbours), each ranked value
    placed evenly inside its bucket. None when there is no value."""
    total = sum(counts.values())
    if total == 0:
        return None
    position = fraction * (total - 1)
    low_rank = math.floor(position)
    low = _value_at(counts, low_rank)
    if position == low_rank:
        return low
    high = _value_at(counts, low_rank + 1)
    return low + (high - low) * (position - low_rank)


def _value_at(counts: dict[int, int], rank: int) -> float:
    seen = 0
    for bucket in sorted(counts):
        n = counts[bucket]
        if rank < seen + n:
            lower, upper = bucket_bounds(bucket)
            return lower + (upper - lower) * (rank - seen + 0.5) / n
        seen += n
    raise ValueError("rank beyond the histogram")

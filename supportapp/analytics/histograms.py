"""Log-scale histograms of the three times (first response, response, resolution) and the
percentiles read from them.

A value of `s` seconds falls in bucket `floor(ln(1 + s) / ln(GROWTH))`: each bucket is 2 %
wider than the one before (ACCURACY), so about 900 buckets cover one second to a year. A
percentile read from them lies in the same bucket as the exact one, so it is within 2 % of
(1 s + the exact value) — the one accuracy figure of the histograms, quoted in README.md and
docs/metrics.md. Daily rollups keep one count per (day, agent, figure, bucket)
(`stats_daily_histograms`), histogram blocks the sums of runs of days; the reader merges them
with the raw tail, bucketed by the same expression, in `Histograms` and reads medians and p90s
from the merged counts with numpy, every agent at once. Exact percentiles stay the rule for
small ranges (analytics/metrics.py decides which path a request takes).
"""

from __future__ import annotations

import math
from enum import IntEnum

import numpy as np

GROWTH = 1.02
LN_GROWTH = math.log(GROWTH)
# Error bound of a percentile read from the histograms, relative to (1 s + the exact value).
ACCURACY = GROWTH - 1


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


# Bucket counts travel from PostgreSQL as bytes, so a histogram of hundreds of buckets is one
# value to decode (numpy.frombuffer) instead of hundreds of rows: a dense run of big-endian
# int4 counts from a first bucket (histogram blocks), or sparse (int2 bucket, int4 count) pairs
# (days and raw stretches; `sparse_sql` packs them in SQL).
DENSE = np.dtype(">i4")
SPARSE = np.dtype([("bucket", ">i2"), ("n", ">i4")])


def sparse_sql(bucket: str = "bucket", n: str = "n") -> str:
    """The aggregate packing rows' (bucket, n) into SPARSE bytes."""
    return f"string_agg(int2send({bucket}::int2) || int4send({n}::int4), ''::bytea)"


FRACTIONS = (0.5, 0.9)


class Histograms:
    """Bucket counts of several (key, figure) histograms, merged from any number of parts."""

    def __init__(self) -> None:
        self._counts: dict[tuple, np.ndarray] = {}

    def _row(self, key: tuple, size: int) -> np.ndarray:
        row = self._counts.get(key)
        if row is None or len(row) < size:
            grown = np.zeros(max(size, 64), dtype=np.int64)
            if row is not None:
                grown[: len(row)] = row
            self._counts[key] = row = grown
        return row

    def add_dense(self, key: tuple, first_bucket: int, counts: bytes) -> None:
        values = np.frombuffer(counts, dtype=DENSE)
        row = self._row(key, first_bucket + len(values))
        row[first_bucket : first_bucket + len(values)] += values

    def add_sparse(self, key: tuple, pairs: bytes) -> None:
        values = np.frombuffer(pairs, dtype=SPARSE)
        if len(values):
            buckets = values["bucket"].astype(np.int64)
            np.add.at(self._row(key, int(buckets.max()) + 1), buckets, values["n"])

    def add(self, key: tuple, bucket: int, n: int) -> None:
        self._row(key, bucket + 1)[bucket] += n

    def dense(self) -> list[tuple[tuple, int, bytes]]:
        """(key, first bucket, DENSE bytes) of every non-empty histogram, zeros trimmed."""
        found = []
        for key, row in self._counts.items():
            used = np.flatnonzero(row)
            if len(used):
                first, last = int(used[0]), int(used[-1])
                found.append((key, first, row[first : last + 1].astype(DENSE).tobytes()))
        return found

    def differences(self, other: Histograms) -> list[tuple]:
        """Keys whose counts differ between the two (trailing zeros do not count)."""
        differ = []
        for key in set(self._counts) | set(other._counts):
            mine = np.trim_zeros(self._counts.get(key, np.zeros(0, np.int64)), "b")
            theirs = np.trim_zeros(other._counts.get(key, np.zeros(0, np.int64)), "b")
            if not np.array_equal(mine, theirs):
                differ.append(key)
        return differ

    def percentiles(self) -> dict[tuple, tuple[float | None, float | None]]:
        """(median, p90) in seconds of every histogram, computed for all at once."""
        if not self._counts:
            return {}
        keys = list(self._counts)
        width = max(len(row) for row in self._counts.values())
        counts = np.zeros((len(keys), width), dtype=np.int64)
        for index, key in enumerate(keys):
            row = self._counts[key]
            counts[index, : len(row)] = row
        found = [percentiles_of(counts, fraction) for fraction in FRACTIONS]
        return {
            key: tuple(None if np.isnan(f[index]) else float(f[index]) for f in found)
            for index, key in enumerate(keys)
        }


def percentiles_of(counts: np.ndarray, fraction: float) -> np.ndarray:
    """The `fraction` percentile of each row of bucket counts (NaN for an empty row), with
    percentile_cont's rank arithmetic — position p·(n−1), linear interpolation between the
    values at its floor and the next rank — and each ranked value placed evenly inside its
    bucket: the value of rank r in a bucket [lower, upper) holding ranks before..before+n−1 is
    lower + (upper − lower)·(r − before + ½)/n."""
    cumulative = counts.cumsum(axis=1)
    total = cumulative[:, -1]
    position = fraction * np.maximum(total - 1, 0)
    low = np.floor(position)
    high = np.minimum(low + 1, np.maximum(total - 1, 0))
    rows = np.arange(len(counts))

    def value_at(rank: np.ndarray) -> np.ndarray:
        bucket = (cumulative <= rank[:, None]).sum(axis=1)
        bucket = np.minimum(bucket, counts.shape[1] - 1)
        n = counts[rows, bucket]
        before = cumulative[rows, bucket] - n
        lower = np.expm1(bucket * LN_GROWTH)
        upper = np.expm1((bucket + 1) * LN_GROWTH)
        with np.errstate(divide="ignore"):  # empty rows (n = 0) are dropped below
            return lower + (upper - lower) * (rank - before + 0.5) / n

    with np.errstate(invalid="ignore"):
        at_low, at_high = value_at(low), value_at(high)
        found = at_low + (at_high - at_low) * (position - low)
    return np.where(total > 0, found, np.nan)

"""Log-scale buckets, bucket counts as bytes from PostgreSQL, and the percentiles read from
merged counts (Histograms)."""

from __future__ import annotations

import random
import statistics
import uuid
from collections import Counter

import pytest
from sqlalchemy import text

from supportapp.analytics.histograms import Histograms, bucket_bounds, bucket_of, sparse_sql
from supportapp.extensions import db


def linear_percentile(values: list[float], fraction: float) -> float:
    """percentile_cont / NumPy's linear method."""
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def from_histogram(groups: dict[tuple[uuid.UUID, int], list[float]]) -> dict:
    """{(agent, figure): {p: value}} from Histograms over the bucket counts of `groups`, each
    bucket split over a sparse part sent by PostgreSQL (sparse_sql) and a direct one, as days
    and blocks are merged."""
    histograms = Histograms()
    rows = []
    for (agent, figure), values in groups.items():
        for bucket, n in Counter(bucket_of(v) for v in values).items():
            rows.append(f"('{agent}'::uuid, {figure}, {bucket}, {n // 2})")
            histograms.add((agent, figure), bucket, n - n // 2)
    source = "SELECT * FROM (VALUES " + ", ".join(rows) + ") AS t(agent_id, figure, bucket, n)"
    for row in db.session.execute(
        text(f"SELECT agent_id, figure, {sparse_sql()} AS pairs FROM ({source}) AS s GROUP BY 1, 2")
    ):
        histograms.add_sparse((row.agent_id, row.figure), row.pairs)
    return {key: {0.5: median, 0.9: p90} for key, (median, p90) in histograms.percentiles().items()}


def test_a_value_lies_inside_its_bucket():
    for value in (0.0, 0.5, 1.0, 59.9, 60.0, 3600.0, 86_400.0 * 30):
        lower, upper = bucket_bounds(bucket_of(value))
        assert lower <= value < upper
        assert upper - lower <= 0.0201 * (1 + lower)


def test_percentiles_within_two_percent_for_every_group(app_ctx):
    rng = random.Random(3)
    groups = {
        (uuid.uuid4(), figure): [rng.lognormvariate(5, 1.5) for _ in range(size)]
        for figure, size in ((1, 1), (2, 2), (3, 7), (1, 1000), (2, 333))
    }
    found = from_histogram(groups)
    assert set(found) == set(groups)
    for key, values in groups.items():
        for fraction in (0.5, 0.9):
            want = linear_percentile(values, fraction)
            assert found[key][fraction] == pytest.approx(want, abs=0.02 * (1 + want))


def test_one_value_is_its_own_percentiles(app_ctx):
    agent = uuid.uuid4()
    found = from_histogram({(agent, 1): [600.0]})[(agent, 1)]
    lower, upper = bucket_bounds(bucket_of(600.0))
    assert found[0.5] == found[0.9] == pytest.approx((lower + upper) / 2)


def test_median_of_a_large_sample(app_ctx):
    rng = random.Random(7)
    agent = uuid.uuid4()
    values = [rng.uniform(10, 600) for _ in range(20_001)]
    found = from_histogram({(agent, 2): values})[(agent, 2)]
    assert found[0.5] == pytest.approx(statistics.median(values), rel=0.01)


def test_dense_counts_merge_with_sparse_ones():
    histograms = Histograms()
    key = (uuid.uuid4(), 2)
    # Buckets 300, 301, 302 hold 1, 0, 2 (big-endian int4 from bucket 300).
    histograms.add_dense(key, 300, bytes.fromhex("000000010000000000000002"))
    histograms.add(key, 301, 1)
    other = Histograms()
    for bucket, n in ((300, 1), (301, 1), (302, 2)):
        other.add(key, bucket, n)
    assert histograms.differences(other) == []
    other.add(key, 305, 1)
    assert histograms.differences(other) == [key]
    # Ranks 0..3 in buckets 300, 301, 302, 302: the median lies between ranks 1 and 2.
    lower, upper = bucket_bounds(301)
    low_value = lower + (upper - lower) * 0.5
    lower, upper = bucket_bounds(302)
    high_value = lower + (upper - lower) * 0.25
    median, _ = histograms.percentiles()[key]
    assert median == pytest.approx(low_value + (high_value - low_value) * 0.5)


def test_an_empty_histogram_has_no_percentiles():
    histograms = Histograms()
    histograms.add((uuid.uuid4(), 1), 10, 0)
    assert list(histograms.percentiles().values()) == [(None, None)]

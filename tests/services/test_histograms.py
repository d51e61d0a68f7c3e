"""Log-scale buckets, and percentiles read from bucket counts in SQL (PERCENTILES_SQL)."""

from __future__ import annotations

import random
import statistics
import uuid
from collections import Counter

import pytest
from sqlalchemy import text

from supportapp.extensions import db
from supportapp.services.histograms import PERCENTILES_SQL, bucket_bounds, bucket_of


def linear_percentile(values: list[float], fraction: float) -> float:
    """percentile_cont / NumPy's linear method."""
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def from_histogram(groups: dict[tuple[uuid.UUID, int], list[float]]) -> dict:
    """{(agent, figure): {p: value}} from PERCENTILES_SQL over the bucket counts of `groups`
    (each bucket split over two source rows, as rollups and raw tails are)."""
    rows = []
    for (agent, figure), values in groups.items():
        for bucket, n in Counter(bucket_of(v) for v in values).items():
            rows.append(f"('{agent}'::uuid, {figure}, {bucket}, {n // 2})")
            rows.append(f"('{agent}'::uuid, {figure}, {bucket}, {n - n // 2})")
    source = "SELECT * FROM (VALUES " + ", ".join(rows) + ") AS t(agent_id, figure, bucket, n)"
    found: dict = {}
    for row in db.session.execute(text(PERCENTILES_SQL.format(source=source))):
        found.setdefault((row.agent_id, row.figure), {})[row.p] = row.value
    return found


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

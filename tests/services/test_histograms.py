"""Percentiles read from log-scale bucket counts."""

from __future__ import annotations

import random
import statistics

import pytest

from supportapp.services.histograms import bucket_bounds, bucket_of, percentile


def linear_percentile(values: list[float], fraction: float) -> float:
    """percentile_cont / NumPy's linear method."""
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def histogram(values: list[float]) -> dict[int, int]:
    counts: dict[int, int] = {}
    for value in values:
        counts[bucket_of(value)] = counts.get(bucket_of(value), 0) + 1
    return counts


def test_a_value_lies_inside_its_bucket():
    for value in (0.0, 0.5, 1.0, 59.9, 60.0, 3600.0, 86_400.0 * 30):
        lower, upper = bucket_bounds(bucket_of(value))
        assert lower <= value < upper
        assert upper - lower <= 0.0201 * (1 + lower)


def test_no_value_no_percentile():
    assert percentile({}, 0.5) is None


@pytest.mark.parametrize("fraction", [0.0, 0.1, 0.5, 0.9, 1.0])
@pytest.mark.parametrize("size", [1, 2, 7, 1000])
def test_percentiles_within_two_percent(fraction, size):
    rng = random.Random(size)
    values = [rng.lognormvariate(5, 1.5) for _ in range(size)]
    want = linear_percentile(values, fraction)
    assert percentile(histogram(values), fraction) == pytest.approx(want, abs=0.02 * (1 + want))


def test_median_of_a_large_sample():
    rng = random.Random(7)
    values = [rng.uniform(10, 600) for _ in range(20_001)]
    assert percentile(histogram(values), 0.5) == pytest.approx(statistics.median(values), rel=0.01)

"""The benchmarks start their own servers on their own databases: the suite's app, database
and per-test cleanup are not needed here."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def clean_state():
    """Overrides tests/conftest.py's: nothing of the suite's state is used."""
    yield

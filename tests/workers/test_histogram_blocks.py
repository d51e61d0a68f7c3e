"""Histogram blocks: the fewest blocks cover a range, every block equals the sum of its days,
re-rolling a day forgets its blocks, and percentiles read through blocks equal those read
from the days."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import text

from supportapp.analytics import histogram_blocks, rollups, windows
from supportapp.analytics.histogram_blocks import cover
from supportapp.extensions import db
from supportapp.models import OVERALL
from tests.workers.test_rollups import DAYS_BACK, history  # noqa: F401 (fixture)

# A day whose ordinal is a multiple of 8 (so aligned for levels 0–3).
ALIGNED = date.fromordinal(8 * (date(2026, 1, 1).toordinal() // 8))


def days(first: date, count: int) -> list[date]:
    return [first + timedelta(days=n) for n in range(count)]


# --- cover ------------------------------------------------------------------------------------


def test_cover_without_blocks_is_the_days_themselves():
    wanted = days(ALIGNED, 5)
    assert cover(wanted, set()) == [(0, day) for day in wanted]


def test_cover_takes_the_largest_block_that_starts_at_the_cursor_and_fits():
    blocks = {(3, ALIGNED), (2, ALIGNED + timedelta(8)), (1, ALIGNED + timedelta(12))}
    wanted = days(ALIGNED, 15)
    assert cover(wanted, blocks) == [
        (3, ALIGNED),
        (2, ALIGNED + timedelta(8)),
        (1, ALIGNED + timedelta(12)),
        (0, ALIGNED + timedelta(14)),
    ]


def test_cover_never_uses_a_block_reaching_outside_the_days():
    blocks = {(3, ALIGNED), (1, ALIGNED + timedelta(2))}
    # Day 5 is missing (dirty or not rolled up): the level-3 block must not be used.
    wanted = [day for day in days(ALIGNED, 8) if day != ALIGNED + timedelta(5)]
    assert cover(wanted, blocks) == [
        (0, ALIGNED),
        (0, ALIGNED + timedelta(1)),
        (1, ALIGNED + timedelta(2)),
        (0, ALIGNED + timedelta(4)),
        (0, ALIGNED + timedelta(6)),
        (0, ALIGNED + timedelta(7)),
    ]


def test_cover_of_a_run_that_starts_unaligned():
    blocks = {(1, ALIGNED), (1, ALIGNED + timedelta(2)), (2, ALIGNED + timedelta(4))}
    wanted = days(ALIGNED + timedelta(1), 7)
    assert cover(wanted, blocks) == [
        (0, ALIGNED + timedelta(1)),
        (1, ALIGNED + timedelta(2)),
        (2, ALIGNED + timedelta(4)),
    ]


# --- building and reading ---------------------------------------------------------------------


def all_blocks() -> set[tuple[int, date]]:
    return histogram_blocks.existing_blocks(date(1970, 1, 1), date(9998, 1, 1))


def rolled_days() -> list[date]:
    return windows.plan_window(None, None).rolled_days


@pytest.mark.usefixtures("history")
def test_a_periodic_run_builds_every_block_whose_days_are_rolled_up(app_ctx):
    # 16 finished days: the level-2 block holding the oldest day with sessions (level 2 and up
    # are summed from their halves, level 1 from the days) lies inside them.
    rollups.rollup_recent(16)
    rolled = set(rolled_days())
    blocks = all_blocks()
    oldest = windows.utc_today() - timedelta(days=DAYS_BACK)
    assert (2, oldest - timedelta(days=oldest.toordinal() % 4)) in blocks
    assert any(level == 3 for level, _ in blocks)
    for level, first_day in blocks:
        first, last = histogram_blocks.block_days(level, first_day)
        assert set(days(first, (last - first).days + 1)) <= rolled
        assert histogram_blocks.check_block(level, first_day) == 0
    # Every aligned pair of rolled days has its block.
    for day in rolled:
        pair_start = day - timedelta(days=day.toordinal() % 2)
        if {pair_start, pair_start + timedelta(1)} <= rolled:
            assert (1, pair_start) in blocks
    assert histogram_blocks.build_missing_blocks() == 0  # nothing left to build


@pytest.mark.usefixtures("history")
def test_rolling_a_day_again_forgets_its_blocks_until_the_next_build(app_ctx):
    rollups.rollup_recent(DAYS_BACK + 1)
    level, first_day = max(all_blocks())
    day = first_day + timedelta(days=(1 << level) - 1)
    rollups.rollup_day(day)
    after = all_blocks()
    assert not any(
        first <= day <= last
        for first, last in (histogram_blocks.block_days(*block) for block in after)
    )
    assert histogram_blocks.build_missing_blocks() > 0
    assert (level, first_day) in all_blocks()
    assert histogram_blocks.check_block(level, first_day) == 0


@pytest.mark.usefixtures("history")
@pytest.mark.parametrize("agent", [None, OVERALL, "an agent"])
def test_percentiles_through_blocks_equal_percentiles_through_days(app_ctx, agent):
    rollups.rollup_recent(DAYS_BACK + 1)
    agent_id = agent
    if agent == "an agent":
        agent_id = db.session.scalar(
            text("SELECT agent_id FROM stats_daily_rollups WHERE agent_id <> :overall LIMIT 1"),
            {"overall": OVERALL},
        )
    assert all_blocks()
    plan = windows.plan_window(None, None)
    through_blocks = windows.plan_percentiles(plan, agent_id)
    db.session.execute(text("DELETE FROM stats_histogram_blocks"))
    assert windows.plan_percentiles(plan, agent_id) == through_blocks
    assert through_blocks


@pytest.mark.usefixtures("history")
@pytest.mark.parametrize("agent", [None, OVERALL, "an agent"])
def test_totals_through_blocks_equal_totals_through_days(app_ctx, agent):
    rollups.rollup_recent(DAYS_BACK + 1)
    agent_id = agent
    if agent == "an agent":
        agent_id = db.session.scalar(
            text("SELECT agent_id FROM stats_daily_rollups WHERE agent_id <> :overall LIMIT 1"),
            {"overall": OVERALL},
        )
    assert any(level > 0 for level, _ in all_blocks())
    plan = windows.plan_window(None, None)
    through_blocks = windows.plan_totals(plan, agent_id)
    db.session.execute(text("DELETE FROM stats_histogram_blocks"))  # and their totals
    assert not db.session.scalar(text("SELECT count(*) FROM stats_rollup_block_totals"))
    through_days = windows.plan_totals(plan, agent_id)

    def rounded(totals):
        return {name: round(value, 6) for name, value in totals.as_dict().items()}

    assert rounded(through_blocks.overall) == rounded(through_days.overall)
    assert through_blocks.agents.keys() == through_days.agents.keys()
    for key, totals in through_days.agents.items():
        assert rounded(through_blocks.agents[key]) == rounded(totals)
    assert through_blocks.overall.sessions_created or through_blocks.agents


@pytest.mark.usefixtures("history")
def test_every_agents_rolled_part_is_reused_until_one_of_its_units_changes(app_ctx):
    rollups.rollup_recent(DAYS_BACK + 1)
    windows._ROLLED_CACHE.clear()
    plan = windows.plan_window(None, None)
    first = windows.plan_percentiles(plan, None)
    assert len(windows._ROLLED_CACHE) == 1
    assert windows.plan_percentiles(plan, None) == first  # the kept rolled-up part
    assert len(windows._ROLLED_CACHE) == 1
    # One day's reply times change and the day is rolled up again (its blocks are dropped).
    day = max(plan.rolled_days)
    db.session.execute(
        text(
            "UPDATE chat_messages SET response_seconds = response_seconds * 100"
            " WHERE response_seconds IS NOT NULL AND session_id IN"
            " (SELECT id FROM chat_sessions WHERE created_at >= :lo AND created_at < :hi)"
        ),
        dict(zip(("lo", "hi"), windows.day_bounds(day, day), strict=True)),
    )
    db.session.commit()
    rollups.rollup_day(day)
    histogram_blocks.build_missing_blocks()
    plan = windows.plan_window(None, None)
    changed = windows.plan_percentiles(plan, None)
    assert changed != first
    windows._ROLLED_CACHE.clear()
    assert windows.plan_percentiles(plan, None) == changed

"""Per-day aggregates of the support work, kept by a periodic task (analytics/rollups.py).

A row is one UTC day × one agent. The day is the UTC creation day of the sessions the figures
belong to (the same cohort rule as GET /api/chat/stats: every figure follows the sessions
created in the range), so a reply or a rating that arrives days later corrects the row of the
day its session was created. `agent_id` = `OVERALL` (the nil UUID) is the whole team, unassigned
work included; every rolled-up day has its OVERALL row, even when all zeros, which is how a
reader tells "rolled up, nothing happened" from "not rolled up yet".
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Date,
    DateTime,
    Float,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from supportapp.extensions import db
from supportapp.models.base import created_at_column

OVERALL = uuid.UUID(int=0)


class DailyRollup(db.Model):
    """Figures of the sessions created on `day` (UTC), for one agent or OVERALL.

    Per agent, session figures follow the agent the session has now (or had when it was
    closed), reply figures the agent who wrote the reply, ratings the agent who was rated.
    """

    __tablename__ = "stats_daily_rollups"
    # Which days are rolled up (their OVERALL rows: windows.plan_window) and one agent's days,
    # without visiting every agent's row of each day.
    __table_args__ = (Index("ix_rollups_agent_day", "agent_id", "day"),)

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    # No foreign key: OVERALL is not an agent, and history outlives a deleted agent.
    agent_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    sessions_created: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    sessions_closed: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # Support replies that ended a user's wait (chat_messages.response_seconds).
    responses: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    response_seconds: Mapped[float] = mapped_column(Float, nullable=False, default=0)
    # First replies of an assignment episode (chat_messages.first_response_seconds).
    first_responses: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    first_response_seconds: Mapped[float] = mapped_column(Float, nullable=False, default=0)
    # Closed sessions: created → closed (per agent: the agent the session had when closed;
    # OVERALL: every closed session, unassigned ones included).
    resolutions: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    resolution_seconds: Mapped[float] = mapped_column(Float, nullable=False, default=0)
    # Support messages written.
    messages_sent: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    ratings: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    rating_sum: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # Ratings of 4 or 5.
    ratings_positive: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    computed_at: Mapped[datetime] = created_at_column()


class DailyHistogram(db.Model):
    """How many first-response, response and resolution times of the sessions created on `day`
    fall in each log-scale bucket (analytics/histograms.py), per agent and OVERALL — what the
    medians and 90th percentiles of large ranges are read from. Written with the day's
    DailyRollup rows, in the same transaction."""

    __tablename__ = "stats_daily_histograms"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    agent_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    # analytics.histograms.Figure
    figure: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    bucket: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    count: Mapped[int] = mapped_column(Integer, nullable=False)


class HistogramBlock(db.Model):
    """A run of 2**level consecutive rolled-up days starting on `first_day` (aligned: the
    day's ordinal is a multiple of 2**level) whose histograms are summed in
    HistogramBlockCount, so any range of days is read from O(log days) blocks
    (analytics/histogram_blocks.py). Deleted, with its counts, when one of its days is rolled up
    again; rebuilt by the next periodic run."""

    __tablename__ = "stats_histogram_blocks"

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    first_day: Mapped[date] = mapped_column(Date, primary_key=True)
    computed_at: Mapped[datetime] = created_at_column()


class HistogramBlockCount(db.Model):
    """The DailyHistogram counts of a block's days, summed, for one agent (or OVERALL) and
    figure: `counts` holds big-endian int4 counts of buckets first_bucket, first_bucket + 1, …
    (analytics/histograms.py DENSE)."""

    __tablename__ = "stats_histogram_block_counts"
    __table_args__ = (
        ForeignKeyConstraint(
            ["level", "first_day"],
            ["stats_histogram_blocks.level", "stats_histogram_blocks.first_day"],
            ondelete="CASCADE",
        ),
    )

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    first_day: Mapped[date] = mapped_column(Date, primary_key=True)
    agent_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    figure: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    first_bucket: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    counts: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)


class RollupBlockTotals(db.Model):
    """The DailyRollup figures of a block's days, summed, for one agent (or OVERALL): written
    with the block's histogram counts and deleted with the block, so the counts, sums and
    ratings of N rolled-up days are read from O(log N) rows per agent
    (analytics/histogram_blocks.py, windows.plan_totals)."""

    __tablename__ = "stats_rollup_block_totals"
    __table_args__ = (
        ForeignKeyConstraint(
            ["level", "first_day"],
            ["stats_histogram_blocks.level", "stats_histogram_blocks.first_day"],
            ondelete="CASCADE",
        ),
    )

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    first_day: Mapped[date] = mapped_column(Date, primary_key=True)
    agent_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    sessions_created: Mapped[int] = mapped_column(BigInteger, nullable=False)
    sessions_closed: Mapped[int] = mapped_column(BigInteger, nullable=False)
    responses: Mapped[int] = mapped_column(BigInteger, nullable=False)
    response_seconds: Mapped[float] = mapped_column(Float, nullable=False)
    first_responses: Mapped[int] = mapped_column(BigInteger, nullable=False)
    first_response_seconds: Mapped[float] = mapped_column(Float, nullable=False)
    resolutions: Mapped[int] = mapped_column(BigInteger, nullable=False)
    resolution_seconds: Mapped[float] = mapped_column(Float, nullable=False)
    messages_sent: Mapped[int] = mapped_column(BigInteger, nullable=False)
    ratings: Mapped[int] = mapped_column(BigInteger, nullable=False)
    rating_sum: Mapped[int] = mapped_column(BigInteger, nullable=False)
    ratings_positive: Mapped[int] = mapped_column(BigInteger, nullable=False)


class RollupDirtyDay(db.Model):
    """A change to sessions created on `day` (before the current UTC day) that the day's rollup
    may not include yet. Written by triggers (append-only, so writers never wait on each
    other); the rollup of that day deletes the marks it has accounted for."""

    __tablename__ = "stats_rollup_dirty_days"
    __table_args__ = (Index("ix_rollup_dirty_day", "day"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    day: Mapped[date] = mapped_column(Date, nullable=False)
    marked_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=db.func.now()
    )

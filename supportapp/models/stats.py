"""Hourly counters kept by database triggers, so dashboard figures never scan raw rows.

Buckets are UTC hours of the session's creation time: any time zone whose offset is whole
hours gets exact day/week/month figures from whole buckets, and the stats service counts raw
rows only for the partial buckets at the edges of a range.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Float, Integer
from sqlalchemy.orm import Mapped, mapped_column

from supportapp.extensions import db
from supportapp.models.chat import Priority, SessionStatus, priority_enum, status_enum


class SessionStatsHourly(db.Model):
    """Number of sessions created in `bucket` that are now in `status` with `priority`."""

    __tablename__ = "session_stats_hourly"

    bucket: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    status: Mapped[SessionStatus] = mapped_column(status_enum, primary_key=True)
    priority: Mapped[Priority] = mapped_column(priority_enum, primary_key=True)
    sessions: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class ResponseStatsHourly(db.Model):
    """Support replies that ended a user's wait, by the hour their session was created."""

    __tablename__ = "response_stats_hourly"

    bucket: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    responses: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    response_seconds: Mapped[float] = mapped_column(Float, nullable=False, default=0)

"""SLA targets: per priority, minutes to the first support reply and to closing."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, Integer
from sqlalchemy.orm import Mapped, mapped_column

from supportapp.extensions import db
from supportapp.models.chat import Priority, priority_enum


class SlaTarget(db.Model):
    __tablename__ = "sla_targets"
    __table_args__ = (
        CheckConstraint(
            "first_response_minutes IS NULL OR first_response_minutes > 0",
            name="ck_sla_first_response_positive",
        ),
        CheckConstraint(
            "resolution_minutes IS NULL OR resolution_minutes > 0",
            name="ck_sla_resolution_positive",
        ),
    )

    priority: Mapped[Priority] = mapped_column(priority_enum, primary_key=True)
    first_response_minutes: Mapped[int | None] = mapped_column(Integer)
    resolution_minutes: Mapped[int | None] = mapped_column(Integer)

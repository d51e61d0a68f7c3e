"""The one timestamp format clients see: ISO-8601 in UTC with a `Z`, to the millisecond."""

from __future__ import annotations

from datetime import UTC, datetime


def iso(value: datetime | None) -> str | None:
    """`2026-01-31T09:30:00.123Z`; None stays None."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def now_iso() -> str:
    """The current time in the same format."""
    return iso(datetime.now(UTC))

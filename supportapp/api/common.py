"""Fields and query schemas reused by several features."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import marshmallow as ma

from supportapp.analytics.stats import Range
from supportapp.errors import NotFound, ValidationFailed


class TrimmedString(ma.fields.String):
    """A string stored and returned without surrounding whitespace."""

    def _deserialize(self, value, attr, data, **kwargs):
        result = super()._deserialize(value, attr, data, **kwargs)
        return result.strip()


class PaginationSchema(ma.Schema):
    page = ma.fields.Integer(required=True)
    limit = ma.fields.Integer(required=True)
    total = ma.fields.Integer(required=True)
    totalPages = ma.fields.Integer(required=True)


def pagination(page: int, limit: int, total: int) -> dict[str, int]:
    return {
        "page": page,
        "limit": limit,
        "total": total,
        "totalPages": (total + limit - 1) // limit if total else 0,
    }


class PageQuerySchema(ma.Schema):
    page = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1, max=100_000))
    limit = ma.fields.Integer(load_default=20, validate=ma.validate.Range(min=1, max=100))


class DateRangeQuerySchema(ma.Schema):
    """`from` / `to` of the figures' endpoints (parse_date_range turns them into a Range)."""

    from_ = ma.fields.String(
        data_key="from",
        metadata={"format": "date-time", "description": "ISO date or date-time (inclusive)"},
    )
    to = ma.fields.String(
        metadata={
            "format": "date-time",
            "description": "ISO date (whole day included) or date-time",
        }
    )


def parse_id(value: str, not_found_message: str):
    """Path ids are UUIDs; anything else names nothing, so it is a 404 like a missing row."""
    try:
        return uuid.UUID(value)
    except ValueError as exc:
        raise NotFound(not_found_message) from exc


def parse_date_range(date_from: str | None, date_to: str | None, timezone: str):
    """`from`/`to` query values → a stats Range in UTC. A bare date means the whole day in
    `timezone` (so `to=2024-05-31` includes that day); 400 when malformed or from > to."""
    zone = ZoneInfo(timezone)

    def parse(name: str, raw: str | None, end: bool):
        if raw is None or raw == "":
            return None
        try:
            if len(raw) == 10:
                day = date.fromisoformat(raw)
                moment = datetime(day.year, day.month, day.day, tzinfo=zone)
                return moment + timedelta(days=1) if end else moment
            moment = datetime.fromisoformat(raw)
        except (ValueError, OverflowError) as exc:  # 9999-12-31 as `to` has no next day
            raise ValidationFailed.field(name, "Fecha inválida: use el formato ISO 8601") from exc
        return moment if moment.tzinfo else moment.replace(tzinfo=zone)

    start, end = parse("from", date_from, False), parse("to", date_to, True)
    # Compare with `to` as written: from=2024-05-16&to=2024-05-15 is reversed, not empty.
    if start and end and start > parse("to", date_to, False):
        raise ValidationFailed.field("from", "La fecha 'from' no puede ser posterior a 'to'")
    return Range(start, end)

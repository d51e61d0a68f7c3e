"""Fields and query schemas reused by several features."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import marshmallow as ma
from flask import current_app

from supportapp.analytics.stats import Range
from supportapp.errors import NotFound, ValidationFailed
from supportapp.texts import visible


class TrimmedString(ma.fields.String):
    """A string stored and returned without surrounding whitespace."""

    def _deserialize(self, value, attr, data, **kwargs):
        result = super()._deserialize(value, attr, data, **kwargs)
        return result.strip()


class VisibleText(TrimmedString):
    """Text a person can see: trimmed, and empty when it holds only invisible characters, so
    a length rule with min=1 refuses it as empty."""

    def _deserialize(self, value, attr, data, **kwargs):
        return visible(super()._deserialize(value, attr, data, **kwargs))


DATE_TIME = {"format": "date-time"}


def required_string(**kwargs: Any) -> ma.fields.String:
    """A string field every response carries (with `allow_none=True`, possibly null)."""
    return ma.fields.String(required=True, **kwargs)


def moment(**kwargs: Any) -> ma.fields.String:
    """An ISO 8601 UTC time (`…Z`, representations.iso) every response carries."""
    return ma.fields.String(required=True, metadata=DATE_TIME, **kwargs)


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


def page_schema(name: str, key: str, item: type[ma.Schema]) -> type[ma.Schema]:
    """`{<key>: [item, …], pagination}`: one page of a list (`name` names it in OpenAPI)."""
    return ma.Schema.from_dict(
        {
            key: ma.fields.List(ma.fields.Nested(item), required=True),
            "pagination": ma.fields.Nested(PaginationSchema, required=True),
        },
        name=name,
    )


def page_of(key: str, items: list, query: Mapping[str, Any], total: int) -> dict[str, Any]:
    """The data of a `page_schema` response, for the page and limit of `query`."""
    return {key: items, "pagination": pagination(query["page"], query["limit"], total)}


# Deepest row a list may be read to with page × limit: an OFFSET reads and discards every row
# before the page, so deep pages cost in proportion to their depth.
MAX_LIST_DEPTH = 10_000
MSG_TOO_DEEP = (
    f"No se puede paginar más allá de {MAX_LIST_DEPTH} resultados (page × limit); "
    "usa los filtros para acotar la lista"
)


class PageQuerySchema(ma.Schema):
    page = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1, max=100_000))
    limit = ma.fields.Integer(load_default=20, validate=ma.validate.Range(min=1, max=100))

    @ma.validates_schema(skip_on_field_errors=True)
    def not_too_deep(self, data, **kwargs):
        if data["page"] * data["limit"] > MAX_LIST_DEPTH:
            raise ma.ValidationError(MSG_TOO_DEEP, "page")


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


def query_window(query: Mapping[str, Any]) -> Range:
    """The Range of a query's `from`/`to` (DateRangeQuerySchema) in STATS_TIMEZONE."""
    return parse_date_range(
        query.get("from_"), query.get("to"), current_app.config["STATS_TIMEZONE"]
    )


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

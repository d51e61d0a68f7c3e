"""Business hours: when a team is open, when it opens next, and due times that count only
open time.

A schedule is a time zone, weekly ranges of local wall-clock times ("09:00"–"18:00", "24:00"
ends a day) and holiday dates (local). Every computation turns the local ranges of each local
date into UTC intervals with zoneinfo, so daylight-saving changes, offsets that are not whole
hours and holidays are handled by the same code path:

- a range on a day whose clocks jump forward is shorter by the jump (a local time inside the
  gap resolves with the offset in force before it, as zoneinfo does with fold=0);
- a range on a day whose clocks fall back is longer by the repeated hour;
- ranges that touch across midnight ("…–24:00" then "00:00–…") form one open interval.

`None` from `schedule_from_json` means "no schedule": always open.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# How far ahead "when does it open next" and due times look before giving up (a schedule with
# ranges but holidays covering them all for this long is treated as never opening).
HORIZON_DAYS = 400

_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$|^24:00$")


class ScheduleError(ValueError):
    """A business-hours document that cannot be used; `args[0]` is a Spanish message."""


@dataclass(frozen=True)
class Schedule:
    timezone: ZoneInfo
    # weekday (0 = Monday) -> sorted, non-overlapping (start, end) minutes of the local day
    weekly: dict[int, tuple[tuple[int, int], ...]]
    holidays: frozenset[date]


_SCHEDULES: dict[tuple[object, object], Schedule | None] = {}


def schedule_of(team) -> Schedule | None:
    """The schedule stored on a team (`business_hours`, validated when it was written), parsed
    once per team version; None when the team has none (always open) or there is no team."""
    if team is None or team.business_hours is None:
        return None
    key = (team.id, team.updated_at)
    if key not in _SCHEDULES:
        if len(_SCHEDULES) > 1000:
            _SCHEDULES.clear()
        _SCHEDULES[key] = schedule_from_json(team.business_hours)
    return _SCHEDULES[key]


def _minutes(clock: object) -> int:
    if not isinstance(clock, str) or not _CLOCK.match(clock):
        raise ScheduleError(f"Hora no válida: {clock!r} (formato HH:MM, de 00:00 a 24:00)")
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


def schedule_from_json(raw: dict | None) -> Schedule | None:
    """Validate a `businessHours` document; raise ScheduleError with a Spanish message."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ScheduleError("El horario debe ser un objeto")
    unknown = set(raw) - {"timezone", "weekly", "holidays"}
    if unknown:
        raise ScheduleError(f"Campos desconocidos en el horario: {', '.join(sorted(unknown))}")
    zone_name = raw.get("timezone")
    if not isinstance(zone_name, str) or not zone_name:
        raise ScheduleError("La zona horaria es obligatoria (nombre IANA, p. ej. Europe/Madrid)")
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(f"Zona horaria desconocida: {zone_name}") from None

    weekly_raw = raw.get("weekly", {})
    if not isinstance(weekly_raw, dict):
        raise ScheduleError("'weekly' debe ser un objeto con los días mon…sun")
    weekly: dict[int, tuple[tuple[int, int], ...]] = {}
    for day, ranges in weekly_raw.items():
        if day not in WEEKDAYS:
            raise ScheduleError(f"Día desconocido: {day} (use mon, tue, wed, thu, fri, sat, sun)")
        if not isinstance(ranges, list):
            raise ScheduleError(f"Los tramos de {day} deben ser una lista")
        parsed = []
        for item in ranges:
            if not isinstance(item, list | tuple) or len(item) != 2:
                raise ScheduleError(f"Cada tramo de {day} debe ser [inicio, fin]")
            start, end = _minutes(item[0]), _minutes(item[1])
            if start >= end:
                raise ScheduleError(f"Tramo invertido o vacío en {day}: {item[0]}–{item[1]}")
            parsed.append((start, end))
        parsed.sort()
        for (_, end), (next_start, _) in pairwise(parsed):
            if next_start < end:
                raise ScheduleError(f"Tramos solapados en {day}")
        weekly[WEEKDAYS.index(day)] = tuple(parsed)

    holidays_raw = raw.get("holidays", [])
    if not isinstance(holidays_raw, list):
        raise ScheduleError("'holidays' debe ser una lista de fechas YYYY-MM-DD")
    holidays = set()
    for value in holidays_raw:
        try:
            if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
                raise ValueError
            holidays.add(date.fromisoformat(value))
        except ValueError:
            raise ScheduleError(
                f"Fecha de festivo no válida: {value!r} (formato YYYY-MM-DD)"
            ) from None
    return Schedule(timezone=zone, weekly=weekly, holidays=frozenset(holidays))


def schedule_to_json(schedule: Schedule | None) -> dict | None:
    """The canonical document (sorted ranges, sorted holidays)."""
    if schedule is None:
        return None

    def clock(minutes: int) -> str:
        return f"{minutes // 60:02d}:{minutes % 60:02d}"

    return {
        "timezone": schedule.timezone.key,
        "weekly": {
            WEEKDAYS[day]: [[clock(s), clock(e)] for s, e in ranges]
            for day, ranges in sorted(schedule.weekly.items())
        },
        "holidays": [d.isoformat() for d in sorted(schedule.holidays)],
    }


def _local_to_utc(day: date, minutes: int, zone: ZoneInfo) -> datetime:
    if minutes == 24 * 60:
        local = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    else:
        local = datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=zone)
    return local.astimezone(UTC)


def open_intervals(schedule: Schedule, start: datetime) -> Iterator[tuple[datetime, datetime]]:
    """UTC intervals when the schedule is open, in order, from the one containing `start` (or
    the first after it) up to HORIZON_DAYS ahead. Touching intervals are merged."""
    zone = schedule.timezone
    first_day = start.astimezone(zone).date() - timedelta(days=1)
    pending: tuple[datetime, datetime] | None = None
    for offset in range(HORIZON_DAYS + 2):
        day = first_day + timedelta(days=offset)
        if day in schedule.holidays:
            continue
        for start_min, end_min in schedule.weekly.get(day.weekday(), ()):
            begin, end = _local_to_utc(day, start_min, zone), _local_to_utc(day, end_min, zone)
            if end <= begin:  # a range wholly inside a skipped DST hour
                continue
            if pending and begin <= pending[1]:
                pending = (pending[0], max(pending[1], end))
                continue
            if pending and pending[1] > start:
                yield pending
            pending = (begin, end)
    if pending and pending[1] > start:
        yield pending


def is_open(schedule: Schedule | None, at: datetime) -> bool:
    if schedule is None:
        return True
    for begin, end in open_intervals(schedule, at):
        return begin <= at < end
    return False


def next_open_at(schedule: Schedule | None, at: datetime) -> datetime | None:
    """When it opens next: `None` when open now (or no schedule) and when it never opens."""
    if schedule is None:
        return None
    for begin, _end in open_intervals(schedule, at):
        return None if begin <= at else begin
    return None


def add_open_time(schedule: Schedule | None, start: datetime, amount: timedelta) -> datetime | None:
    """The moment `amount` of open time has passed since `start` (None: it never does)."""
    if schedule is None:
        return start + amount
    left = amount
    for begin, end in open_intervals(schedule, start):
        begin = max(begin, start)
        if end - begin >= left:
            return begin + left
        left -= end - begin
    return None

"""A working calendar and the deadline math on it, in the calendar's own timezone.

Rules (see docs/calendar.md):

- A date is a working day when it has working hours: a ``holiday`` date has none; a
  ``workday`` date (a make-up workday, 调休) works its own weekday's hours, or — on a
  weekday with no weekly hours, such as a Saturday — the hours of the first weekday,
  counting from Monday, that has any (Monday's 09:00–12:00, 13:00–17:00 by default).
- Working time is the union of the working periods; periods are half-open in the sums
  ``[start, end)``, and a period's end is a valid deadline.
- All inputs are aware datetimes; results are aware datetimes in the calendar's zone.
"""

from __future__ import annotations

import datetime as dt
import enum
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeAlias
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

Period: TypeAlias = tuple[dt.time, dt.time]
DayHours: TypeAlias = tuple[Period, ...]
# Seven entries, indexed by ``date.weekday()``: Monday is 0.
WeeklyHours: TypeAlias = tuple[DayHours, ...]

DEFAULT_TIMEZONE = "Asia/Shanghai"
DEFAULT_DAY_HOURS: DayHours = ((dt.time(9), dt.time(12)), (dt.time(13), dt.time(17)))
DEFAULT_WEEKLY_HOURS: WeeklyHours = (DEFAULT_DAY_HOURS,) * 5 + ((), ())

_ZERO = dt.timedelta(0)
_ONE_DAY = dt.timedelta(days=1)
_MICROSECONDS_PER_HOUR = 3_600_000_000


class DayKind(enum.StrEnum):
    HOLIDAY = "holiday"
    WORKDAY = "workday"


class RestDayStart(enum.StrEnum):
    """How ``add_working_days`` counts from a start on a non-working day.

    ``OFFICIAL`` (the default): the start day is never counted and counting runs from
    the next calendar day, so after a Sunday start Monday is working day 1.
    ``NEXT_WORKING_DAY``: a rest-day start is moved to the next working day, and that
    day is not counted either (Monday is day 0, Tuesday day 1) — only for a city whose
    own regulation says so.
    """

    OFFICIAL = "official"
    NEXT_WORKING_DAY = "next_working_day"


@dataclass(frozen=True, slots=True)
class CalendarEntry:
    """One dated exception to the weekly hours: a day off, or a working day."""

    date: dt.date
    kind: DayKind
    name: str = ""


def split_entries(
    entries: Iterable[CalendarEntry],
) -> tuple[frozenset[dt.date], frozenset[dt.date]]:
    """The holiday dates and the workday dates of ``entries``; one entry per date."""
    holidays: set[dt.date] = set()
    workdays: set[dt.date] = set()
    for entry in entries:
        if entry.date in holidays or entry.date in workdays:
            raise ValueError(f"two calendar entries for {entry.date.isoformat()}")
        (holidays if entry.kind is DayKind.HOLIDAY else workdays).add(entry.date)
    return frozenset(holidays), frozenset(workdays)


@dataclass(frozen=True)
class WorkCalendar:
    timezone: str = DEFAULT_TIMEZONE
    weekly_hours: WeeklyHours = DEFAULT_WEEKLY_HOURS
    holidays: frozenset[dt.date] = frozenset()
    # Make-up workdays (调休), and dates explicitly marked as normal working days.
    workdays: frozenset[dt.date] = frozenset()
    rest_day_start: RestDayStart = RestDayStart.OFFICIAL

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone {self.timezone!r}") from exc
        if len(self.weekly_hours) != 7:
            raise ValueError("weekly_hours needs one entry per weekday, Monday first")
        for day_hours in self.weekly_hours:
            _check_day_hours(day_hours)
        # Without any weekly hours no day could ever be a working day: every search
        # for the next working moment would run forever.
        if not any(self.weekly_hours):
            raise ValueError("a working calendar needs working hours on at least one weekday")
        if both := self.holidays & self.workdays:
            raise ValueError(f"dates both holiday and workday: {sorted(both)}")

    @classmethod
    def from_entries(
        cls,
        entries: Iterable[CalendarEntry],
        *,
        timezone: str = DEFAULT_TIMEZONE,
        weekly_hours: WeeklyHours = DEFAULT_WEEKLY_HOURS,
        rest_day_start: RestDayStart = RestDayStart.OFFICIAL,
    ) -> WorkCalendar:
        holidays, workdays = split_entries(entries)
        return cls(timezone, weekly_hours, holidays, workdays, rest_day_start)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def working_hours_on(self, day: dt.date) -> DayHours:
        if isinstance(day, dt.datetime):
            raise TypeError("pass a date, not a datetime: which local date is meant is ambiguous")
        if day in self.holidays:
            return ()
        own = self.weekly_hours[day.weekday()]
        if day in self.workdays and not own:
            return next(hours for hours in self.weekly_hours if hours)
        return own

    def is_working_day(self, day: dt.date) -> bool:
        return bool(self.working_hours_on(day))

    def next_working_day(self, day: dt.date) -> dt.date:
        """The first working day strictly after ``day``."""
        day += _ONE_DAY
        while not self.is_working_day(day):
            day += _ONE_DAY
        return day

    def add_working_days(self, start: dt.datetime, days: int) -> dt.datetime:
        """The end of the last working period of the ``days``-th working day after the start.

        Only the start's local date matters, not its time. The start day itself is
        never counted: counting runs from the next calendar day and only working days
        count, so a Sunday start makes Monday working day 1 (``RestDayStart.OFFICIAL``).
        With ``RestDayStart.NEXT_WORKING_DAY`` a start on a non-working day is first
        moved to the next working day, which is not counted either. ``days=0`` is the
        end of the start day, or of the next working day when the start day has no
        working hours.
        """
        if days < 0:
            raise ValueError("days must not be negative")
        day = self._local_date(_utc(start))
        resting = not self.is_working_day(day)
        if resting and (days == 0 or self.rest_day_start is RestDayStart.NEXT_WORKING_DAY):
            day = self.next_working_day(day)
        for _ in range(days):
            day = self.next_working_day(day)
        return dt.datetime.combine(day, self.working_hours_on(day)[-1][1], self.zone)

    def add_working_hours(
        self, start: dt.datetime, hours: float | Decimal | dt.timedelta
    ) -> dt.datetime:
        """The earliest moment ``t`` with ``working_time_between(start, t) == hours``."""
        remaining = _as_timedelta(hours)
        if remaining < _ZERO:
            raise ValueError("hours must not be negative")
        cursor = _utc(start)
        if remaining == _ZERO:
            return cursor.astimezone(self.zone)
        periods = self._periods_from(self._local_date(cursor))
        while True:
            period_start, period_end = next(periods)
            if period_end <= cursor:
                continue
            period_start = max(period_start, cursor)
            if remaining <= period_end - period_start:
                return (period_start + remaining).astimezone(self.zone)
            remaining -= period_end - period_start

    def working_time_between(self, a: dt.datetime, b: dt.datetime) -> dt.timedelta:
        """Working time in ``[a, b)``; negative (minus that of ``[b, a)``) when ``b < a``."""
        a_utc, b_utc = _utc(a), _utc(b)
        if b_utc < a_utc:
            return -self.working_time_between(b, a)
        total = _ZERO
        periods = self._periods_from(self._local_date(a_utc))
        while True:
            period_start, period_end = next(periods)
            if period_start >= b_utc:
                return total
            total += max(_ZERO, min(period_end, b_utc) - max(period_start, a_utc))

    def _local_date(self, instant: dt.datetime) -> dt.date:
        return instant.astimezone(self.zone).date()

    def _periods_from(self, day: dt.date) -> Iterator[tuple[dt.datetime, dt.datetime]]:
        """Working periods as UTC instants, in order, from ``day`` on — without end."""
        zone = self.zone
        previous_end = dt.datetime.min.replace(tzinfo=dt.UTC)
        while True:
            for start, end in self.working_hours_on(day):
                utc_start = dt.datetime.combine(day, start, zone).astimezone(dt.UTC)
                utc_end = dt.datetime.combine(day, end, zone).astimezone(dt.UTC)
                # Around a DST change local periods can overlap or vanish in UTC.
                utc_start = max(utc_start, previous_end)
                if utc_start < utc_end:
                    yield utc_start, utc_end
                    previous_end = utc_end
            day += _ONE_DAY


def _check_day_hours(day_hours: DayHours) -> None:
    previous_end: dt.time | None = None
    for start, end in day_hours:
        if start.tzinfo is not None or end.tzinfo is not None:
            raise ValueError("working hours are local wall times: use naive times")
        if not start < end:
            raise ValueError(f"working period {start}–{end} ends before it starts")
        if previous_end is not None and start < previous_end:
            raise ValueError("a day's working periods must be in order and must not overlap")
        previous_end = end


def _utc(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment.isoformat()}: pass an aware datetime")
    return moment.astimezone(dt.UTC)


def _as_timedelta(hours: float | Decimal | dt.timedelta) -> dt.timedelta:
    if isinstance(hours, dt.timedelta):
        return hours
    if isinstance(hours, Decimal):
        if not hours.is_finite():
            raise ValueError(f"hours must be finite, got {hours}")
        return dt.timedelta(microseconds=round(hours * _MICROSECONDS_PER_HOUR))
    if not math.isfinite(hours):
        raise ValueError(f"hours must be finite, got {hours}")
    return dt.timedelta(hours=hours)

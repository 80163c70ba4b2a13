from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Self

import strawberry

from hotline.platform.calendar import DayKind as DayKindEnum
from hotline.platform.calendar import RestDayStart, WorkCalendar
from hotline.tenants.kernel.errors import Invalid
from hotline.tenants.provinces import models

DayKind = DayKindEnum
strawberry.enum(DayKindEnum, name="DayKind")
strawberry.enum(
    RestDayStart,
    name="RestDayStart",
    description=(
        "How working days count from a start on a rest day. OFFICIAL (default): the "
        "start day is never counted, counting runs from the next calendar day (Sunday + "
        "1 working day = Monday). NEXT_WORKING_DAY: the start moves to the next working "
        "day, which is not counted either (Sunday + 1 = Tuesday); only for a city whose "
        "regulation says so."
    ),
)

__all__ = ["RestDayStart"]


@strawberry.enum(description="What to set a date to; INHERIT removes this layer's entry.")
class DaySetting(enum.Enum):
    HOLIDAY = "holiday"
    WORKDAY = "workday"
    INHERIT = "inherit"


@strawberry.type
class CalendarDay:
    day: date
    kind: DayKind
    name: str
    city_override: bool = strawberry.field(description="False: the province's shared entry.")

    @classmethod
    def from_model(cls, row: models.CalendarEntry) -> Self:
        return cls(
            day=row.day,
            kind=DayKindEnum(row.kind),
            name=row.name,
            city_override=row.tenant_id is not None,
        )


@strawberry.input
class CalendarDayInput:
    day: date
    kind: DaySetting
    name: str = ""


# Working-time arithmetic walks the calendar day by day: the times it takes stay inside
# these years (the result of adding 366 working days too) and spans are bounded, so a
# request can neither overflow ``datetime`` nor keep the CPU busy for seconds.
FIRST_YEAR, LAST_YEAR = 1900, 9000
MAX_SPAN_DAYS = 3660


def _aware(value: datetime, field: str) -> datetime:
    if value.tzinfo is None:
        raise Invalid("give the time with its offset, e.g. 2026-11-23T10:00:00+08:00", field=field)
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise Invalid(
            "the time must be within the years {first} to {last}",
            field=field,
            first=FIRST_YEAR,
            last=LAST_YEAR,
        )
    return value


@strawberry.type(description="Working-time arithmetic in the city's calendar and time zone.")
class Calendar:
    timezone: str
    warnings: list[str]
    _calendar: strawberry.Private[WorkCalendar]

    @strawberry.field(description="How working days count from a rest-day start.")
    def rest_day_start(self) -> RestDayStart:
        return self._calendar.rest_day_start

    @strawberry.field
    def is_working_day(self, date: date) -> bool:
        return self._calendar.is_working_day(date)

    @strawberry.field(
        description=(
            "End of the N-th working day after the start day: the start day is never "
            "counted, counting runs from the next calendar day, only working days count "
            "(see restDayStart for a city's exception)."
        )
    )
    def add_working_days(self, start: datetime, days: int) -> datetime:
        if not 0 <= days <= 366:
            raise Invalid("days must be between 0 and 366", field="days")
        return self._calendar.add_working_days(_aware(start, "start"), days)

    @strawberry.field
    def add_working_hours(self, start: datetime, hours: float) -> datetime:
        if not 0 <= hours <= 24 * 366:
            raise Invalid("hours must be between 0 and 8784", field="hours")
        return self._calendar.add_working_hours(_aware(start, "start"), hours)

    @strawberry.field(description="Working hours between two instants (negative if end < start).")
    def working_hours_between(self, start: datetime, end: datetime) -> float:
        start, end = _aware(start, "start"), _aware(end, "end")
        if abs((end - start).days) > MAX_SPAN_DAYS:
            raise Invalid("start and end must be at most {days} days apart", days=MAX_SPAN_DAYS)
        delta = self._calendar.working_time_between(start, end)
        return delta.total_seconds() / 3600

"""A city's calendar: the province calendar with the city's own layer on top."""

from __future__ import annotations

from dataclasses import dataclass

from hotline.platform.calendar.model import (
    CalendarEntry,
    RestDayStart,
    WeeklyHours,
    WorkCalendar,
    split_entries,
)


@dataclass(frozen=True, slots=True)
class CalendarOverride:
    """What a city changes; ``None`` keeps the province's value.

    An entry decides its date outright, whatever the province says about it: a
    ``holiday`` entry makes a day off (a local holiday, or a cancelled make-up
    workday), a ``workday`` entry a working day (a local make-up workday, or a
    province holiday the city works through).
    """

    timezone: str | None = None
    weekly_hours: WeeklyHours | None = None
    entries: tuple[CalendarEntry, ...] = ()
    rest_day_start: RestDayStart | None = None


def effective_calendar(base: WorkCalendar, override: CalendarOverride) -> WorkCalendar:
    holidays, workdays = split_entries(override.entries)
    decided = holidays | workdays
    return WorkCalendar(
        timezone=base.timezone if override.timezone is None else override.timezone,
        weekly_hours=base.weekly_hours if override.weekly_hours is None else override.weekly_hours,
        holidays=(base.holidays - decided) | holidays,
        workdays=(base.workdays - decided) | workdays,
        rest_day_start=base.rest_day_start
        if override.rest_day_start is None
        else override.rest_day_start,
    )

"""Working calendars: weekly hours, holidays and make-up workdays (调休), and deadline math."""

from hotline.platform.calendar.layers import CalendarOverride, effective_calendar
from hotline.platform.calendar.model import (
    DEFAULT_DAY_HOURS,
    DEFAULT_TIMEZONE,
    DEFAULT_WEEKLY_HOURS,
    CalendarEntry,
    DayHours,
    DayKind,
    Period,
    RestDayStart,
    WeeklyHours,
    WorkCalendar,
)
from hotline.platform.calendar.official import (
    covered_years,
    default_province_calendar,
    missing_arrangement_warning,
    official_entries,
)

__all__ = [
    "DEFAULT_DAY_HOURS",
    "DEFAULT_TIMEZONE",
    "DEFAULT_WEEKLY_HOURS",
    "CalendarEntry",
    "CalendarOverride",
    "DayHours",
    "DayKind",
    "Period",
    "RestDayStart",
    "WeeklyHours",
    "WorkCalendar",
    "covered_years",
    "default_province_calendar",
    "effective_calendar",
    "missing_arrangement_warning",
    "official_entries",
]

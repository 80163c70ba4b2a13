"""The State Council's yearly holiday arrangement, as shipped by ``chinese-calendar``.

Every date the package marks as a holiday becomes a ``holiday`` entry — weekend
days of a holiday run included, so a city whose weekly hours cover Saturdays still
rests on them — and every make-up workday a ``workday`` entry. Names are the
package's English names ("Spring Festival"); ``chinese_calendar.Holiday(name).chinese``
gives the Chinese one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import chinese_calendar  # type: ignore[import-untyped,unused-ignore]

from hotline.platform.calendar.model import (
    DEFAULT_TIMEZONE,
    CalendarEntry,
    DayKind,
    WorkCalendar,
)

_HOLIDAYS: dict[dt.date, str] = chinese_calendar.holidays
_WORKDAYS: dict[dt.date, str] = chinese_calendar.workdays


def covered_years() -> range:
    return range(min(_HOLIDAYS).year, max(_HOLIDAYS).year + 1)


def official_entries(year: int) -> list[CalendarEntry]:
    """The arrangement for ``year``, by date; empty for a year the package does not cover."""
    holidays = [
        CalendarEntry(d, DayKind.HOLIDAY, n) for d, n in _HOLIDAYS.items() if d.year == year
    ]
    workdays = [
        CalendarEntry(d, DayKind.WORKDAY, n) for d, n in _WORKDAYS.items() if d.year == year
    ]
    return sorted(holidays + workdays, key=lambda entry: entry.date)


def missing_arrangement_warning(year: int) -> str | None:
    """What to tell a province admin when ``year`` has no official arrangement loaded."""
    years = covered_years()
    if year in years:
        return None
    return (
        f"No official holiday arrangement is loaded for {year} (chinese-calendar "
        f"{chinese_calendar.__version__} covers {years.start}–{years.stop - 1}): "
        f"{year} is treated as plain weekends, with no holidays and no make-up workdays, "
        f"and deadlines in {year} are provisional. Once the State Council publishes the "
        f"{year} arrangement, import it (importCalendarYear, or hotline calendar import); "
        "open deadlines are then recomputed."
    )


def default_province_calendar(
    timezone: str = DEFAULT_TIMEZONE, *, years: Iterable[int] | None = None
) -> WorkCalendar:
    """Default weekly hours plus the official arrangement of ``years`` (all covered ones)."""
    chosen = covered_years() if years is None else years
    return WorkCalendar.from_entries(
        (entry for year in chosen for entry in official_entries(year)), timezone=timezone
    )

"""The default working-day count against the ``chinese-calendar`` data, exhaustively.

The expected deadline is computed here straight from ``chinese_calendar.is_workday``,
independently of ``WorkCalendar``: the start day is never counted, counting runs from
the next calendar day, and the N-th working day ends at 17:00 local time. 2027 has no
published arrangement in the package: plain weekends there, as the calendar treats it.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest

from hotline.platform.calendar import default_province_calendar

SHANGHAI = ZoneInfo("Asia/Shanghai")
COUNTS = (1, 2, 3, 5, 7, 10, 15, 20, 30)
CALENDAR = default_province_calendar()


def is_workday(day: dt.date) -> bool:
    if day.year > max(chinese_calendar.holidays).year:
        return day.weekday() < 5
    return bool(chinese_calendar.is_workday(day))


FIRST = dt.date(2025, 1, 1)
# Every working day from 2025 to well past the last deadline of a 2026 start, in order.
WORKDAYS = [
    day for day in (FIRST + dt.timedelta(days=i) for i in range(2 * 366 + 90)) if is_workday(day)
]


def expected(start: dt.date, n: int) -> dt.datetime:
    """The n-th working day strictly after the start day, at 17:00."""
    later = [day for day in WORKDAYS if day > start]
    return dt.datetime.combine(later[n - 1], dt.time(17), SHANGHAI)


def start_days(year: int) -> list[dt.date]:
    first = dt.date(year, 1, 1)
    return [first + dt.timedelta(days=i) for i in range((dt.date(year + 1, 1, 1) - first).days)]


@pytest.mark.parametrize("year", [2025, 2026])
def test_every_start_day_matches_the_official_count(year: int) -> None:
    wrong = []
    for start in start_days(year):
        for n in COUNTS:
            want = expected(start, n)
            for hour in (0, 10, 23):  # the time of day never matters
                moment = dt.datetime.combine(start, dt.time(hour, 30), SHANGHAI)
                got = CALENDAR.add_working_days(moment, n)
                if got != want:
                    wrong.append((start.isoformat(), hour, n, got.isoformat()))
    assert wrong == [], f"{len(wrong)} wrong deadlines, e.g. {wrong[:5]}"


def test_the_oracle_itself_on_the_example_of_the_issue() -> None:
    # Sun 2 Nov 2025 + 7 working days: Mon 3 Nov is day 1, Tue 11 Nov day 7.
    assert expected(dt.date(2025, 11, 2), 7) == dt.datetime(2025, 11, 11, 17, tzinfo=SHANGHAI)
    assert CALENDAR.add_working_days(
        dt.datetime(2025, 11, 2, 10, tzinfo=SHANGHAI), 7
    ) == dt.datetime(2025, 11, 11, 17, tzinfo=SHANGHAI)

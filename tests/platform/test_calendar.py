"""Working calendar examples against the real 2026 State Council arrangement.

2026 Spring Festival (from chinese_calendar, checked against the published notice):
holidays Sun 15 Feb – Mon 23 Feb, make-up workdays Sat 14 Feb and Sat 28 Feb.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from hotline.platform.calendar import (
    DEFAULT_DAY_HOURS,
    DEFAULT_WEEKLY_HOURS,
    CalendarEntry,
    CalendarOverride,
    DayKind,
    RestDayStart,
    WorkCalendar,
    covered_years,
    default_province_calendar,
    effective_calendar,
    missing_arrangement_warning,
    official_entries,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
PROVINCE = default_province_calendar(years=[2025, 2026])


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def city(*entries: CalendarEntry) -> WorkCalendar:
    return effective_calendar(PROVINCE, CalendarOverride(entries=entries))


def test_make_up_saturday_is_a_working_day_with_weekday_hours() -> None:
    assert PROVINCE.is_working_day(dt.date(2026, 2, 14))
    assert PROVINCE.working_hours_on(dt.date(2026, 2, 14)) == DEFAULT_DAY_HOURS
    assert PROVINCE.is_working_day(dt.date(2026, 2, 28))
    assert not PROVINCE.is_working_day(dt.date(2026, 2, 21))  # a plain Saturday of the holiday
    assert not PROVINCE.is_working_day(dt.date(2026, 2, 16))  # Monday, Spring Festival
    assert not PROVINCE.is_working_day(dt.date(2026, 3, 7))  # an ordinary Saturday
    assert PROVINCE.next_working_day(dt.date(2026, 2, 14)) == dt.date(2026, 2, 24)


def test_seven_working_days_across_the_2026_spring_festival() -> None:
    # Start Thu 12 Feb (day 0, not counted). Working days after it:
    # Fri 13 (1), Sat 14 make-up (2), [15–23 Spring Festival], Tue 24 (3), Wed 25 (4),
    # Thu 26 (5), Fri 27 (6), Sat 28 make-up (7) -> end of Sat 28 Feb, 17:00 local.
    deadline = PROVINCE.add_working_days(local(2026, 2, 12, 10, 0), 7)
    assert deadline == local(2026, 2, 28, 17, 0)
    assert deadline.tzinfo == SHANGHAI


def test_start_time_only_matters_through_its_local_date() -> None:
    # 02:00 UTC is 10:00 in Shanghai on the same date; 20:00 local is still 12 Feb.
    assert PROVINCE.add_working_days(dt.datetime(2026, 2, 12, 2, tzinfo=dt.UTC), 7) == local(
        2026, 2, 28, 17
    )
    assert PROVINCE.add_working_days(local(2026, 2, 12, 20), 7) == local(2026, 2, 28, 17)


def test_start_on_a_rest_day_counts_from_the_next_calendar_day() -> None:
    # The official rule: the start day is never counted, counting runs from the next
    # calendar day and only working days count. Sun 2 Nov 2025 + 7: Mon 3 Nov is day 1,
    # Tue 11 Nov day 7.
    assert PROVINCE.add_working_days(local(2025, 11, 2, 10), 7) == local(2025, 11, 11, 17)
    # Fri 6 Mar 17:00 UTC is Sat 7 Mar 01:00 in Shanghai: Mon 9 Mar is working day 1.
    saturday_night = dt.datetime(2026, 3, 6, 17, tzinfo=dt.UTC)
    assert PROVINCE.add_working_days(saturday_night, 0) == local(2026, 3, 9, 17)
    assert PROVINCE.add_working_days(saturday_night, 1) == local(2026, 3, 9, 17)
    assert PROVINCE.add_working_days(saturday_night, 2) == local(2026, 3, 10, 17)
    # A start on the first Spring Festival holiday: Tue 24 Feb (1), Wed 25 Feb (2).
    assert PROVINCE.add_working_days(local(2026, 2, 15, 9), 2) == local(2026, 2, 25, 17)


def test_next_working_day_start_is_an_explicit_city_setting() -> None:
    # A city whose regulation moves a rest-day request to the next working day and
    # does not count that day either: Sun 2 Nov 2025 + 7 ends Wed 12 Nov.
    moved = effective_calendar(
        PROVINCE, CalendarOverride(rest_day_start=RestDayStart.NEXT_WORKING_DAY)
    )
    assert moved.rest_day_start is RestDayStart.NEXT_WORKING_DAY
    assert PROVINCE.rest_day_start is RestDayStart.OFFICIAL
    assert moved.add_working_days(local(2025, 11, 2, 10), 7) == local(2025, 11, 12, 17)
    saturday_night = dt.datetime(2026, 3, 6, 17, tzinfo=dt.UTC)
    assert moved.add_working_days(saturday_night, 0) == local(2026, 3, 9, 17)
    assert moved.add_working_days(saturday_night, 1) == local(2026, 3, 10, 17)
    assert moved.add_working_days(local(2026, 2, 15, 9), 2) == local(2026, 2, 26, 17)
    # On a working-day start both rules agree.
    for calendar in (PROVINCE, moved):
        assert calendar.add_working_days(local(2026, 2, 12, 10), 7) == local(2026, 2, 28, 17)


def test_working_hours_from_a_rest_day_or_after_hours() -> None:
    # Sun 2 Nov 2025 10:00 + 2 h: Monday 09:00–11:00.
    assert PROVINCE.add_working_hours(local(2025, 11, 2, 10), 2) == local(2025, 11, 3, 11)
    # Mon 3 Nov 20:00 + 4 h: Tuesday 09:00–12:00 and 13:00–14:00.
    assert PROVINCE.add_working_hours(local(2025, 11, 3, 20), 4) == local(2025, 11, 4, 14)
    # Before hours on a working day: from 09:00 that day.
    assert PROVINCE.add_working_hours(local(2025, 11, 4, 6), 1) == local(2025, 11, 4, 10)
    # National Day 2025 (1–8 Oct) starts on a Wednesday; Sat 11 Oct is a make-up day.
    # A working day has 7 hours by default.
    assert PROVINCE.add_working_hours(local(2025, 10, 1, 10), 7) == local(2025, 10, 9, 17)
    assert PROVINCE.add_working_hours(local(2025, 10, 1, 10), 8) == local(2025, 10, 10, 10)
    assert PROVINCE.add_working_hours(local(2025, 10, 3, 10), 14) == local(2025, 10, 10, 17)
    assert PROVINCE.add_working_hours(local(2025, 10, 3, 10), 15) == local(2025, 10, 11, 10)
    # The rest-day setting only concerns working days, never working hours.
    moved = effective_calendar(
        PROVINCE, CalendarOverride(rest_day_start=RestDayStart.NEXT_WORKING_DAY)
    )
    assert moved.add_working_hours(local(2025, 11, 2, 10), 2) == local(2025, 11, 3, 11)


def test_city_local_holiday_shifts_the_deadline() -> None:
    # Same count as the Spring Festival example, but Tue 24 Feb is a local holiday:
    # Fri 13 (1), Sat 14 (2), Wed 25 (3), Thu 26 (4), Fri 27 (5), Sat 28 (6), Mon 2 Mar (7).
    jinan = city(CalendarEntry(dt.date(2026, 2, 24), DayKind.HOLIDAY, "local holiday"))
    assert not jinan.is_working_day(dt.date(2026, 2, 24))
    assert jinan.add_working_days(local(2026, 2, 12, 10), 7) == local(2026, 3, 2, 17)
    assert PROVINCE.is_working_day(dt.date(2026, 2, 24)), "the province is unchanged"


def test_city_entry_beats_the_province_entry() -> None:
    # The city works Mon 23 Feb (an official holiday) and rests on make-up Sat 28 Feb.
    city_calendar = city(
        CalendarEntry(dt.date(2026, 2, 23), DayKind.WORKDAY, "works through"),
        CalendarEntry(dt.date(2026, 2, 28), DayKind.HOLIDAY, "no make-up day"),
    )
    # Fri 13 (1), Sat 14 (2), Mon 23 (3), Tue 24 (4), Wed 25 (5), Thu 26 (6), Fri 27 (7).
    assert city_calendar.add_working_days(local(2026, 2, 12, 10), 7) == local(2026, 2, 27, 17)
    assert city_calendar.add_working_days(local(2026, 2, 12, 10), 8) == local(2026, 3, 2, 17)


def test_city_may_replace_timezone_and_weekly_hours() -> None:
    saturday_mornings = (*DEFAULT_WEEKLY_HOURS[:5], ((dt.time(9), dt.time(12)),), ())
    urumqi = effective_calendar(
        PROVINCE, CalendarOverride(timezone="Asia/Urumqi", weekly_hours=saturday_mornings)
    )
    assert urumqi.is_working_day(dt.date(2026, 3, 7))
    # A Saturday inside an official holiday stays a day off.
    assert not urumqi.is_working_day(dt.date(2026, 2, 21))
    deadline = urumqi.add_working_days(dt.datetime(2026, 3, 5, 4, tzinfo=dt.UTC), 2)
    assert deadline == dt.datetime(2026, 3, 7, 12, tzinfo=ZoneInfo("Asia/Urumqi"))
    assert deadline == dt.datetime(2026, 3, 7, 6, tzinfo=dt.UTC)


def test_working_hours_across_a_weekend_a_night_and_lunch() -> None:
    # Fri 16:00–17:00 is one hour; Mon 09:00–11:00 the other two.
    assert PROVINCE.add_working_hours(local(2026, 3, 6, 16), 3) == local(2026, 3, 9, 11)
    assert PROVINCE.working_time_between(local(2026, 3, 6, 16), local(2026, 3, 9, 11)) == (
        dt.timedelta(hours=3)
    )
    assert PROVINCE.add_working_hours(local(2026, 3, 10, 16, 30), Decimal("1")) == (
        local(2026, 3, 11, 9, 30)
    )
    assert PROVINCE.add_working_hours(local(2026, 3, 10, 11), dt.timedelta(hours=2)) == (
        local(2026, 3, 10, 14)
    )
    assert PROVINCE.add_working_hours(local(2026, 3, 10, 9), Decimal("1.5")) == (
        local(2026, 3, 10, 10, 30)
    )


def test_working_hours_over_the_spring_festival() -> None:
    # Fri 13 Feb 16:00 -> 1 h Friday, 7 h on make-up Sat 14, then Tue 24 from 09:00.
    assert PROVINCE.add_working_hours(local(2026, 2, 13, 16), 10) == local(2026, 2, 24, 11)


def test_working_hours_from_off_hours_start_at_the_next_period() -> None:
    assert PROVINCE.add_working_hours(local(2026, 3, 7, 10), 2) == local(2026, 3, 9, 11)
    assert PROVINCE.add_working_hours(local(2026, 3, 9, 12, 30), 1) == local(2026, 3, 9, 14)
    # The earliest moment: a period's end, not the next period's start.
    assert PROVINCE.add_working_hours(local(2026, 3, 9, 9), 3) == local(2026, 3, 9, 12)
    assert PROVINCE.add_working_hours(local(2026, 3, 7, 10), 0) == local(2026, 3, 7, 10)


def test_working_time_between_is_signed() -> None:
    friday, monday = local(2026, 3, 6, 16), local(2026, 3, 9, 11)
    assert PROVINCE.working_time_between(monday, friday) == -dt.timedelta(hours=3)
    assert PROVINCE.working_time_between(friday, friday) == dt.timedelta(0)
    saturday = local(2026, 3, 7, 9)
    assert PROVINCE.working_time_between(saturday, local(2026, 3, 7, 17)) == dt.timedelta(0)


def test_naive_datetimes_are_refused() -> None:
    naive = dt.datetime(2026, 3, 9, 10)  # noqa: DTZ001 (refused on purpose)
    with pytest.raises(ValueError, match="naive"):
        PROVINCE.add_working_days(naive, 1)
    with pytest.raises(ValueError, match="naive"):
        PROVINCE.add_working_hours(naive, 1)
    with pytest.raises(ValueError, match="naive"):
        PROVINCE.working_time_between(local(2026, 3, 9, 10), naive)


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(TypeError):
        PROVINCE.is_working_day(local(2026, 3, 9, 10))
    with pytest.raises(ValueError, match="negative"):
        PROVINCE.add_working_days(local(2026, 3, 9, 10), -1)
    with pytest.raises(ValueError, match="negative"):
        PROVINCE.add_working_hours(local(2026, 3, 9, 10), -0.5)
    with pytest.raises(ValueError, match="finite"):
        PROVINCE.add_working_hours(local(2026, 3, 9, 10), float("inf"))
    with pytest.raises(ValueError, match="finite"):
        PROVINCE.add_working_hours(local(2026, 3, 9, 10), Decimal("NaN"))


def test_invalid_calendars_are_refused() -> None:
    with pytest.raises(ValueError, match="at least one weekday"):
        WorkCalendar(weekly_hours=((),) * 7)
    with pytest.raises(ValueError, match="timezone"):
        WorkCalendar(timezone="Mars/Olympus_Mons")
    with pytest.raises(ValueError, match="one entry per weekday"):
        WorkCalendar(weekly_hours=DEFAULT_WEEKLY_HOURS[:5])
    overlapping = ((dt.time(9), dt.time(12)), (dt.time(11), dt.time(17)))
    with pytest.raises(ValueError, match="overlap"):
        WorkCalendar(weekly_hours=(overlapping,) * 5 + ((), ()))
    with pytest.raises(ValueError, match="ends before it starts"):
        WorkCalendar(weekly_hours=(((dt.time(17), dt.time(9)),),) * 7)
    day = dt.date(2026, 5, 1)
    with pytest.raises(ValueError, match="both holiday and workday"):
        WorkCalendar(holidays=frozenset({day}), workdays=frozenset({day}))
    with pytest.raises(ValueError, match="two calendar entries"):
        city(CalendarEntry(day, DayKind.HOLIDAY), CalendarEntry(day, DayKind.WORKDAY))


def test_make_up_day_uses_the_first_weekday_with_hours() -> None:
    short_tuesday = ((dt.time(8), dt.time(11)),)
    hours = ((), short_tuesday, *DEFAULT_WEEKLY_HOURS[2:])
    calendar = WorkCalendar(weekly_hours=hours, workdays=frozenset({dt.date(2026, 3, 7)}))
    assert calendar.working_hours_on(dt.date(2026, 3, 7)) == short_tuesday  # a Saturday
    assert not calendar.is_working_day(dt.date(2026, 3, 9))  # a Monday: no hours here


def test_official_entries_2026() -> None:
    entries = official_entries(2026)
    workdays = [e for e in entries if e.kind is DayKind.WORKDAY]
    assert [e.date for e in workdays] == [
        dt.date(2026, 1, 4),
        dt.date(2026, 2, 14),
        dt.date(2026, 2, 28),
        dt.date(2026, 5, 9),
        dt.date(2026, 9, 20),
        dt.date(2026, 10, 10),
    ]
    assert CalendarEntry(dt.date(2026, 2, 14), DayKind.WORKDAY, "Spring Festival") in entries
    assert CalendarEntry(dt.date(2026, 10, 1), DayKind.HOLIDAY, "National Day") in entries
    # Weekend days of a holiday run are entries too (New Year: Thu 1 – Sat 3 Jan).
    assert CalendarEntry(dt.date(2026, 1, 3), DayKind.HOLIDAY, "New Year's Day") in entries
    assert entries == sorted(entries, key=lambda e: e.date)


def test_years_without_an_official_arrangement() -> None:
    assert 2026 in covered_years()
    assert missing_arrangement_warning(2026) is None
    assert official_entries(2100) == []
    warning = missing_arrangement_warning(2100)
    assert warning is not None
    assert "2100" in warning
    assert "plain weekends" in warning
    # ...and such a year really is plain weekends: Fri 1 Jan 2100 is a working day.
    calendar = default_province_calendar(years=[*covered_years(), 2100])
    assert calendar.is_working_day(dt.date(2100, 1, 1))
    assert not calendar.is_working_day(dt.date(2100, 1, 2))

"""Properties of the working-time math, over the official calendar and random ones."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from hypothesis import example, given, settings
from hypothesis import strategies as st

from hotline.platform.calendar import WorkCalendar, default_province_calendar

# Zones without daylight saving, where local wall times map one to one onto instants.
FIXED_ZONES = ("Asia/Shanghai", "Asia/Urumqi", "UTC")
DST_ZONES = ("Europe/Berlin", "America/New_York")
# Naive bounds: hypothesis's datetimes() takes naive bounds and adds the zones itself.
FIRST, LAST = dt.datetime(2025, 12, 1), dt.datetime(2027, 1, 31)  # noqa: DTZ001
MICROSECOND = dt.timedelta(microseconds=1)

PROPERTY = settings(database=None, max_examples=150, deadline=None)
OFFICIAL = default_province_calendar(years=[2025, 2026, 2027])


@st.composite
def day_hours(draw: st.DrawFn) -> tuple[tuple[dt.time, dt.time], ...]:
    bounds = sorted(draw(st.lists(st.integers(0, 24 * 60 - 1), max_size=6, unique=True)))
    times = [dt.time(m // 60, m % 60) for m in bounds[: len(bounds) // 2 * 2]]
    return tuple(zip(times[::2], times[1::2], strict=True))


@st.composite
def calendars(draw: st.DrawFn, zones: tuple[str, ...] = FIXED_ZONES) -> WorkCalendar:
    if draw(st.booleans()):
        return OFFICIAL
    weekly = draw(st.tuples(*[day_hours()] * 7).filter(any))
    days = st.dates(FIRST.date(), LAST.date() + dt.timedelta(days=60))
    holidays = draw(st.frozensets(days, max_size=40))
    workdays = draw(st.frozensets(days, max_size=20)) - holidays
    return WorkCalendar(draw(st.sampled_from(zones)), weekly, holidays, workdays)


def moments(zones: tuple[str, ...] = FIXED_ZONES + DST_ZONES) -> st.SearchStrategy[dt.datetime]:
    return st.datetimes(
        FIRST, LAST, timezones=st.sampled_from(zones).map(ZoneInfo), allow_imaginary=False
    )


durations = st.timedeltas(dt.timedelta(0), dt.timedelta(hours=120))


def in_working_period(calendar: WorkCalendar, moment: dt.datetime) -> bool:
    """Whether ``moment`` lies in a period of its local day, its end included."""
    local = moment.astimezone(calendar.zone)
    return any(
        start <= local.time().replace(tzinfo=None) <= end
        for start, end in calendar.working_hours_on(local.date())
    )


@PROPERTY
@given(calendars(FIXED_ZONES + DST_ZONES), moments(), durations)
def test_working_time_between_inverts_add_working_hours(
    calendar: WorkCalendar, start: dt.datetime, hours: dt.timedelta
) -> None:
    end = calendar.add_working_hours(start, hours)
    assert end >= start
    assert calendar.working_time_between(start, end) == hours
    assert calendar.working_time_between(end, start) == -hours


@PROPERTY
@given(calendars(FIXED_ZONES + DST_ZONES), moments(), durations)
def test_add_working_hours_gives_the_earliest_such_moment(
    calendar: WorkCalendar, start: dt.datetime, hours: dt.timedelta
) -> None:
    end = calendar.add_working_hours(start, hours)
    if hours:
        assert calendar.working_time_between(start, end - MICROSECOND) < hours
    else:
        assert end == start


@PROPERTY
@given(calendars(), moments(), durations)
def test_add_working_hours_ends_in_a_working_period(
    calendar: WorkCalendar, start: dt.datetime, hours: dt.timedelta
) -> None:
    if hours:
        assert in_working_period(calendar, calendar.add_working_hours(start, hours))


@PROPERTY
@given(calendars(FIXED_ZONES + DST_ZONES), moments(), moments(), durations, durations)
def test_add_working_hours_is_monotonic(
    calendar: WorkCalendar,
    start: dt.datetime,
    other_start: dt.datetime,
    hours: dt.timedelta,
    more: dt.timedelta,
) -> None:
    assert calendar.add_working_hours(start, hours) <= calendar.add_working_hours(
        start, hours + more
    )
    early, late = sorted((start, other_start))
    assert calendar.add_working_hours(early, hours) <= calendar.add_working_hours(late, hours)


@PROPERTY
@given(calendars(FIXED_ZONES + DST_ZONES), moments(), moments(), moments())
def test_working_time_between_adds_up_and_never_exceeds_wall_time(
    calendar: WorkCalendar, a: dt.datetime, b: dt.datetime, c: dt.datetime
) -> None:
    total = calendar.working_time_between(a, b) + calendar.working_time_between(b, c)
    assert total == calendar.working_time_between(a, c)
    early, late = sorted((a, b))
    assert dt.timedelta(0) <= calendar.working_time_between(early, late) <= late - early


@PROPERTY
@given(calendars(), moments(), st.integers(0, 40))
def test_add_working_days_lands_at_the_end_of_a_working_day(
    calendar: WorkCalendar, start: dt.datetime, days: int
) -> None:
    deadline = calendar.add_working_days(start, days)
    day = deadline.astimezone(calendar.zone).date()
    assert calendar.is_working_day(day)
    assert deadline.astimezone(calendar.zone).time() == calendar.working_hours_on(day)[-1][1]
    assert in_working_period(calendar, deadline)


@PROPERTY
@given(calendars(), moments(), st.integers(0, 40))
@example(  # a start on a rest day: 0 and 1 working days end on the same day
    WorkCalendar(holidays=frozenset({dt.date(2025, 12, 1)})),
    dt.datetime(2025, 12, 1, tzinfo=ZoneInfo("Asia/Shanghai")),
    1,
)
def test_add_working_days_counts_working_days_after_the_start_day(
    calendar: WorkCalendar, start: dt.datetime, days: int
) -> None:
    start_day = start.astimezone(calendar.zone).date()
    deadline_day = calendar.add_working_days(start, days).astimezone(calendar.zone).date()
    counted = sum(
        calendar.is_working_day(start_day + dt.timedelta(days=n))
        for n in range(1, (deadline_day - start_day).days + 1)
    )
    # The start day is never counted, whatever it is (the official rule); 0 days from a
    # non-working day ends on the next working day.
    assert counted == (days or (0 if calendar.is_working_day(start_day) else 1))
    if days:
        assert calendar.add_working_days(start, days) > start
        previous = calendar.add_working_days(start, days - 1)
        if days == 1 and not calendar.is_working_day(start_day):
            # 0 and 1 days from a rest day both end on the next working day
            assert previous == calendar.add_working_days(start, days)
        else:
            assert previous < calendar.add_working_days(start, days)

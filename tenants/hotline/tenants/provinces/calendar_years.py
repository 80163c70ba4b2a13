"""Publishing a year's official holiday arrangement, and which years are published.

The State Council's notice (国务院办公厅关于某年部分节假日安排的通知) names holiday
ranges and make-up workdays (调休). :func:`import_calendar_year` writes them into a
province's shared calendar in one transaction, records the year as published and asks
a worker to recompute the open deadlines that ran into that year while it was
unknown (``hotline.tenants.tickets.provisional``). A deadline is *provisional* while
its year is neither shipped by ``chinese-calendar`` nor published (docs/calendar.md).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from typing import Any

from tortoise.transactions import in_transaction

from hotline.platform import jobs
from hotline.platform.calendar import DayKind, covered_years
from hotline.platform.tenancy import Scope, use_scope
from hotline.tenants.kernel.access import Action, Actor, allowed
from hotline.tenants.kernel.audit import record_audit
from hotline.tenants.kernel.errors import Invalid, NotFound
from hotline.tenants.provinces.models import CalendarEntry, CalendarYear, Province, Tenant

FIRST_YEAR, LAST_YEAR = 2000, 2100
MAX_RANGE_DAYS = 15
MAX_NAME = 100
# The worker task that re-times provisional deadlines (hotline.workers.calendar).
RECOMPUTE_JOB = "recompute_provisional_deadlines"


@dataclass(frozen=True)
class HolidayRange:
    start: date
    end: date
    name: str


@dataclass(frozen=True)
class MakeUpDay:
    day: date
    name: str


@dataclass(frozen=True)
class Arrangement:
    """One year's notice, validated: every date inside the year, ranges ordered and
    apart, make-up days on weekends outside the ranges."""

    year: int
    holidays: tuple[HolidayRange, ...]
    workdays: tuple[MakeUpDay, ...]

    def holiday_dates(self) -> list[tuple[date, str]]:
        return [
            (r.start + timedelta(days=i), r.name)
            for r in self.holidays
            for i in range((r.end - r.start).days + 1)
        ]


def _name(raw: str, field: str) -> str:
    name = raw.strip()
    if not name or len(name) > MAX_NAME:
        raise Invalid("a name of 1 to {max} characters", field=field, max=MAX_NAME)
    return name


def validate_arrangement(
    year: int, holidays: Iterable[HolidayRange], workdays: Iterable[MakeUpDay]
) -> Arrangement:
    """The arrangement, or :class:`Invalid` naming the first bad field."""
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise Invalid(
            "the year must be {first} to {last}", field="year", first=FIRST_YEAR, last=LAST_YEAR
        )
    ranges = list(holidays)
    if not ranges:
        raise Invalid("a notice names at least one holiday range", field="holidays")
    checked: list[HolidayRange] = []
    for i, r in enumerate(ranges):
        where = f"holidays[{i}]"
        if r.start.year != year or r.end.year != year:
            raise Invalid("holiday dates must be inside {year}", field=f"{where}.start", year=year)
        if r.end < r.start:
            raise Invalid("a holiday range ends before it starts", field=f"{where}.end")
        if (r.end - r.start).days + 1 > MAX_RANGE_DAYS:
            raise Invalid(
                "a holiday range is at most {max} days", field=f"{where}.end", max=MAX_RANGE_DAYS
            )
        checked.append(HolidayRange(r.start, r.end, _name(r.name, f"{where}.name")))
    checked.sort(key=lambda r: r.start)
    for before, after in pairwise(checked):
        if after.start <= before.end:
            raise Invalid(
                "holiday ranges overlap: {first} and {second}",
                field="holidays",
                first=f"{before.start}–{before.end}",
                second=f"{after.start}–{after.end}",
            )
    off = {d for r in checked for d in _days(r)}
    days: list[MakeUpDay] = []
    seen: set[date] = set()
    for i, w in enumerate(workdays):
        where = f"workdays[{i}]"
        if w.day.year != year:
            raise Invalid("make-up workdays must be inside {year}", field=f"{where}.day", year=year)
        if w.day.weekday() < 5:
            raise Invalid(
                "{day} is a weekday: a make-up workday is a Saturday or Sunday",
                field=f"{where}.day",
                day=w.day.isoformat(),
            )
        if w.day in off:
            raise Invalid(
                "{day} is inside a holiday range", field=f"{where}.day", day=w.day.isoformat()
            )
        if w.day in seen:
            raise Invalid("{day} appears twice", field=f"{where}.day", day=w.day.isoformat())
        seen.add(w.day)
        days.append(MakeUpDay(w.day, _name(w.name, f"{where}.name")))
    return Arrangement(year, tuple(checked), tuple(sorted(days, key=lambda w: w.day)))


def _days(r: HolidayRange) -> list[date]:
    return [r.start + timedelta(days=i) for i in range((r.end - r.start).days + 1)]


def parse_notice(text: str) -> Arrangement:
    """The JSON notice file of ``hotline calendar import`` (format: docs/calendar.md)."""
    try:
        raw: Any = json.loads(text)
        if not isinstance(raw, dict):
            raise TypeError("not an object")
        year = raw["year"]
        if not isinstance(year, int) or isinstance(year, bool):
            raise TypeError("year is not a number")
        holidays = [
            HolidayRange(
                date.fromisoformat(h["start"]),
                date.fromisoformat(h["end"]),
                str(h["name"]),
            )
            for h in raw.get("holidays", [])
        ]
        workdays = [
            MakeUpDay(date.fromisoformat(w["day"]), str(w["name"])) for w in raw.get("workdays", [])
        ]
    except (ValueError, TypeError, KeyError) as exc:
        raise Invalid(
            "the file is not a notice as docs/calendar.md shows it ({error})",
            field="file",
            error=str(exc),
        ) from exc
    return validate_arrangement(year, holidays, workdays)


@dataclass(frozen=True)
class Published:
    province_id: int
    year: int
    holidays: int
    workdays: int
    # Recompute jobs enqueued, one per active city of the province.
    jobs: int


async def import_calendar_year(
    *, actor: Actor | None, province_id: int, arrangement: Arrangement
) -> Published:
    """Replace the province layer's entries of the year with the notice, in one
    transaction; record the year as published; enqueue the recompute per city.

    ``actor`` None is the CLI (an operator on the machine). City overrides stay."""
    if actor is not None and (
        actor.tenant_id is not None
        or not allowed(actor, Action.CALENDAR_UPDATE, province_id=province_id)
    ):
        raise NotFound("province", field="provinceId")
    with use_scope(Scope.platform()):
        province = await Province.get_or_none(id=province_id)
    if province is None:
        raise NotFound("province", field="provinceId")
    year = arrangement.year
    user_id = actor.user_id if actor else None
    holiday_dates = arrangement.holiday_dates()
    with use_scope(Scope.province(province_id, user_id)):
        async with in_transaction("default"):
            await CalendarEntry.filter(
                province_id=province_id,
                tenant_id=None,
                day__gte=date(year, 1, 1),
                day__lte=date(year, 12, 31),
            ).delete()
            await CalendarEntry.bulk_create(
                [
                    CalendarEntry(
                        province_id=province_id,
                        tenant_id=None,
                        day=day,
                        kind=DayKind.HOLIDAY.value,
                        name=name,
                    )
                    for day, name in holiday_dates
                ]
                + [
                    CalendarEntry(
                        province_id=province_id,
                        tenant_id=None,
                        day=w.day,
                        kind=DayKind.WORKDAY.value,
                        name=w.name,
                    )
                    for w in arrangement.workdays
                ]
            )
            row, _ = await CalendarYear.update_or_create(
                province_id=province_id,
                year=year,
                defaults={
                    "source": "import",
                    "holidays": len(holiday_dates),
                    "workdays": len(arrangement.workdays),
                    "published_by_id": user_id,
                },
            )
            await record_audit(
                actor_id=user_id,
                action="calendar.import",
                target=str(year),
                detail={
                    "holidays": [
                        [r.start.isoformat(), r.end.isoformat(), r.name]
                        for r in arrangement.holidays
                    ],
                    "workdays": [w.day.isoformat() for w in arrangement.workdays],
                },
                province_id=province_id,
            )
    with use_scope(Scope.platform()):
        cities = await Tenant.filter(province_id=province_id, is_active=True).order_by("id")
    stamp = row.updated_at.astimezone(UTC).strftime("%Y%m%d%H%M%S%f")
    for city in cities:
        await jobs.enqueue(
            RECOMPUTE_JOB,
            tenant_id=city.id,
            year=year,
            job_id=f"provisional:{city.id}:{year}:{stamp}",
        )
    return Published(province_id, year, len(holiday_dates), len(arrangement.workdays), len(cities))


async def published_years(province_ids: list[int]) -> list[frozenset[int]]:
    """Per province: the years whose arrangement is known (shipped or published)."""
    shipped = frozenset(covered_years())
    with use_scope(Scope.platform()):
        rows = await CalendarYear.filter(province_id__in=province_ids).values_list(
            "province_id", "year"
        )
    years: dict[int, set[int]] = {pid: set() for pid in province_ids}
    for pid, year in rows:
        years[int(pid)].add(int(year))
    return [shipped | frozenset(years[pid]) for pid in province_ids]


def provisional(deadline: datetime | None, years: frozenset[int], zone: Any) -> bool:
    """Whether ``deadline`` lies in a year with no known arrangement (in ``zone``)."""
    return deadline is not None and deadline.astimezone(zone).year not in years

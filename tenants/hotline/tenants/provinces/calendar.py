"""Working calendars stored per province (shared) and per city (overrides).

The arithmetic lives in ``hotline.platform.calendar``; this module loads the layers
from the database, writes calendar days, and seeds the official arrangement.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, time
from typing import Any

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from hotline.platform import clock
from hotline.platform.calendar import (
    DEFAULT_WEEKLY_HOURS,
    CalendarOverride,
    DayKind,
    RestDayStart,
    WeeklyHours,
    WorkCalendar,
    covered_years,
    effective_calendar,
    missing_arrangement_warning,
    official_entries,
)
from hotline.platform.calendar import (
    CalendarEntry as Entry,
)
from hotline.platform.tenancy import Scope, use_scope
from hotline.tenants.kernel.access import Action, Actor, allowed, require
from hotline.tenants.kernel.audit import record_audit
from hotline.tenants.kernel.errors import Invalid, NotFound
from hotline.tenants.provinces.calendar_years import FIRST_YEAR, LAST_YEAR
from hotline.tenants.provinces.models import CalendarEntry, CalendarYear, Province, Tenant

MAX_DAYS_PER_CALL = 400


@dataclass(frozen=True)
class DayChange:
    """One date to set: ``kind`` None removes this layer's entry (inherit again)."""

    day: date
    kind: DayKind | None
    name: str = ""


def parse_weekly_hours(raw: dict[str, Any]) -> WeeklyHours:
    """``{"0": [["09:00", "12:00"], …], …}`` (0 = Monday); empty = the default hours."""
    if not raw:
        return DEFAULT_WEEKLY_HOURS
    days: list[tuple[tuple[time, time], ...]] = []
    try:
        for weekday in range(7):
            periods = raw.get(str(weekday), [])
            days.append(tuple((time.fromisoformat(a), time.fromisoformat(b)) for a, b in periods))
    except (TypeError, ValueError) as exc:
        raise Invalid(
            'working hours must be [["HH:MM", "HH:MM"], …] per weekday', field="workingHours"
        ) from exc
    for periods in days:
        for start, end in periods:
            if not start < end:
                raise Invalid("a working period must end after it starts", field="workingHours")
    return tuple(days)


def _entries(rows: list[CalendarEntry]) -> tuple[Entry, ...]:
    return tuple(Entry(date=r.day, kind=DayKind(r.kind), name=r.name) for r in rows)


async def province_calendar(province: Province) -> WorkCalendar:
    rows = await CalendarEntry.filter(province_id=province.id, tenant_id=None)
    return WorkCalendar.from_entries(
        _entries(rows),
        timezone=province.timezone,
        weekly_hours=parse_weekly_hours(province.working_hours),
    )


async def tenant_calendar(tenant: Tenant) -> WorkCalendar:
    """The city's effective calendar: the province's, with the city's layer on top."""
    province = await Province.get(id=tenant.province_id)
    base = await province_calendar(province)
    own = await CalendarEntry.filter(province_id=province.id, tenant_id=tenant.id)
    return _city_layer(base, tenant, own)


def _city_layer(base: WorkCalendar, tenant: Tenant, own: list[CalendarEntry]) -> WorkCalendar:
    return effective_calendar(
        base,
        CalendarOverride(
            timezone=tenant.timezone,
            weekly_hours=parse_weekly_hours(tenant.working_hours) if tenant.working_hours else None,
            entries=_entries(own),
            rest_day_start=RestDayStart(tenant.rest_day_start),
        ),
    )


async def city_calendars(province_id: int, tenants: Sequence[Tenant]) -> dict[int, WorkCalendar]:
    """:func:`tenant_calendar` of several cities of one province, in two statements
    however many cities (the province, then every entry of the province's layer and of
    those cities). Runs in the caller's scope: the province's, or a city's for its own."""
    if not tenants:
        return {}
    if any(t.province_id != province_id for t in tenants):
        raise ValueError("cities of another province")
    province = await Province.get(id=province_id)
    rows = await CalendarEntry.filter(
        Q(tenant_id=None) | Q(tenant_id__in=[t.id for t in tenants]), province_id=province_id
    )
    layers: dict[int | None, list[CalendarEntry]] = {}
    for row in rows:
        layers.setdefault(row.tenant_id, []).append(row)
    base = WorkCalendar.from_entries(
        _entries(layers.get(None, [])),
        timezone=province.timezone,
        weekly_hours=parse_weekly_hours(province.working_hours),
    )
    return {t.id: _city_layer(base, t, layers.get(t.id, [])) for t in tenants}


async def current_tenant_calendar(actor: Actor) -> WorkCalendar:
    require(actor, Action.CALENDAR_READ)
    tenant = await Tenant.get_or_none(id=actor.tenant_id)
    if tenant is None:
        raise NotFound("city")
    return await tenant_calendar(tenant)


async def set_calendar_days(
    *, actor: Actor, days: list[DayChange], province_id: int | None = None
) -> list[CalendarEntry]:
    """Set or clear dated entries: the current city's layer, or (``province_id``) the
    province's shared layer. Deadlines already set keep their value (docs/calendar.md)."""
    if not days or len(days) > MAX_DAYS_PER_CALL:
        raise Invalid("give 1 to {max} days", field="days", max=MAX_DAYS_PER_CALL)
    if len({d.day for d in days}) != len(days):
        raise Invalid("a date appears twice", field="days")
    if province_id is None:
        require(actor, Action.CALENDAR_UPDATE)
        tenant_id, pid = actor.tenant_id, actor.province_id
        if tenant_id is None or pid is None:
            raise Invalid("name a city (X-Hotline-Tenant) or a province", field="provinceId")
        scope = Scope.city(tenant_id, pid, actor.user_id)
    else:
        if not allowed(actor, Action.CALENDAR_UPDATE, province_id=province_id):
            raise NotFound("province", field="provinceId")
        if actor.tenant_id is not None:
            raise Invalid("province days are set outside a city scope", field="provinceId")
        tenant_id, pid = None, province_id
        scope = Scope.province(province_id, actor.user_id)
    for change in days:
        if len(change.name) > 100:
            raise Invalid("a day's name is at most 100 characters", field="days")
    with use_scope(scope):
        async with in_transaction("default"):
            for change in days:
                await CalendarEntry.filter(
                    province_id=pid, tenant_id=tenant_id, day=change.day
                ).delete()
                if change.kind is not None:
                    await CalendarEntry.create(
                        province_id=pid,
                        tenant_id=tenant_id,
                        day=change.day,
                        kind=change.kind.value,
                        name=change.name,
                    )
        rows = await CalendarEntry.filter(
            province_id=pid, tenant_id=tenant_id, day__in=[d.day for d in days]
        ).order_by("day")
    await record_audit(
        actor_id=actor.user_id,
        action="calendar.set",
        target=f"{len(days)} days",
        detail={"days": [d.day.isoformat() for d in days]},
        tenant_id=tenant_id,
        province_id=pid,
    )
    return rows


async def calendar_entries(
    *, actor: Actor, year: int, province_id: int | None = None
) -> list[CalendarEntry]:
    """Entries of one year: the province's and (in a city) the city's own, by date."""
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise Invalid(
            "the year must be {first} to {last}", field="year", first=FIRST_YEAR, last=LAST_YEAR
        )
    start, end = date(year, 1, 1), date(year, 12, 31)
    if province_id is not None:
        if not allowed(actor, Action.CALENDAR_READ, province_id=province_id):
            raise NotFound("province", field="provinceId")
        with use_scope(Scope.province(province_id, actor.user_id)):
            return await CalendarEntry.filter(
                province_id=province_id, tenant_id=None, day__gte=start, day__lte=end
            ).order_by("day")
    require(actor, Action.CALENDAR_READ)
    return await CalendarEntry.filter(day__gte=start, day__lte=end).order_by("day", "tenant_id")


async def seed_official_calendar(*, province_id: int, since_year: int | None = None) -> int:
    """Load the official national arrangement into the province layer; returns rows added."""
    first = since_year if since_year is not None else clock.now().year - 1
    existing = set(
        await CalendarEntry.filter(province_id=province_id, tenant_id=None).values_list(
            "day", flat=True
        )
    )
    rows = [
        CalendarEntry(
            province_id=province_id, tenant_id=None, day=e.date, kind=e.kind.value, name=e.name
        )
        for year in covered_years()
        if year >= first
        for e in official_entries(year)
        if e.date not in existing
    ]
    await CalendarEntry.bulk_create(rows)
    return len(rows)


async def arrangement_warnings(*, province_id: int, today: date) -> list[str]:
    """Warn when next year has neither the packaged official arrangement nor entries."""
    year = today.year + 1
    warning = missing_arrangement_warning(year)
    if warning is None:
        return []
    if await CalendarYear.filter(province_id=province_id, year=year).exists():
        return []
    has_own = await CalendarEntry.filter(
        province_id=province_id,
        tenant_id=None,
        day__gte=date(year, 1, 1),
        day__lte=date(year, 12, 31),
    ).exists()
    return [] if has_own else [warning]

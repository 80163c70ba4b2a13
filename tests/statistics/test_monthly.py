"""The monthly rows (``stats_monthly_departments``, docs/statistics.md "Monthly rows"): a
month's stored days summed per department by the recompute, in the transaction that
writes the days. They equal the sum of the month's daily rows (and so a recomputation),
a re-run changes none of their figures, a dashboard or roll-up reading them gives the
figures the daily rows give (whole city, a department subtree, the ranking, the
province), a month whose days changed without it is read from its days, and a city or
province never reads another's."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio

from hotline.platform.redis import redis_client, tenant_key
from hotline.platform.settings import Settings
from hotline.platform.tenancy import Scope, use_scope
from hotline.tenants.kernel.access import Actor
from hotline.tenants.provinces.calendar import seed_official_calendar
from hotline.tenants.provinces.models import Province, Tenant
from hotline.tenants.statistics.aggregates import city_clock, recompute_range, refresh_dirty_days
from hotline.tenants.statistics.dashboard import (
    CityReport,
    city_statistics,
    province_statistics,
)
from hotline.tenants.statistics.metrics import SUMMED, total
from hotline.tenants.statistics.models import DepartmentDay, DepartmentMonth, DirtyDay
from hotline.tenants.tickets.models import Assignment, Ticket
from tests.statements import counting
from tests.tickets_api.conftest import City, make_city

SH = ZoneInfo("Asia/Shanghai")
FEB, FEB_END = date(2026, 2, 1), date(2026, 2, 28)
PERIOD = (date(2026, 1, 29), date(2026, 3, 2))  # January's last days, February, March 1-2
FIGURES = (*SUMMED, "received_by", "sign_hist", "reply_hist")


@dataclass(frozen=True)
class Months:
    province: Province
    cities: list[City]  # two cities of the province
    other: City  # a city of another province


async def _history(city: City, weight: int) -> None:
    """``weight`` tickets every day of ``PERIOD`` (answered directly, dispatched and
    replied and graded, or left open past the deadline), then the recompute."""
    with use_scope(city.scope()):
        day = PERIOD[0]
        while day <= PERIOD[1]:
            for n in range(weight):
                received = datetime.combine(day, time(9 + n), tzinfo=SH)
                ticket = await Ticket.create(
                    number=f"{city.tenant.number_prefix}{secrets.token_hex(5)}",
                    query_code_hash=secrets.token_hex(8),
                    content="路灯不亮",
                    channel=("phone", "web", "wechat")[n % 3],
                    kind="complaint",
                    category_id=(city.category, city.subcategory)[n % 2].id,
                    area_id=city.street.id,
                    received_at=received,
                    status="closed" if n % 3 else "dispatched",
                    closed_at=received + timedelta(hours=30) if n % 3 else None,
                    revisited_at=received + timedelta(hours=30) if n % 3 else None,
                    satisfaction=("satisfied", "unsatisfied")[day.day % 2] if n % 3 else None,
                )
                await Assignment.create(
                    ticket=ticket,
                    department=(city.district, city.bureau, city.street)[(n + day.day) % 3],
                    is_lead=True,
                    created_at=received + timedelta(minutes=10),
                    sign_deadline=received + timedelta(hours=2),
                    signed_at=received + timedelta(minutes=20 + 7 * n) if n % 3 else None,
                    reply_deadline=received + timedelta(days=3),
                    replied_at=received + timedelta(hours=20 + n) if n % 3 else None,
                    status="closed" if n % 3 else "signed",
                )
            day += timedelta(days=1)
        tenant = await Tenant.get(id=city.tenant.id)
        await recompute_range(await city_clock(tenant), *PERIOD)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def months(db: Settings) -> Months:
    with use_scope(Scope.platform()):
        province = await Province.create(code="460000", slug="hainan", name="Hainan")
        elsewhere = await Province.create(code="540000", slug="xizang", name="Xizang")
    cities = [
        await make_city(province, "460100", "haikou"),
        await make_city(province, "460200", "sanya"),
    ]
    other = await make_city(elsewhere, "540100", "lhasa")
    for p in (province, elsewhere):
        with use_scope(Scope.province(p.id)):
            await seed_official_calendar(province_id=p.id, since_year=2026)
    for i, city in enumerate([*cities, other]):
        await _history(city, 4 + i)
    return Months(province=province, cities=cities, other=other)


async def _tenants_seen() -> set[int]:
    rows = await DepartmentMonth._meta.db.execute_query_dict(
        "SELECT DISTINCT tenant_id FROM stats_monthly_departments"
    )
    return {r["tenant_id"] for r in rows}


async def _restore_february(saved: list[dict[str, Any]]) -> None:
    """Put back the current city's February rows as ``saved`` (``.values()``) held them."""
    await DepartmentMonth.filter(month=FEB).delete()
    await DepartmentMonth.bulk_create(
        [DepartmentMonth(**{k: v for k, v in r.items() if k != "id"}) for r in saved]
    )


async def _uncached(city: City, department_id: int | None = None) -> CityReport:
    async for key in redis_client().scan_iter(match=tenant_key(city.tenant.id, "stats", "*")):
        await redis_client().delete(key)
    return await city_statistics(
        actor=city.leader(), first=PERIOD[0], last=PERIOD[1], department_id=department_id
    )


async def _month_rows(city: City) -> dict[int | None, dict[str, Any]]:
    with use_scope(city.scope()):
        return {r["department_id"]: r for r in await DepartmentMonth.filter(month=FEB).values()}


async def test_a_month_is_the_sum_of_its_days_and_a_rerun_changes_nothing(
    months: Months,
) -> None:
    city = months.cities[0]
    with use_scope(city.scope()):
        days = await DepartmentDay.filter(day__gte=FEB, day__lte=FEB_END).values()
    by_department: dict[int | None, list[dict[str, Any]]] = {}
    for row in days:
        by_department.setdefault(row["department_id"], []).append(row)
    stored = await _month_rows(city)
    assert set(stored) == set(by_department)
    assert len(stored) >= 3
    for department, rows in by_department.items():
        summed = total(rows).as_row()
        for column in FIGURES:
            assert stored[department][column] == summed[column], (department, column)
        assert stored[department]["days"] == len(days)
    # the repair over the month again (and over a day of it, as the worker does): the
    # same figures, one row per department still
    with use_scope(city.scope()):
        clock_ = await city_clock(await Tenant.get(id=city.tenant.id))
        await recompute_range(clock_, FEB, FEB_END)
        await recompute_range(clock_, date(2026, 2, 10), date(2026, 2, 10))
    again = await _month_rows(city)
    assert set(again) == set(stored)
    for department, row in again.items():
        assert {c: row[c] for c in FIGURES} == {c: stored[department][c] for c in FIGURES}


async def test_dashboards_read_from_months_equal_those_read_from_days(months: Months) -> None:
    city = months.cities[0]
    whole = await _uncached(city)
    subtree = await _uncached(city, city.district.id)
    with use_scope(city.scope()):
        saved = await DepartmentMonth.filter(month=FEB).values()
        await DepartmentMonth.filter(month=FEB).delete()  # every day read instead
    assert await _uncached(city) == whole
    assert await _uncached(city, city.district.id) == subtree
    assert whole.figures.totals.received == 4 * ((PERIOD[1] - PERIOD[0]).days + 1)
    assert len(whole.departments) >= 3  # the ranking: every department of the period
    assert subtree.figures.totals.received < whole.figures.totals.received
    with use_scope(city.scope()):
        await _restore_february(saved)
        # and February is read from its monthly rows, not its days (a planted count shows)
        [bureau] = [r for r in saved if r["department_id"] == city.bureau.id]
        await DepartmentMonth.filter(month=FEB, department_id=city.bureau.id).update(
            received=bureau["received"] + 10_000
        )
    planted = await _uncached(city)
    assert planted.figures.totals.received == whole.figures.totals.received + 10_000
    with use_scope(city.scope()):
        await _restore_february(saved)
    assert await _uncached(city) == whole


async def test_a_month_whose_days_changed_without_it_is_read_from_its_days(
    months: Months,
) -> None:
    city = months.cities[1]
    before = await _uncached(city)
    with use_scope(city.scope()):
        # a day written by something that does not know the monthly rows (the previous
        # release's worker): the month's version no longer matches its days
        row = await DepartmentDay.filter(day=date(2026, 2, 14)).first()
        assert row is not None
        await DepartmentDay.filter(id=row.id).update(received=row.received + 100)
    changed = await _uncached(city)
    assert changed.figures.totals.received == before.figures.totals.received + 100
    # a day marked dirty: computed live, the month's other days read from the days
    with use_scope(city.scope()):
        await DirtyDay.create(day=date(2026, 2, 14), marked_at=datetime.now(UTC))
    assert (await _uncached(city)).figures == before.figures
    with use_scope(city.scope()):
        await recompute_range(await city_clock(await Tenant.get(id=city.tenant.id)), FEB, FEB_END)
    assert (await _uncached(city)).figures == before.figures


async def test_the_province_reads_each_citys_months_and_no_other_province(
    months: Months,
) -> None:
    admin = Actor(user_id=1, province_admin_of=frozenset({months.province.id}))
    report = await province_statistics(actor=admin, first=PERIOD[0], last=PERIOD[1])
    assert {c.id for c in report.cities} == {c.tenant.id for c in months.cities}
    for city in months.cities:
        own = await _uncached(city)
        [ranked] = [c for c in report.cities if c.id == city.tenant.id]
        assert ranked.figures == own.figures, city.slug
    with use_scope(Scope.province(months.province.id)):
        seen = await _tenants_seen()
    assert months.other.tenant.id not in seen
    assert seen >= {c.tenant.id for c in months.cities}


async def test_a_city_reads_only_its_own_months(months: Months) -> None:
    first, second = months.cities
    with use_scope(first.scope()):
        # row-level security, not the ORM's own filter: raw statements see no other city
        assert await _tenants_seen() == {first.tenant.id}
        await DepartmentMonth._meta.db.execute_query(
            "DELETE FROM stats_monthly_departments WHERE tenant_id = $1", [second.tenant.id]
        )
    assert await _month_rows(second)  # still there
    assert (await _uncached(second)).figures.totals.received == 5 * (
        (PERIOD[1] - PERIOD[0]).days + 1
    )


async def test_a_month_missing_a_departments_row_is_read_from_its_days(months: Months) -> None:
    """Every monthly row carries the days' version, so a month that lost one (a hand
    edit, a partial restore) would pass a check of any one row: the check counts them."""
    city = months.cities[0]
    whole = await _uncached(city)
    with use_scope(city.scope()):
        saved = await DepartmentMonth.filter(month=FEB).values()
        # the bureau's row planted (it would show if read), the district's row lost
        await DepartmentMonth.filter(month=FEB, department_id=city.bureau.id).update(
            received=10_000
        )
        await DepartmentMonth.filter(month=FEB, department_id=city.district.id).delete()
    try:
        assert (await _uncached(city)).figures == whole.figures
    finally:
        with use_scope(city.scope()):
            await _restore_february(saved)
    assert await _uncached(city) == whole


async def test_a_backlog_of_a_months_days_sums_the_month_once(
    months: Months, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker's refresh recomputes consecutive dirty days of one month together:
    each recompute sums its months again, once per run of days, not once per day."""
    city = months.cities[1]
    before = await _uncached(city)
    with use_scope(city.scope()):
        for day in (date(2026, 2, 3), date(2026, 2, 4), date(2026, 2, 5), date(2026, 2, 20)):
            await DirtyDay.create(day=day, marked_at=datetime.now(UTC))
        clock_ = await city_clock(await Tenant.get(id=city.tenant.id))
        with counting(monkeypatch) as sent:
            assert await refresh_dirty_days(clock_) == 4
        assert not await DirtyDay.filter(day__gte=FEB, day__lte=FEB_END).exists()
    rolls = [q for q in sent if q.startswith("DELETE FROM stats_monthly_departments")]
    assert len(rolls) == 2  # 3–5 February together, 20 February alone
    assert (await _uncached(city)).figures == before.figures

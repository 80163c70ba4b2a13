"""The province roll-up reads every city at once: the same figures as each city's own
dashboard (stored days, a day still marked dirty, today live; cities in two time zones),
and the same statements for one city as for three (never a statement per city)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio

from hotline.platform.settings import Settings
from hotline.platform.tenancy import Scope, use_scope
from hotline.tenants.kernel.access import Actor
from hotline.tenants.provinces.calendar import seed_official_calendar
from hotline.tenants.provinces.models import Province, Tenant
from hotline.tenants.statistics.aggregates import city_clock, recompute_range
from hotline.tenants.statistics.dashboard import city_statistics, province_statistics
from hotline.tenants.statistics.models import DailyStat, DepartmentDay, DirtyDay
from hotline.tenants.tickets.models import Assignment, Ticket
from tests.statements import counting
from tests.tickets_api.conftest import City, make_city

DAYS = 6  # days of history: the five days before today, and today


@dataclass(frozen=True)
class Provinces:
    one: Province  # a province of one city
    three: Province  # a province of three cities, one of them in another time zone
    cities: dict[int, list[City]]  # per province id


def _local(city: City, moment: datetime) -> date:
    return moment.astimezone(ZoneInfo(city.tenant.timezone)).date()


async def _ticket(city: City, received: datetime, n: int, **values: Any) -> Ticket:
    return await Ticket.create(
        number=f"{city.tenant.number_prefix}{secrets.token_hex(5)}",
        query_code_hash=secrets.token_hex(8),
        content="路灯不亮",
        channel=("phone", "web")[n % 2],
        kind="complaint",
        category_id=city.subcategory.id,
        area_id=city.street.id,
        received_at=received,
        **values,
    )


async def _history(city: City, weight: int) -> None:
    """``weight`` tickets a day over the period (the older days stored by the recompute,
    one of them then marked dirty with its stored rows gone, today live): answered
    directly, or dispatched, signed, replied and graded — or still open past its
    deadline (overdue now)."""
    now = datetime.now(UTC)
    zone = ZoneInfo(city.tenant.timezone)
    today = _local(city, now)
    with use_scope(city.scope()):
        for back in range(DAYS):
            for n in range(weight):
                noon = datetime.combine(today - timedelta(days=back), time(12), tzinfo=zone)
                received = (now if back == 0 else noon) - timedelta(minutes=1 + n)
                if n % 3 == 0:
                    answered = received + timedelta(minutes=5)
                    await _ticket(city, received, n, status="closed", direct_answer=True,
                                  answered_at=answered, closed_at=answered)  # fmt: skip
                    continue
                done = n % 3 == 1
                ticket = await _ticket(
                    city, received, n, status="closed" if done else "dispatched",
                    closed_at=received + timedelta(minutes=50) if done else None,
                    revisited_at=received + timedelta(minutes=50) if done else None,
                    satisfaction=("satisfied", "unsatisfied")[back % 2] if done else None,
                )  # fmt: skip
                await Assignment.create(
                    ticket=ticket, department=(city.district, city.bureau)[n % 2], is_lead=True,
                    created_at=received + timedelta(minutes=10),
                    sign_deadline=received + timedelta(minutes=30),
                    signed_at=received + timedelta(minutes=20 + n) if done else None,
                    reply_deadline=received + timedelta(minutes=40),
                    replied_at=received + timedelta(minutes=45) if done else None,
                    status="closed" if done else "signed",
                )  # fmt: skip
        tenant = await Tenant.get(id=city.tenant.id)
        await recompute_range(await city_clock(tenant), today - timedelta(days=DAYS), today)
        dirty = today - timedelta(days=2)
        await DirtyDay.create(day=dirty, marked_at=now)
        await DailyStat.filter(day=dirty).delete()  # never read: the day is computed live
        await DepartmentDay.filter(day=dirty).delete()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def provinces(db: Settings) -> Provinces:
    with use_scope(Scope.platform()):
        one = await Province.create(code="130000", slug="hebei", name="Hebei")
        three = await Province.create(code="650000", slug="xinjiang", name="Xinjiang")
    cities = {
        one.id: [await make_city(one, "130100", "shijiazhuang")],
        three.id: [
            await make_city(three, "650100", "urumqi"),
            await make_city(three, "650200", "karamay"),
            await make_city(three, "652900", "aksu"),
        ],
    }
    with use_scope(Scope.platform()):  # the region's own clock for one of them
        await Tenant.filter(id=cities[three.id][0].tenant.id).update(timezone="Asia/Urumqi")
    for province in (one, three):
        with use_scope(Scope.province(province.id)):
            await seed_official_calendar(province_id=province.id, since_year=2026)
        for i, city in enumerate(cities[province.id]):
            with use_scope(Scope.platform()):
                city.tenant = await Tenant.get(id=city.tenant.id)
            await _history(city, 4 + i)
    return Provinces(one=one, three=three, cities=cities)


def _period() -> tuple[date, date]:
    """Every city's history (its own last DAYS local days: Urumqi's today may be
    Shanghai's yesterday) and Shanghai's today."""
    today = datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai")).date()
    return today - timedelta(days=DAYS), today


def _admin(province: Province) -> Actor:
    return Actor(user_id=1, province_admin_of=frozenset({province.id}))


async def test_the_roll_up_gives_each_city_its_own_dashboards_figures(
    provinces: Provinces,
) -> None:
    first, last = _period()
    report = await province_statistics(actor=_admin(provinces.three), first=first, last=last)
    cities = provinces.cities[provinces.three.id]
    assert {c.id for c in report.cities} == {c.tenant.id for c in cities}  # Hebei's is not
    received = 0
    for city in cities:
        own = await city_statistics(actor=city.leader(), first=first, last=last)
        [ranked] = [c for c in report.cities if c.id == city.tenant.id]
        assert ranked.figures == own.figures, city.slug
        assert own.figures.totals.signed > 0
        assert own.figures.overdue_now
        received += own.figures.totals.received
    # every ticket of the period is counted once: stored, dirty and today's days alike
    assert received == report.figures.totals.received == DAYS * (4 + 5 + 6)
    assert report.figures.overdue_now == sum(c.figures.overdue_now or 0 for c in report.cities)


async def test_the_roll_up_costs_the_same_statements_for_one_city_or_three(
    provinces: Provinces, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, last = _period()
    counts = []
    for province in (provinces.one, provinces.three):
        with counting(monkeypatch) as sent:
            report = await province_statistics(actor=_admin(province), first=first, last=last)
        assert len(report.cities) == len(provinces.cities[province.id])
        assert all(c.figures.totals.received for c in report.cities)
        counts.append(len(sent))
    assert counts[0] == counts[1], counts
    # the cities, the dirty days, two for the stored days, two for the calendars, the
    # live days' eleven, overdue now, the calls (and the scope's own statements)
    assert counts[0] <= 24, counts

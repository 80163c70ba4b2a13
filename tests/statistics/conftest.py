"""Cities for the statistics tests: alpha and gamma in Shandong, beta in Jiangsu, each
with the work-order tests' department tree, categories and one actor per role (built by
``tests/tickets/conftest.py``'s helper), plus a tenant admin, a department manager of the
district and the province admin of Shandong."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest_asyncio

from hotline.platform.redis import close_redis
from hotline.platform.settings import Settings
from hotline.platform.tenancy import Scope, use_scope
from hotline.tenants.accounts.memberships import load_actor
from hotline.tenants.accounts.models import ProvinceRole, User
from hotline.tenants.kernel.access import Actor
from hotline.tenants.kernel.roles import Role
from hotline.tenants.provinces.calendar import seed_official_calendar
from hotline.tenants.provinces.models import Province
from tests.tickets.conftest import City, _actor, _city


@dataclass(frozen=True)
class StatsCity:
    city: City
    admin: Actor
    district_manager: Actor  # a department manager of the district (its subtree only)


@dataclass(frozen=True)
class StatsWorld:
    alpha: StatsCity
    beta: StatsCity
    gamma: StatsCity
    province_admin: Actor  # of Shandong (alpha, gamma), in province scope


async def _stats_city(province: Province, code: str, slug: str, prefix: str) -> StatsCity:
    city = await _city(province, code, slug, prefix)
    return StatsCity(
        city=city,
        admin=await _actor(city.tenant, "admin", Role.TENANT_ADMIN, None),
        district_manager=await _actor(city.tenant, "dmanager", Role.DEPT_MANAGER, city.district),
    )


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def stats_world(db: Settings) -> AsyncIterator[StatsWorld]:
    with use_scope(Scope.platform()):
        shandong = await Province.create(code="370000", slug="shandong", name="Shandong")
        jiangsu = await Province.create(code="320000", slug="jiangsu", name="Jiangsu")
    for province in (shandong, jiangsu):
        with use_scope(Scope.province(province.id)):
            await seed_official_calendar(province_id=province.id, since_year=2026)
    alpha = await _stats_city(shandong, "370100", "alpha", "AL")
    beta = await _stats_city(jiangsu, "320100", "beta", "BE")
    gamma = await _stats_city(shandong, "371400", "gamma", "GA")
    with use_scope(Scope.platform()):
        admin = await User.create(username="shandong-admin", display_name="Province admin")
        await ProvinceRole.create(user=admin, province_id=shandong.id, role="province_admin")
    province_admin = await load_actor(user_id=admin.id, tenant_id=None, province_id=shandong.id)
    yield StatsWorld(alpha=alpha, beta=beta, gamma=gamma, province_admin=province_admin)
    await close_redis()

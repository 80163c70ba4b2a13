"""Cities for the business tests: alpha (Shandong) with two enterprises, beta (Jiangsu)
with one, the business flag on in both; per city a tenant admin, two service managers,
a supervisor and a dispatcher, and per enterprise an enterprise admin and user."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest_asyncio

from hotline.platform.redis import close_redis
from hotline.platform.settings import Settings
from hotline.platform.tenancy import Scope, use_scope
from hotline.schema.app import create_app
from hotline.tenants.business.models import Enterprise, EnterpriseMember
from hotline.tenants.business.rules import make_uscc
from hotline.tenants.departments.models import Department, DepartmentKind
from hotline.tenants.kernel.roles import Role
from hotline.tenants.provinces.calendar import seed_official_calendar
from hotline.tenants.provinces.models import Province, Tenant
from tests.tickets_api.conftest import City, World, add_person, make_city


async def add_provider(city: City, function: str, name: str) -> Department:
    """A bank, law firm or legal-aid center: a utility under the center with its function."""
    with use_scope(city.scope()):
        node = await Department.create(
            parent=city.center,
            kind=DepartmentKind.UTILITY,
            name=name,
            function=function,
            path="/",
            depth=1,
        )
        node.path = f"{city.center.path}{node.id}/"
        await node.save(update_fields=["path"])
    return node


@dataclass
class BizCity:
    city: City
    enterprises: dict[str, Enterprise] = field(default_factory=dict)
    # service providers: departments of function bank, law_firm and legal_aid
    providers: dict[str, Department] = field(default_factory=dict)


@dataclass
class BizWorld:
    world: World
    alpha: BizCity
    beta: BizCity


def uscc(seq: int, region: str = "370100") -> str:
    """A valid USCC: 91 (enterprise), the region, a 9-character organization code."""
    return make_uscc(f"91{region}MA{seq:07d}")


async def add_enterprise(city: City, key: str, seq: int, **values: Any) -> Enterprise:
    with use_scope(city.scope()):
        return await Enterprise.create(
            uscc=uscc(seq, city.tenant.code),
            name=f"{city.slug} {key} 有限公司",
            industry=values.pop("industry", "65"),
            section=values.pop("section", "I"),
            area_id=values.pop("area_id", city.district.id),
            **values,
        )


async def add_enterprise_person(city: City, name: str, role: Role, enterprise: Enterprise) -> None:
    await add_person(city, name, role)
    with use_scope(city.scope()):
        await EnterpriseMember.create(
            enterprise_id=enterprise.id, user_id=city.users[name], role=role
        )


async def enable_business(city: City, on: bool = True) -> None:
    with use_scope(Scope.platform()):
        tenant = await Tenant.get(id=city.tenant.id)
        tenant.features = {**(tenant.features or {}), "business": on}
        await tenant.save(update_fields=["features"])


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def biz(db: Settings) -> AsyncIterator[BizWorld]:
    with use_scope(Scope.platform()):
        shandong = await Province.create(code="370000", slug="shandong", name="Shandong")
        jiangsu = await Province.create(code="320000", slug="jiangsu", name="Jiangsu")
    for province in (shandong, jiangsu):
        with use_scope(Scope.province(province.id)):
            await seed_official_calendar(province_id=province.id, since_year=2026)
    alpha = BizCity(await make_city(shandong, "370100", "alpha"))
    beta = BizCity(await make_city(jiangsu, "320100", "beta"))
    for n, bc in enumerate((alpha, beta)):
        city = bc.city
        await enable_business(city)
        for name, role in (
            ("admin", Role.TENANT_ADMIN),
            ("manager", Role.SERVICE_MANAGER),
            ("manager2", Role.SERVICE_MANAGER),
            ("supervisor", Role.SUPERVISOR),
            ("dispatcher", Role.DISPATCHER),
            ("agent", Role.AGENT),
        ):
            await add_person(city, name, role)
        await add_person(city, "province", None)
        await add_person(city, "district", Role.DEPT_HANDLER, city.district)
        for function, name in (
            ("bank", "bank"),
            ("law_firm", "law firm"),
            ("legal_aid", "legal aid"),
        ):
            bc.providers[function] = await add_provider(city, function, f"{city.slug} {name}")
        await add_person(city, "banker", Role.DEPT_MANAGER, bc.providers["bank"])
        await add_person(city, "bank-clerk", Role.DEPT_HANDLER, bc.providers["bank"])
        await add_person(city, "lawyer", Role.DEPT_HANDLER, bc.providers["law_firm"])
        keys = ("acme", "other") if n == 0 else ("acme",)
        for i, key in enumerate(keys):
            enterprise = await add_enterprise(city, key, n * 100 + i + 1)
            bc.enterprises[key] = enterprise
            await add_enterprise_person(city, f"{key}-admin", Role.ENTERPRISE_ADMIN, enterprise)
            await add_enterprise_person(city, f"{key}-user", Role.ENTERPRISE_USER, enterprise)
    app = create_app(db, manage_orm=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        yield BizWorld(
            world=World(settings=db, alpha=alpha.city, beta=beta.city, client=client),
            alpha=alpha,
            beta=beta,
        )
    await close_redis()

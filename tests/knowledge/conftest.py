"""Shandong with cities alpha and gamma, Jiangsu with beta; per city an admin and an
agent, plus Shandong's province admin. Actors are loaded as the API would load them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest_asyncio

from hotline.platform.redis import close_redis
from hotline.platform.settings import Settings
from hotline.platform.tenancy import Scope, use_scope
from hotline.tenants.accounts import memberships, users
from hotline.tenants.accounts.models import Membership, ProvinceRole, User
from hotline.tenants.departments.models import Department, DepartmentKind
from hotline.tenants.kernel.access import Actor
from hotline.tenants.kernel.roles import PlatformRole, Role
from hotline.tenants.provinces.models import Province, Tenant

PASSWORD = "Correct-Horse-42"


@dataclass(frozen=True)
class City:
    tenant: Tenant
    center: Department
    bureau: Department
    admin: User
    agent: User

    @property
    def id(self) -> int:
        return int(self.tenant.id)

    @property
    def province_id(self) -> int:
        return int(self.tenant.province_id)

    def scope(self, user: User | None = None) -> Scope:
        return Scope.city(self.id, self.province_id, user.id if user else None)


@dataclass(frozen=True)
class World:
    shandong: Province
    jiangsu: Province
    alpha: City
    gamma: City
    beta: City
    province_admin: User

    async def actor(self, user: User, city: City | None = None) -> Actor:
        """The actor of ``user`` in ``city`` (None: no city, the province scope)."""
        with use_scope(city.scope(user) if city else Scope.platform(user.id)):
            return await memberships.load_actor(
                user_id=user.id,
                tenant_id=city.id if city else None,
                province_id=city.province_id if city else None,
            )


async def _user(name: str) -> User:
    return await users.create_user(
        actor=None, username=name, display_name=name.title(), password=PASSWORD
    )


async def _city(province: Province, code: str, slug: str) -> City:
    with use_scope(Scope.platform()):
        tenant = await Tenant.create(
            province=province, code=code, slug=slug, name=slug.title(), number_prefix="KB"
        )
    admin, agent = await _user(f"{slug}-admin"), await _user(f"{slug}-agent")
    with use_scope(Scope.city(tenant.id, province.id)):
        center = await Department.create(kind=DepartmentKind.CENTER, name="center", path="/")
        center.path = f"/{center.id}/"
        await center.save(update_fields=["path"])
        bureau = await Department.create(
            kind=DepartmentKind.BUREAU, name="住房公积金中心", parent=center, depth=1, path="/"
        )
        bureau.path = f"{center.path}{bureau.id}/"
        await bureau.save(update_fields=["path"])
        await Membership.create(user=admin, role=Role.TENANT_ADMIN)
        await Membership.create(user=agent, role=Role.AGENT)
    return City(tenant=tenant, center=center, bureau=bureau, admin=admin, agent=agent)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def world(db: Settings) -> AsyncIterator[World]:
    with use_scope(Scope.platform()):
        shandong = await Province.create(code="370000", slug="shandong", name="Shandong")
        jiangsu = await Province.create(code="320000", slug="jiangsu", name="Jiangsu")
    alpha = await _city(shandong, "370100", "alpha")
    gamma = await _city(shandong, "370200", "gamma")
    beta = await _city(jiangsu, "320100", "beta")
    province_admin = await _user("shandong-admin")
    with use_scope(Scope.platform()):
        await ProvinceRole.create(
            user=province_admin, province_id=shandong.id, role=PlatformRole.PROVINCE_ADMIN
        )
    yield World(
        shandong=shandong,
        jiangsu=jiangsu,
        alpha=alpha,
        gamma=gamma,
        beta=beta,
        province_admin=province_admin,
    )
    await close_redis()

"""Two provinces with one city each (alpha, beta), their center departments and people."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass

import pytest
import pytest_asyncio

from hotline.platform.redis import close_redis
from hotline.platform.settings import Settings, reset_settings
from hotline.platform.tenancy import Scope, use_scope
from hotline.tenants.accounts import memberships, users
from hotline.tenants.accounts.models import Membership, User
from hotline.tenants.departments.models import Department, DepartmentKind
from hotline.tenants.kernel.access import Actor
from hotline.tenants.kernel.roles import Role
from hotline.tenants.provinces.models import Province, Tenant

PASSWORD = "Correct-Horse-42"


@dataclass(frozen=True)
class City:
    tenant: Tenant
    center: Department

    @property
    def id(self) -> int:
        return int(self.tenant.id)

    @property
    def province_id(self) -> int:
        return int(self.tenant.province_id)

    def scope(self, user_id: int | None = None) -> Scope:
        return Scope.city(self.tenant.id, self.tenant.province_id, user_id)


@dataclass(frozen=True)
class World:
    password: str
    shandong: Province
    jiangsu: Province
    alpha: City
    beta: City
    operator: User
    alpha_admin: User
    beta_admin: User

    async def actor(self, user: User, city: City | None = None) -> Actor:
        return await memberships.load_actor(
            user_id=user.id,
            tenant_id=city.id if city else None,
            province_id=city.province_id if city else None,
        )

    async def member(self, username: str, city: City, role: Role, **grant: int) -> User:
        """A new user with one role in ``city``, created and granted by that city's admin."""
        admin = self.alpha_admin if city is self.alpha else self.beta_admin
        actor = await self.actor(admin, city)
        with use_scope(city.scope(admin.id)):
            user = await users.create_user(
                actor=actor, username=username, display_name=username.title(), password=PASSWORD
            )
            await memberships.grant_membership(actor=actor, user_id=user.id, role=role, **grant)
        return user


async def _city(province: Province, code: str, slug: str, prefix: str) -> City:
    with use_scope(Scope.platform()):
        tenant = await Tenant.create(
            province=province, code=code, slug=slug, name=slug.title(), number_prefix=prefix
        )
    with use_scope(Scope.city(tenant.id, province.id)):
        center = await Department.create(
            kind=DepartmentKind.CENTER, name=f"{slug} 12345 center", path="/", depth=0
        )
        center.path = f"/{center.id}/"
        await center.save(update_fields=["path"])
    return City(tenant=tenant, center=center)


async def _admin_of(city: City, username: str) -> User:
    user = await users.create_user(
        actor=None, username=username, display_name=username.title(), password=PASSWORD
    )
    with use_scope(city.scope()):
        await Membership.create(user=user, role=Role.TENANT_ADMIN)
    return user


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def world(db: Settings) -> AsyncIterator[World]:
    with use_scope(Scope.platform()):
        shandong = await Province.create(code="370000", slug="shandong", name="Shandong")
        jiangsu = await Province.create(code="320000", slug="jiangsu", name="Jiangsu")
    alpha = await _city(shandong, "370100", "alpha", "AL")
    beta = await _city(jiangsu, "320100", "beta", "BE")
    operator = await users.create_user(
        actor=None,
        username="operator",
        display_name="Operator",
        password=PASSWORD,
        platform_operator=True,
    )
    yield World(
        password=PASSWORD,
        shandong=shandong,
        jiangsu=jiangsu,
        alpha=alpha,
        beta=beta,
        operator=operator,
        alpha_admin=await _admin_of(alpha, "alpha-admin"),
        beta_admin=await _admin_of(beta, "beta-admin"),
    )
    await close_redis()


@pytest.fixture
def setting(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str, str], None]]:
    """Change one HOTLINE_* setting for the current test: ``setting("LOGIN_MAX_FAILURES", "3")``."""

    def change(name: str, value: str) -> None:
        monkeypatch.setenv(f"HOTLINE_{name}", value)
        reset_settings()

    yield change
    monkeypatch.undo()
    reset_settings()

"""The accounts tests see two provinces with one city each (alpha, beta), their center
departments and password-holding admins: a view over the shared world (tests/world.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
import pytest_asyncio

from hotline.platform.auth.passwords import hash_password
from hotline.platform.settings import reset_settings
from hotline.platform.tenancy import Scope, use_scope
from hotline.tenants.accounts import memberships, users
from hotline.tenants.accounts.models import User
from hotline.tenants.departments.models import Department
from hotline.tenants.kernel.access import Actor
from hotline.tenants.kernel.roles import Role
from hotline.tenants.provinces.models import Province, Tenant
from tests.world import World as SharedWorld

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


async def _with_password(user_id: int | None) -> User:
    with use_scope(Scope.platform()):
        user = await User.get(id=user_id)
        user.password_hash = await asyncio.to_thread(hash_password, PASSWORD)
        await user.save(update_fields=["password_hash"])
    return user


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def world(world: SharedWorld) -> World:
    """A view over the shared world (tests/world.py): alpha and beta with their centers,
    their tenant admins given a password, and a platform operator."""
    with use_scope(Scope.platform()):
        operator = await users.create_user(
            actor=None,
            username="operator",
            display_name="Operator",
            password=PASSWORD,
            platform_operator=True,
        )
    return World(
        password=PASSWORD,
        shandong=world.shandong,
        jiangsu=world.jiangsu,
        alpha=City(tenant=world.alpha.tenant, center=world.alpha.center),
        beta=City(tenant=world.beta.tenant, center=world.beta.center),
        operator=operator,
        alpha_admin=await _with_password(world.alpha.admin.user_id),
        beta_admin=await _with_password(world.beta.admin.user_id),
    )


@pytest.fixture
def setting(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str, str], None]]:
    """Change one HOTLINE_* setting for the current test: ``setting("LOGIN_MAX_FAILURES", "3")``."""

    def change(name: str, value: str) -> None:
        monkeypatch.setenv(f"HOTLINE_{name}", value)
        reset_settings()

    yield change
    monkeypatch.undo()
    reset_settings()

"""Entering a city with a bearer token (``accounts.identity``, one statement): the city
by code or slug, the user, its province roles and its active memberships there. A city
that does not exist, is inactive or is not the caller's is NotFound("city") alike — no
way to tell them apart; a disabled account is AuthFailed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import pytest
from tortoise.models import Model

from hotline.platform.tenancy import Scope, use_scope
from hotline.tenants.accounts.identity import actor_for_bearer
from hotline.tenants.accounts.models import Membership, User
from hotline.tenants.accounts.sessions import issue_token_for
from hotline.tenants.kernel.errors import AuthFailed, NotFound
from hotline.tenants.kernel.roles import Role
from hotline.tenants.provinces.models import Tenant
from tests.world import World


async def _token(username: str) -> str:
    with use_scope(Scope.platform()):
        return await issue_token_for(username=username, ttl=timedelta(minutes=10))


async def _refused(token: str, city: str) -> str:
    with pytest.raises(NotFound) as refused:
        await actor_for_bearer(token=token, tenant_ref=city)
    return str(refused.value)


async def test_a_member_enters_by_slug_or_code_with_its_roles(world: World) -> None:
    alpha = world.alpha
    handler = await alpha.user(alpha.district_handler)
    token = await _token(handler.username)
    by_slug = await actor_for_bearer(token=token, tenant_ref=alpha.slug)
    by_code = await actor_for_bearer(token=token, tenant_ref=alpha.tenant.code)
    for actor in (by_slug, by_code):
        assert (actor.tenant_id, actor.province_id) == (alpha.id, alpha.province_id)
        assert actor.user_id == handler.id
        assert actor.username == handler.username
        assert actor.roles == alpha.district_handler.roles
        assert actor.department_ids == frozenset({alpha.district.id})
        assert not actor.platform_operator
    # another city, one that does not exist: the same answer
    missing = await _refused(token, "atlantis")
    assert await _refused(token, world.beta.slug) == missing
    assert await _refused(token, "999999") == missing


async def test_a_province_admin_enters_its_provinces_cities_only(world: World) -> None:
    admin = await world.alpha.user(world.province_admin)
    token = await _token(admin.username)
    actor = await actor_for_bearer(token=token, tenant_ref=world.gamma.slug)
    assert actor.tenant_id == world.gamma.id
    assert actor.roles == frozenset()
    assert world.shandong.id in actor.province_admin_of
    await _refused(token, world.beta.slug)  # Jiangsu's


@asynccontextmanager
async def switched_off(model: type[Model], scope: Scope, **rows: Any) -> AsyncIterator[None]:
    """``rows`` of ``model`` inactive for the block, active after it (the world is shared)."""
    with use_scope(scope):
        await model.filter(**rows).update(is_active=False)
    try:
        yield
    finally:
        with use_scope(scope):
            await model.filter(**rows).update(is_active=True)


async def test_inactive_memberships_cities_and_accounts_do_not_enter(world: World) -> None:
    alpha = world.alpha
    auditor = await alpha.user(alpha.auditor)
    token = await _token(auditor.username)
    assert Role.AUDITOR in (await actor_for_bearer(token=token, tenant_ref=alpha.slug)).roles
    async with switched_off(Membership, alpha.scope(), user_id=auditor.id):
        await _refused(token, alpha.slug)
    async with switched_off(Tenant, Scope.platform(), id=alpha.id):
        await _refused(token, alpha.slug)
    async with switched_off(User, Scope.platform(), id=auditor.id):
        with pytest.raises(AuthFailed):
            await actor_for_bearer(token=token, tenant_ref=alpha.slug)
    assert (await actor_for_bearer(token=token, tenant_ref=alpha.slug)).tenant_id == alpha.id

"""Helpers the account modules share: the clock, username and password rules, the
caller's city, and a user's memberships read across cities."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from hotline.platform import clock
from hotline.platform.auth.passwords import password_problems
from hotline.platform.tenancy import Scope, current_scope, current_tenant_id, use_scope
from hotline.tenants.accounts.models import Membership, ProvinceRole, User
from hotline.tenants.kernel.access import Actor
from hotline.tenants.kernel.errors import NotFound, PermissionDenied, WeakPassword
from hotline.tenants.kernel.roles import PlatformRole

# What a person chooses; "@" is reserved for the city suffix the service adds
# (``name@slug``), so no chosen name can fall into a city's namespace.
USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")
USERNAME_MAX = 64


def now_utc() -> datetime:
    return clock.now()


def normalize_username(username: str) -> str:
    return username.strip().lower()


def check_password(password: str, username: str) -> None:
    # the name the person chose, without the city suffix (name@city)
    problems = password_problems(password, username=username.partition("@")[0])
    if problems:
        raise WeakPassword("the password {problems}", field="password", problems=problems)


def city_of(actor: Actor) -> tuple[int, int]:
    """The current city (tenant, province), which must be the actor's."""
    tenant_id = current_tenant_id()
    province_id = current_scope().province_id
    if actor.tenant_id != tenant_id or province_id is None:
        raise PermissionDenied("the caller does not act in this city")
    return tenant_id, province_id


async def active_user(user_id: int) -> User:
    user = await User.get_or_none(id=user_id, is_active=True)
    if user is None:
        raise NotFound("user", field="userId")
    return user


async def own_memberships(user_id: int, **filters: Any) -> list[tuple[Any, ...]]:
    """(tenant_id, province_id, role, department_id) of the user's active memberships.

    Memberships are row-level secured; the policy's own-rows clause lets a platform
    scope naming the user read them in every city. Must not run inside a transaction
    opened under another scope (the connection keeps the scope it was acquired with).
    """
    with use_scope(Scope.platform(user_id=user_id)):
        return await (
            Membership.across_tenants()
            .filter(user_id=user_id, is_active=True, **filters)
            .values_list("tenant_id", "province_id", "role", "department_id")
        )


async def province_admin_of(user_id: int) -> frozenset[int]:
    rows = await ProvinceRole.filter(user_id=user_id, role=PlatformRole.PROVINCE_ADMIN).values_list(
        "province_id"
    )
    return frozenset(int(row[0]) for row in rows)

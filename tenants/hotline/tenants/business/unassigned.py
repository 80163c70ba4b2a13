"""Where a business request lands when its enterprise has no service manager (docs/
business.md, "Requests nobody manages"): the city's **supervisors** — the hotline center's
business supervisors, who may already handle any business request — or, in a city that
has none, its administrators. A manager whose account or service-manager role has been
switched off counts as none: the request would otherwise wait in a closed inbox.

Read in the current city scope, inside the caller's transaction when it has one."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from hotline.tenants.accounts.models import Membership, User
from hotline.tenants.kernel.roles import Role

# In order: the first of these roles the city has people in.
FALLBACK_ROLES = (Role.SUPERVISOR, Role.TENANT_ADMIN)


async def _active_users(ids: Iterable[int]) -> set[int]:
    wanted = sorted(set(ids))
    if not wanted:
        return set()
    found: list[Any] = await User.filter(id__in=wanted, is_active=True).values_list("id", flat=True)
    return {int(i) for i in found}


async def serving(manager_ids: Iterable[int | None]) -> set[int]:
    """Those of ``manager_ids`` who still serve as service managers of the city (an active
    account with an active ``service_manager`` role)."""
    ids = sorted({i for i in manager_ids if i is not None})
    if not ids:
        return set()
    members: list[Any] = await Membership.filter(
        user_id__in=ids, role=Role.SERVICE_MANAGER, is_active=True
    ).values_list("user_id", flat=True)
    return await _active_users(int(i) for i in members)


async def supervisors() -> list[int]:
    """Who answers for requests nobody manages: the city's supervisors, else its admins
    (active accounts), by user id."""
    for role in FALLBACK_ROLES:
        members: list[Any] = await Membership.filter(role=role, is_active=True).values_list(
            "user_id", flat=True
        )
        people = await _active_users(int(i) for i in members)
        if people:
            return sorted(people)
    return []

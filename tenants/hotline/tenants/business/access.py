"""Who may see and touch which enterprise: the business extension's one chokepoint.

Three walls, in order (docs/architecture.md §3): the city (scope + RLS), the city's
``business`` feature flag, and for enterprise roles the **enterprise** — an enterprise
admin or user sees exactly the one enterprise it belongs to (``business_enterprise_members``)
and nothing else. Whatever lies outside is the same :class:`NotFound` as what does not
exist, in this city or another one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from hotline.platform.tenancy import Scope, use_scope
from hotline.tenants.business.models import Enterprise, EnterpriseMember
from hotline.tenants.kernel.access import ENTERPRISE_ROLES, Action, Actor, allowed, require
from hotline.tenants.kernel.errors import NotFound, PermissionDenied
from hotline.tenants.provinces.models import Tenant

# Staff actions that, held, open the whole city's registry (not one enterprise).
_STAFF = Action.BUSINESS_READ


@contextmanager
def city_scope(actor: Actor) -> Iterator[Scope]:
    if actor.tenant_id is None or actor.province_id is None:
        raise NotFound("city")
    with use_scope(Scope.city(actor.tenant_id, actor.province_id, actor.user_id)) as scope:
        yield scope


async def require_business(actor: Actor, action: Action) -> None:
    """``require`` plus the city's ``business`` flag (a province admin turns it on)."""
    require(actor, action)
    tenant = await Tenant.get_or_none(id=actor.tenant_id)
    if tenant is None or not (tenant.features or {}).get("business"):
        raise PermissionDenied("the business extension is not turned on in this city")


async def own_enterprise_id(actor: Actor) -> int | None:
    """The enterprise an enterprise-role actor belongs to; None for city staff.

    Staff (``business.read``) see the whole city. An enterprise role without a binding
    sees nothing: NotFound, like an enterprise that does not exist.
    """
    if allowed(actor, _STAFF):
        return None
    if not actor.roles & ENTERPRISE_ROLES or actor.user_id is None:
        raise NotFound("enterprise")
    with city_scope(actor):
        member = await EnterpriseMember.get_or_none(user_id=actor.user_id)
    if member is None:
        raise NotFound("enterprise")
    return int(member.enterprise_id)


async def access_enterprise(
    *, actor: Actor, enterprise_id: int, action: Action = Action.ENTERPRISE_READ
) -> Enterprise:
    """The enterprise, if the actor may ``action`` on it; otherwise NotFound."""
    await require_business(actor, action)
    own = await own_enterprise_id(actor)
    if own is not None and own != enterprise_id:
        raise NotFound("enterprise")
    with city_scope(actor):
        found = await Enterprise.get_or_none(id=enterprise_id)
    if found is None:
        raise NotFound("enterprise")
    return found

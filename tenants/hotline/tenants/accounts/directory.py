"""Read side of accounts: who works in this city, its API keys, its audit trail."""

from __future__ import annotations

from hotline.platform.tenancy import current_tenant_id
from hotline.tenants.accounts.models import ApiKey, Membership, User
from hotline.tenants.kernel.access import Action, Actor, require
from hotline.tenants.kernel.audit import AuditEvent
from hotline.tenants.kernel.errors import NotFound


async def list_city_users(
    *, actor: Actor, search: str | None = None, limit: int = 50, after_id: int | None = None
) -> list[User]:
    """Users holding any membership in the current city."""
    require(actor, Action.USER_READ)
    user_ids = await Membership.all().distinct().values_list("user_id", flat=True)
    query = User.filter(id__in=list(user_ids))
    if search:
        query = query.filter(username__icontains=search.strip())
    if after_id is not None:
        query = query.filter(id__gt=after_id)
    return await query.order_by("id").limit(limit)


async def access_city_user(*, actor: Actor, user_id: int) -> User:
    require(actor, Action.USER_READ)
    if not await Membership.filter(user_id=user_id).exists():
        raise NotFound("user")
    user = await User.get_or_none(id=user_id)
    if user is None:
        raise NotFound("user")
    return user


async def memberships_of(*, user_id: int, tenant_only: bool) -> list[Membership]:
    """A user's active memberships: in the current city, or (own rows) in every city."""
    query = Membership.all() if tenant_only else Membership.across_tenants()
    return await query.filter(user_id=user_id, is_active=True).order_by("tenant_id", "id")


async def list_api_keys(*, actor: Actor) -> list[ApiKey]:
    require(actor, Action.APIKEY_MANAGE)
    # api_keys is read before any tenant is known, so it is not row-level secured:
    # filter by the current city explicitly.
    return await ApiKey.filter(tenant_id=current_tenant_id()).order_by("-id")


async def list_audit_events(
    *, actor: Actor, limit: int = 50, before_id: int | None = None
) -> list[AuditEvent]:
    """The current city's audit trail (or the province's, in province scope), newest first."""
    require(actor, Action.AUDIT_READ)
    query = AuditEvent.all()
    if actor.tenant_id is not None:
        query = query.filter(tenant_id=actor.tenant_id)
    if before_id is not None:
        query = query.filter(id__lt=before_id)
    return await query.order_by("-id").limit(limit)

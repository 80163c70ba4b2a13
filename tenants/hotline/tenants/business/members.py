"""Enterprise users: the city or a service manager makes (and so verifies) an
enterprise's admin; an enterprise admin invites colleagues as enterprise users. Each
gets a city membership of its role and a binding to its one enterprise (the third wall,
``business.access``), written together."""

from __future__ import annotations

import asyncio

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from hotline.platform.auth.passwords import hash_password
from hotline.tenants.accounts.common import check_password, now_utc
from hotline.tenants.accounts.models import Membership, User
from hotline.tenants.accounts.users import qualified_username
from hotline.tenants.business.access import access_enterprise, city_scope
from hotline.tenants.business.models import Enterprise, EnterpriseMember
from hotline.tenants.kernel.access import Action, Actor, allowed
from hotline.tenants.kernel.audit import record_audit
from hotline.tenants.kernel.errors import Conflict, Invalid, PermissionDenied
from hotline.tenants.kernel.roles import Role

ENTERPRISE_MEMBER_ROLES = (Role.ENTERPRISE_ADMIN, Role.ENTERPRISE_USER)


async def invite_member(
    *,
    actor: Actor,
    enterprise_id: int,
    username: str,
    display_name: str,
    password: str,
    role: Role,
) -> tuple[User, EnterpriseMember]:
    """A new account in the city, bound to the enterprise with ``role``.

    Only the city's staff (its admin, a service manager) make an enterprise admin — that
    is the verification; an enterprise admin invites enterprise users of its own
    enterprise only.
    """
    enterprise = await access_enterprise(
        actor=actor, enterprise_id=enterprise_id, action=Action.ENTERPRISE_MEMBERS_MANAGE
    )
    if role not in ENTERPRISE_MEMBER_ROLES:
        raise Invalid("the role must be enterprise_admin or enterprise_user", field="role")
    staff = allowed(actor, Action.BUSINESS_READ)
    if role is Role.ENTERPRISE_ADMIN and not staff:
        raise PermissionDenied("enterprise admins are verified by the city or its service manager")
    display = display_name.strip()
    if not 1 <= len(display) <= 100:
        raise Invalid("the display name must be 1-100 characters", field="displayName")
    with city_scope(actor):
        name = await qualified_username(username, tenant_id=enterprise.tenant_id)
        check_password(password, name)
        password_hash = await asyncio.to_thread(hash_password, password)
        async with in_transaction("default"):
            try:
                user = await User.create(
                    username=name,
                    display_name=display,
                    password_hash=password_hash,
                    password_changed_at=now_utc(),
                    created_in_tenant_id=enterprise.tenant_id,
                )
            except IntegrityError as exc:
                raise Conflict("a user with this username exists", field="username") from exc
            await Membership.create(user_id=user.id, role=role)
            member = await EnterpriseMember.create(
                enterprise_id=enterprise.id,
                user_id=user.id,
                role=role,
                verified_by_id=actor.user_id if staff else None,
            )
            await record_audit(
                actor_id=actor.user_id,
                action="enterprise.invite",
                target=name,
                detail={"enterprise": enterprise.uscc, "role": role.value},
                tenant_id=enterprise.tenant_id,
                province_id=enterprise.province_id,
            )
    return user, member


async def members_of(*, actor: Actor, enterprise_id: int) -> list[tuple[EnterpriseMember, User]]:
    """The enterprise's people (its own admins and users see each other)."""
    enterprise: Enterprise = await access_enterprise(actor=actor, enterprise_id=enterprise_id)
    with city_scope(actor):
        members = await EnterpriseMember.filter(enterprise_id=enterprise.id).order_by("id")
        users = {u.id: u for u in await User.filter(id__in=[m.user_id for m in members])}
    return [(m, users[m.user_id]) for m in members if m.user_id in users]

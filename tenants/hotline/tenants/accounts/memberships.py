"""Memberships (a user's roles in a city), province roles, and the :class:`Actor` an
authenticated user or API key becomes in the selected city or province."""

from __future__ import annotations

from tortoise.exceptions import IntegrityError

from hotline.tenants.accounts.api_keys import BAD_API_KEY
from hotline.tenants.accounts.common import active_user, city_of, own_memberships, province_admin_of
from hotline.tenants.accounts.models import ApiKey, Membership, ProvinceRole, User
from hotline.tenants.departments.models import Department
from hotline.tenants.kernel.access import DEPARTMENT_ROLES, Action, Actor, require
from hotline.tenants.kernel.audit import record_audit
from hotline.tenants.kernel.errors import AuthFailed, Conflict, Invalid, NotFound, PermissionDenied
from hotline.tenants.kernel.roles import PlatformRole, Role
from hotline.tenants.provinces.current import city_row
from hotline.tenants.provinces.models import Province, Tenant


async def grant_membership(
    *, actor: Actor, user_id: int, role: Role, department_id: int | None = None
) -> Membership:
    """Give a user a role in the current city, optionally bound to a department subtree."""
    require(actor, Action.USER_MANAGE)
    tenant_id, province_id = city_of(actor)
    if role in DEPARTMENT_ROLES and department_id is None:
        raise Invalid("the role {role} needs a department", field="departmentId", role=role.value)
    user = await active_user(user_id)
    if not (
        user.created_in_tenant_id == tenant_id
        or actor.is_province_admin
        or actor.platform_operator
        or await Membership.filter(user_id=user_id).exists()  # RLS: this city's rows
    ):
        # Users are global: a city adds only people it created or already employs;
        # anyone else reads as an unknown id. Province admins place people across cities.
        raise NotFound("user", field="userId")
    if department_id is not None:
        department = await Department.get_or_none(id=department_id)
        if department is None:
            raise NotFound("department", field="departmentId")
        if not department.is_active:
            raise Invalid("the department is deactivated", field="departmentId")
    existing = await Membership.filter(
        user_id=user_id, role=role, department_id=department_id
    ).first()
    if existing is not None and existing.is_active:
        raise Conflict("the user already has this role here", field="role")
    if existing is not None:
        existing.is_active = True
        await existing.save(update_fields=["is_active"])
        membership = existing
    else:
        try:
            membership = await Membership.create(
                user_id=user_id, role=role, department_id=department_id
            )
        except IntegrityError as exc:
            raise Conflict("the user already has this role here", field="role") from exc
    await record_audit(
        actor_id=actor.user_id,
        action="membership.grant",
        target=str(user_id),
        detail={"role": role.value, "department_id": department_id},
        tenant_id=tenant_id,
        province_id=province_id,
    )
    return membership


async def revoke_membership(*, actor: Actor, membership_id: int) -> Membership:
    require(actor, Action.USER_MANAGE)
    tenant_id, province_id = city_of(actor)
    membership = await Membership.get_or_none(id=membership_id)
    if membership is None:
        raise NotFound("membership", field="membershipId")
    if membership.is_active:
        membership.is_active = False
        await membership.save(update_fields=["is_active"])
        await record_audit(
            actor_id=actor.user_id,
            action="membership.revoke",
            target=str(membership.user_id),
            detail={"role": membership.role.value, "department_id": membership.department_id},
            tenant_id=tenant_id,
            province_id=province_id,
        )
    return membership


async def grant_province_role(
    *,
    actor: Actor,
    user_id: int,
    province_id: int,
    role: PlatformRole = PlatformRole.PROVINCE_ADMIN,
) -> ProvinceRole:
    """Make a user a province administrator (platform operators only)."""
    if not actor.platform_operator:
        raise PermissionDenied("only platform operators grant province roles")
    if role is not PlatformRole.PROVINCE_ADMIN:
        raise Invalid("only the province_admin role is held per province", field="role")
    await active_user(user_id)
    if not await Province.exists(id=province_id):
        raise NotFound("province", field="provinceId")
    try:
        granted = await ProvinceRole.create(user_id=user_id, province_id=province_id, role=role)
    except IntegrityError as exc:
        raise Conflict("the user already has this role", field="role") from exc
    await record_audit(
        actor_id=actor.user_id,
        action="province_role.grant",
        target=str(user_id),
        detail={"role": role.value},
        province_id=province_id,
    )
    return granted


async def check_city_access(*, user_id: int, username: str, tenant_ref: str) -> Tenant:
    """The active city ``tenant_ref`` (slug or code) names, if the user may work in it:
    an active membership there, or administering its province — what
    :func:`load_actor` asks of a request. For trusted callers (the ``hotline token``
    CLI), so a refusal says why instead of reading as NotFound."""
    query = Tenant.filter(is_active=True)
    tenant = await (
        query.filter(code=tenant_ref) if tenant_ref.isdigit() else query.filter(slug=tenant_ref)
    ).first()
    if tenant is None:
        raise NotFound("city", field="tenant")
    if not await own_memberships(user_id, tenant_id=tenant.id) and (
        tenant.province_id not in await province_admin_of(user_id)
    ):
        raise PermissionDenied(
            "{user} is neither a member of {city} nor an administrator of its province",
            field="tenant",
            user=username,
            city=tenant.slug,
        )
    return tenant


async def load_actor(*, user_id: int, tenant_id: int | None, province_id: int | None) -> Actor:
    """The actor of an authenticated user in the selected city or province.

    A city the user has no active membership in (and is not province administrator
    of) is NotFound, like a city that does not exist (docs/architecture.md §3).
    """
    user = await User.get_or_none(id=user_id, is_active=True)
    if user is None:
        raise AuthFailed("the account is disabled")
    admin_of = await province_admin_of(user.id)
    if tenant_id is None:
        if province_id is not None and not (
            (province_id in admin_of or user.is_platform_operator)
            and await Province.exists(id=province_id)
        ):
            raise NotFound("province")
        return Actor(
            user_id=user.id,
            province_id=province_id,
            province_admin_of=admin_of,
            platform_operator=user.is_platform_operator,
            username=user.username,
        )
    tenant = await city_row(tenant_id)
    if tenant is None or not tenant.is_active or province_id not in (None, tenant.province_id):
        raise NotFound("tenant")
    rows = await own_memberships(user.id, tenant_id=tenant.id)
    if not rows and tenant.province_id not in admin_of:
        raise NotFound("tenant")
    return Actor(
        user_id=user.id,
        tenant_id=tenant.id,
        province_id=tenant.province_id,
        roles=frozenset(Role(row[2]) for row in rows),
        department_ids=frozenset(row[3] for row in rows if row[3] is not None),
        province_admin_of=admin_of,
        platform_operator=user.is_platform_operator,
        username=user.username,
    )


async def actor_for_api_key(*, key: ApiKey) -> Actor:
    """The actor of an integration: its key's city and roles, no user."""
    if not await Tenant.exists(id=key.tenant_id, is_active=True):
        raise AuthFailed(BAD_API_KEY)
    known = {role.value for role in Role}
    return Actor(
        user_id=None,
        tenant_id=key.tenant_id,
        province_id=key.province_id,
        roles=frozenset(Role(r) for r in key.roles if r in known),
        api_key_id=key.id,
        username=f"apikey:{key.name}",
    )

"""Users: creating people, changing and resetting their passwords, resetting a lost
second factor. Users are global (one person may serve several cities); a city
administrator manages only the people who serve in its city alone."""

from __future__ import annotations

import asyncio

from pydantic import EmailStr, TypeAdapter, ValidationError
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from hotline.platform.auth.passwords import hash_password, verify_password
from hotline.tenants.accounts.common import (
    USERNAME_MAX,
    USERNAME_PATTERN,
    active_user,
    check_password,
    normalize_username,
    now_utc,
    own_memberships,
    province_admin_of,
)
from hotline.tenants.accounts.memberships import grant_membership
from hotline.tenants.accounts.models import User
from hotline.tenants.accounts.sessions import (
    clear_failures,
    count_failure,
    revoke_user_sessions,
)
from hotline.tenants.kernel.access import Action, Actor, require
from hotline.tenants.kernel.audit import record_audit
from hotline.tenants.kernel.errors import AuthFailed, Conflict, Invalid, NotFound, PermissionDenied
from hotline.tenants.kernel.roles import Role
from hotline.tenants.provinces.models import Tenant

_EMAIL: TypeAdapter[str] = TypeAdapter(EmailStr)


def _check_email(email: str | None) -> str | None:
    if email is None or not email.strip():
        return None
    try:
        return _EMAIL.validate_python(email.strip()).lower()
    except ValidationError as exc:
        raise Invalid("not a valid e-mail address", field="email") from exc


async def create_user(
    *,
    actor: Actor | None,
    username: str,
    display_name: str,
    password: str,
    email: str | None = None,
    platform_operator: bool = False,
    role: Role | None = None,
    department_id: int | None = None,
) -> User:
    """A new person; with ``role``, also a member of the current city (all or nothing).

    ``actor`` None is a trusted system caller (CLI, seed), which grants no roles. A user
    created in a city is named in that city's namespace (``zhangsan@jinan``), so the
    "username taken" answer speaks of that city's names only (docs/auth.md).
    """
    if actor is not None:
        require(actor, Action.USER_MANAGE)
        if platform_operator and not actor.platform_operator:
            raise PermissionDenied("only platform operators create platform operators")
    if role is None and department_id is not None:
        raise Invalid("a department is given with a role", field="departmentId")
    name = await qualified_username(username, tenant_id=actor.tenant_id if actor else None)
    display = display_name.strip()
    if not display or len(display) > 100:
        raise Invalid("the display name must be 1-100 characters", field="displayName")
    mail = _check_email(email)
    check_password(password, name)
    password_hash = await asyncio.to_thread(hash_password, password)
    async with in_transaction("default"):
        try:
            user = await User.create(
                username=name,
                display_name=display,
                email=mail,
                password_hash=password_hash,
                password_changed_at=now_utc(),
                is_platform_operator=platform_operator,
                created_in_tenant_id=actor.tenant_id if actor else None,
            )
        except IntegrityError as exc:
            raise Conflict("a user with this username exists", field="username") from exc
        await record_audit(
            actor_id=actor.user_id if actor else None,
            action="user.create",
            target=name,
            detail={"platform_operator": platform_operator},
            tenant_id=actor.tenant_id if actor else None,
            province_id=actor.province_id if actor else None,
        )
        if role is not None:
            if actor is None:
                raise PermissionDenied("roles are granted by an administrator")
            await grant_membership(
                actor=actor, user_id=user.id, role=role, department_id=department_id
            )
    return user


async def qualified_username(username: str, *, tenant_id: int | None) -> str:
    """The stored login name: ``name@<city slug>`` when created in a city, else ``name``
    (province and platform accounts). Nobody types the ``@``: the city adds it."""
    name = normalize_username(username)
    if not USERNAME_PATTERN.match(name):
        raise Invalid(
            "the username must be 3-64 letters, digits or . _ - characters", field="username"
        )
    if tenant_id is None:
        return name
    slug = await Tenant.filter(id=tenant_id).values_list("slug", flat=True)
    room = USERNAME_MAX - 1 - len(slug[0])
    if len(name) > room:
        raise Invalid("the username must be at most {max} characters", field="username", max=room)
    return f"{name}@{slug[0]}"


async def store_password(user: User, password: str) -> None:
    """Set a password the caller has checked against the policy; ends every session."""
    user.password_hash = await asyncio.to_thread(hash_password, password)
    user.password_changed_at = now_utc()
    user.failed_logins = 0
    user.locked_until = None
    await clear_failures(user)
    await user.save(
        update_fields=[
            "password_hash",
            "password_changed_at",
            "failed_logins",
            "locked_until",
            "updated_at",
        ]
    )
    await revoke_user_sessions(user.id)


async def set_password(*, user_id: int, current_password: str, new_password: str) -> None:
    """A user changes their own password; every session (this one too) ends."""
    user = await active_user(user_id)
    if not await asyncio.to_thread(verify_password, user.password_hash, current_password):
        await count_failure(user, ip=None)
        raise AuthFailed("the current password is wrong", field="currentPassword")
    check_password(new_password, user.username)
    await store_password(user, new_password)


async def _manageable_user(actor: Actor, user_id: int) -> User:
    """A user the actor may administer: visible in its scope and serving nowhere else.

    Users are global, so resetting a password reaches every city the user serves; a
    city administrator may only do it for users who serve in its city alone.
    """
    user = await User.get_or_none(id=user_id)
    if user is None:
        raise NotFound("user", field="userId")
    if actor.platform_operator:
        return user
    rows = await own_memberships(user.id)
    cities = {row[0] for row in rows}
    province_roles = await province_admin_of(user.id)
    provinces = {row[1] for row in rows} | province_roles
    if actor.tenant_id is not None:
        visible = actor.tenant_id in cities
    else:
        visible = actor.province_id is not None and actor.province_id in provinces
    if not visible:
        raise NotFound("user", field="userId")
    if not user.is_platform_operator:
        if provinces <= actor.province_admin_of:
            return user
        if not province_roles and cities == {actor.tenant_id}:
            return user
    raise PermissionDenied("this user also serves elsewhere; ask a province administrator")


async def admin_reset_password(*, actor: Actor, user_id: int, new_password: str) -> None:
    require(actor, Action.USER_MANAGE)
    user = await _manageable_user(actor, user_id)
    check_password(new_password, user.username)
    await store_password(user, new_password)
    await record_audit(
        actor_id=actor.user_id,
        action="user.password_reset_by_admin",
        target=user.username,
        tenant_id=actor.tenant_id,
        province_id=actor.province_id,
    )


async def admin_reset_totp(*, actor: Actor, user_id: int) -> None:
    """Remove a user's second factor (a lost phone); the user enrols again."""
    require(actor, Action.USER_MANAGE)
    user = await _manageable_user(actor, user_id)
    user.totp_secret = None
    user.totp_enabled = False
    await user.save(update_fields=["totp_secret", "totp_enabled", "updated_at"])
    await revoke_user_sessions(user.id)
    await record_audit(
        actor_id=actor.user_id,
        action="user.totp_reset_by_admin",
        target=user.username,
        tenant_id=actor.tenant_id,
        province_id=actor.province_id,
    )

"""Accounts: users, memberships, logins and sessions, password resets, TOTP and API keys.

Sessions: a login starts a *family* of refresh tokens. Each refresh marks the presented
token used and issues the next one of the family; presenting a used token again means
it was copied, so the whole family is revoked. Access tokens carry the family id as
``sid``; a revoked family is recorded in PostgreSQL (``revoked_at``) and cached in
Redis, which is what :func:`is_session_revoked` checks (``accounts.revocation``).
"""

from __future__ import annotations

import asyncio
import hmac
import re
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from itsdangerous import BadSignature, URLSafeTimedSerializer
from pydantic import EmailStr, TypeAdapter, ValidationError
from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from hotline.platform.auth.passwords import (
    hash_password,
    needs_rehash,
    password_problems,
    verify_password,
)
from hotline.platform.auth.tokens import (
    LEEWAY_SECONDS,
    TokenError,
    issue_access_token,
    verify_access_token,
)
from hotline.platform.auth.totp import (
    STEP_SECONDS,
    VALID_WINDOW,
    new_totp_secret,
    provisioning_uri,
    verify_totp,
)
from hotline.platform.crypto import decrypt, encrypt, keyed_hash
from hotline.platform.ratelimit import hit
from hotline.platform.redis import key as redis_key
from hotline.platform.redis import redis_client
from hotline.platform.senders.email import send_email
from hotline.platform.settings import get_settings
from hotline.platform.tenancy import Scope, current_scope, current_tenant_id, use_scope
from hotline.tenants.access import DEPARTMENT_ROLES, Action, Actor, require
from hotline.tenants.accounts import revocation
from hotline.tenants.accounts.audit import record_audit
from hotline.tenants.accounts.models import (
    ApiKey,
    Membership,
    PlatformRole,
    ProvinceRole,
    RefreshToken,
    Role,
    User,
)
from hotline.tenants.departments.models import Department
from hotline.tenants.errors import (
    AuthFailed,
    Conflict,
    Invalid,
    Locked,
    NotFound,
    PermissionDenied,
    RateLimited,
    TotpRequired,
    WeakPassword,
)
from hotline.tenants.provinces.models import Province, Tenant

log = structlog.get_logger(__name__)

_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{2,63}$")
_EMAIL: TypeAdapter[str] = TypeAdapter(EmailStr)
TOTP_ISSUER = "Hotline 12345"
RESET_TOKEN_SECONDS = 30 * 60
RESET_REQUESTS_PER_HOUR = 5
API_KEY_TOUCH_SECONDS = 60

_REFRESH_PURPOSE = "refresh-token"
_API_KEY_PURPOSE = "api-key"
_RESET_PURPOSE = "password-reset"

_BAD_LOGIN = "wrong username or password"
_BAD_REFRESH = "the session has ended; please log in again"
_BAD_API_KEY = "invalid API key"
_BAD_RESET = "the reset link is invalid, used or expired"


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    # An administrator without a second factor: the client should lead to TOTP enrolment.
    totp_enrolment_required: bool = False


def _now() -> datetime:
    return datetime.now(UTC)


def _normalize_username(username: str) -> str:
    return username.strip().lower()


def _check_password(password: str, username: str) -> None:
    problems = password_problems(password, username=username)
    if problems:
        raise WeakPassword("the password " + "; ".join(problems), field="password")


def _check_email(email: str | None) -> str | None:
    if email is None or not email.strip():
        return None
    try:
        return _EMAIL.validate_python(email.strip()).lower()
    except ValidationError as exc:
        raise Invalid("not a valid e-mail address", field="email") from exc


def _city(actor: Actor) -> tuple[int, int]:
    """The current city (tenant, province), which must be the actor's."""
    tenant_id = current_tenant_id()
    province_id = current_scope().province_id
    if actor.tenant_id != tenant_id or province_id is None:
        raise PermissionDenied("the caller does not act in this city")
    return tenant_id, province_id


async def _active_user(user_id: int) -> User:
    user = await User.get_or_none(id=user_id, is_active=True)
    if user is None:
        raise NotFound("user", field="userId")
    return user


async def _own_memberships(user_id: int, **filters: Any) -> list[tuple[Any, ...]]:
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


async def _province_admin_of(user_id: int) -> frozenset[int]:
    rows = await ProvinceRole.filter(user_id=user_id, role=PlatformRole.PROVINCE_ADMIN).values_list(
        "province_id"
    )
    return frozenset(int(row[0]) for row in rows)


# --- users ----------------------------------------------------------------------------


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

    ``actor`` None is a trusted system caller (CLI, seed), which grants no roles.
    """
    if actor is not None:
        require(actor, Action.USER_MANAGE)
        if platform_operator and not actor.platform_operator:
            raise PermissionDenied("only platform operators create platform operators")
    if role is None and department_id is not None:
        raise Invalid("a department is given with a role", field="departmentId")
    name = _normalize_username(username)
    if not _USERNAME.match(name):
        raise Invalid(
            "the username must be 3-64 letters, digits or . _ @ - characters", field="username"
        )
    display = display_name.strip()
    if not display or len(display) > 100:
        raise Invalid("the display name must be 1-100 characters", field="displayName")
    mail = _check_email(email)
    _check_password(password, name)
    password_hash = await asyncio.to_thread(hash_password, password)
    async with in_transaction():
        try:
            user = await User.create(
                username=name,
                display_name=display,
                email=mail,
                password_hash=password_hash,
                password_changed_at=_now(),
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


async def _store_password(user: User, password: str) -> None:
    """Set a password the caller has checked against the policy; ends every session."""
    user.password_hash = await asyncio.to_thread(hash_password, password)
    user.password_changed_at = _now()
    user.failed_logins = 0
    user.locked_until = None
    await user.save(
        update_fields=[
            "password_hash",
            "password_changed_at",
            "failed_logins",
            "locked_until",
            "updated_at",
        ]
    )
    await _revoke_user_sessions(user.id)


async def set_password(*, user_id: int, current_password: str, new_password: str) -> None:
    """A user changes their own password; every session (this one too) ends."""
    user = await _active_user(user_id)
    if not await asyncio.to_thread(verify_password, user.password_hash, current_password):
        await _count_failure(user, ip=None)
        raise AuthFailed("the current password is wrong", field="currentPassword")
    _check_password(new_password, user.username)
    await _store_password(user, new_password)


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
    rows = await _own_memberships(user.id)
    cities = {row[0] for row in rows}
    province_roles = await _province_admin_of(user.id)
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
    _check_password(new_password, user.username)
    await _store_password(user, new_password)
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
    await _revoke_user_sessions(user.id)
    await record_audit(
        actor_id=actor.user_id,
        action="user.totp_reset_by_admin",
        target=user.username,
        tenant_id=actor.tenant_id,
        province_id=actor.province_id,
    )


# --- memberships and province roles ---------------------------------------------------


async def grant_membership(
    *, actor: Actor, user_id: int, role: Role, department_id: int | None = None
) -> Membership:
    """Give a user a role in the current city, optionally bound to a department subtree."""
    require(actor, Action.USER_MANAGE)
    tenant_id, province_id = _city(actor)
    if role in DEPARTMENT_ROLES and department_id is None:
        raise Invalid(f"the role {role.value} needs a department", field="departmentId")
    user = await _active_user(user_id)
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
    tenant_id, province_id = _city(actor)
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
    await _active_user(user_id)
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


# --- actors ---------------------------------------------------------------------------


async def load_actor(*, user_id: int, tenant_id: int | None, province_id: int | None) -> Actor:
    """The actor of an authenticated user in the selected city or province.

    A city the user has no active membership in (and is not province administrator
    of) is NotFound, like a city that does not exist (DESIGN.md §3).
    """
    user = await User.get_or_none(id=user_id, is_active=True)
    if user is None:
        raise AuthFailed("the account is disabled")
    admin_of = await _province_admin_of(user.id)
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
    tenant = await Tenant.get_or_none(id=tenant_id, is_active=True)
    if tenant is None or province_id not in (None, tenant.province_id):
        raise NotFound("tenant")
    rows = await _own_memberships(user.id, tenant_id=tenant.id)
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
        raise AuthFailed(_BAD_API_KEY)
    known = {role.value for role in Role}
    return Actor(
        user_id=None,
        tenant_id=key.tenant_id,
        province_id=key.province_id,
        roles=frozenset(Role(r) for r in key.roles if r in known),
        api_key_id=key.id,
        username=f"apikey:{key.name}",
    )


# --- login and sessions ---------------------------------------------------------------


async def _is_admin(user: User) -> bool:
    if user.is_platform_operator or await ProvinceRole.filter(user_id=user.id).exists():
        return True
    return bool(await _own_memberships(user.id, role=Role.TENANT_ADMIN))


async def _count_failure(user: User, *, ip: str | None) -> None:
    """One more consecutive failure; the last one allowed locks the account for a while."""
    settings = get_settings()
    async with in_transaction():
        row = await User.filter(id=user.id).select_for_update().first()
        if row is None:
            return
        row.failed_logins += 1
        locked = row.failed_logins >= settings.login_max_failures
        if locked:
            row.failed_logins = 0
            row.locked_until = _now() + timedelta(minutes=settings.login_lockout_minutes)
        await row.save(update_fields=["failed_logins", "locked_until", "updated_at"])
    if locked:
        log.warning("account locked", user_id=user.id, ip=ip)
        await record_audit(
            actor_id=None,
            action="user.locked",
            target=user.username,
            detail={"minutes": settings.login_lockout_minutes},
            ip=ip,
        )


async def _totp_matches(user: User, code: str) -> bool:
    if user.totp_secret is None:
        return False
    step = verify_totp(decrypt(user.totp_secret), code)
    if step is None:
        return False
    # A code stays acceptable for the whole window; remembering its step makes it single use.
    first_use = await redis_client().set(
        redis_key("totp-used", user.id, step),
        b"1",
        nx=True,
        ex=STEP_SECONDS * (2 * VALID_WINDOW + 2),
    )
    return bool(first_use)


async def _new_refresh_token(user_id: int, family: uuid.UUID) -> str:
    token = secrets.token_urlsafe(32)
    await RefreshToken.create(
        user_id=user_id,
        family=family,
        token_hash=keyed_hash(token, _REFRESH_PURPOSE),
        expires_at=_now() + timedelta(days=get_settings().refresh_token_days),
    )
    return token


async def _token_pair(user: User, family: uuid.UUID, refresh_token: str) -> TokenPair:
    ttl = timedelta(minutes=get_settings().access_token_minutes)
    access = await issue_access_token(
        user_id=user.id, username=user.username, ttl=ttl, extra={"sid": str(family)}
    )
    return TokenPair(
        access_token=access,
        refresh_token=refresh_token,
        expires_in=int(ttl.total_seconds()),
        totp_enrolment_required=not user.totp_enabled and await _is_admin(user),
    )


async def login(
    *, username: str, password: str, totp_code: str | None = None, ip: str | None = None
) -> TokenPair:
    """Password (and, once enrolled, TOTP) login; starts a new session family.

    Unknown users, disabled users and wrong passwords get the same AuthFailed, after
    the same password-hashing work.
    """
    settings = get_settings()
    name = _normalize_username(username)
    limit = settings.login_rate_per_minute
    if not await hit(f"login:user:{keyed_hash(name, 'login')}", limit=limit, window_seconds=60) or (
        ip is not None and not await hit(f"login:ip:{ip}", limit=limit, window_seconds=60)
    ):
        raise RateLimited("too many login attempts; try again in a minute")
    user = await User.get_or_none(username=name)
    if user is None or not user.is_active:
        await asyncio.to_thread(verify_password, None, password)
        raise AuthFailed(_BAD_LOGIN)
    if user.locked_until is not None and user.locked_until > _now():
        raise Locked(
            "the account is locked after repeated failures until "
            f"{user.locked_until:%Y-%m-%d %H:%M} UTC"
        )
    if not await asyncio.to_thread(verify_password, user.password_hash, password):
        await _count_failure(user, ip=ip)
        raise AuthFailed(_BAD_LOGIN)
    # Whoever enrolled a second factor must use it; administrators are urged to enrol
    # (TokenPair.totp_enrolment_required) but can still log in to do so.
    if user.totp_enabled:
        if not totp_code:
            raise TotpRequired("enter the code from the authenticator app", field="totpCode")
        if not await _totp_matches(user, totp_code):
            await _count_failure(user, ip=ip)
            raise AuthFailed("the authenticator code is wrong", field="totpCode")
    changed = ["updated_at"]
    if user.failed_logins or user.locked_until is not None:
        user.failed_logins = 0
        user.locked_until = None
        changed += ["failed_logins", "locked_until"]
    if user.password_hash is not None and needs_rehash(user.password_hash):
        user.password_hash = await asyncio.to_thread(hash_password, password)
        changed.append("password_hash")
    if len(changed) > 1:
        await user.save(update_fields=changed)
    family = uuid.uuid4()
    return await _token_pair(user, family, await _new_refresh_token(user.id, family))


async def start_external_session(*, external_id: str) -> TokenPair:
    """A session for the user linked to an external identity (``issuer|sub``).

    The external issuer has authenticated the person, second factor included.
    """
    user = await User.get_or_none(external_id=external_id, is_active=True)
    if user is None:
        raise AuthFailed("no account is linked to this identity")
    family = uuid.uuid4()
    return await _token_pair(user, family, await _new_refresh_token(user.id, family))


async def issue_token_for(*, username: str, ttl: timedelta) -> str:
    """An access token for a trusted caller (the ``hotline token`` CLI), as a session of
    its own that logout-everywhere and password changes revoke like any other."""
    user = await User.get_or_none(username=_normalize_username(username), is_active=True)
    if user is None:
        raise NotFound("user", field="username")
    family = uuid.uuid4()
    # A refresh row nobody holds the plaintext of: it only makes the session findable.
    await RefreshToken.create(
        user_id=user.id,
        family=family,
        token_hash=keyed_hash(secrets.token_urlsafe(32), _REFRESH_PURPOSE),
        expires_at=_now() + ttl,
    )
    await record_audit(
        actor_id=None, action="user.token_issued", target=user.username, detail={"ttl": str(ttl)}
    )
    return await issue_access_token(
        user_id=user.id, username=user.username, ttl=ttl, extra={"sid": str(family)}
    )


async def refresh(*, refresh_token: str) -> TokenPair:
    """Exchange a refresh token for the next pair of its family (rotation).

    A token presented a second time was copied: the family is revoked and both the
    thief and the owner must log in again.
    """
    now = _now()
    async with in_transaction():
        row = (
            await RefreshToken.filter(token_hash=keyed_hash(refresh_token, _REFRESH_PURPOSE))
            .select_for_update()
            .first()
        )
        if row is None or row.revoked_at is not None or row.expires_at <= now:
            raise AuthFailed(_BAD_REFRESH)
        next_token: str | None = None
        if row.used_at is None:
            row.used_at = now
            await row.save(update_fields=["used_at"])
            next_token = await _new_refresh_token(row.user_id, row.family)
    if next_token is None:
        log.warning("refresh token reused; session revoked", user_id=row.user_id)
        await _revoke_families([row.family])
        raise AuthFailed(_BAD_REFRESH)
    user = await User.get_or_none(id=row.user_id, is_active=True)
    if user is None:
        await _revoke_families([row.family])
        raise AuthFailed(_BAD_REFRESH)
    return await _token_pair(user, row.family, next_token)


async def logout(*, refresh_token: str) -> None:
    """End the session the refresh token belongs to (unknown tokens are ignored)."""
    row = await RefreshToken.get_or_none(token_hash=keyed_hash(refresh_token, _REFRESH_PURPOSE))
    if row is not None:
        await _revoke_families([row.family])


async def _revoke_families(families: Iterable[uuid.UUID]) -> None:
    wanted = set(families)
    if not wanted:
        return
    now = _now()
    rows = await RefreshToken.filter(family__in=wanted).values_list("family", "expires_at")
    await RefreshToken.filter(family__in=wanted, revoked_at__isnull=True).update(revoked_at=now)
    # Access tokens are not stored anywhere, so the revocation is remembered for as long
    # as one of them can be presented: none outlives its family's last refresh token.
    shortest = get_settings().access_token_minutes * 60 + LEEWAY_SECONDS + 60
    last: dict[str, datetime] = {}
    for family, expires_at in rows:
        key = str(family)
        last[key] = max(expires_at, last.get(key, expires_at))
    ttls: dict[str, int] = {}
    for family in wanted:
        remaining = (last[str(family)] - now).total_seconds() if str(family) in last else 0
        ttls[str(family)] = max(shortest, int(remaining) + LEEWAY_SECONDS + 60)
    await revocation.remember_revoked(ttls)


async def _revoke_user_sessions(user_id: int) -> None:
    families = await (
        RefreshToken.filter(user_id=user_id, revoked_at__isnull=True)
        .distinct()
        .values_list("family", flat=True)
    )
    await _revoke_families(uuid.UUID(str(f)) for f in families)


async def purge_expired_refresh_tokens() -> int:
    """Delete refresh tokens past their expiry (a nightly job); returns how many."""
    return await RefreshToken.filter(expires_at__lt=_now()).delete()


async def is_session_revoked(*, sid: str) -> bool:
    """Durable in PostgreSQL, cached in Redis (``hotline.tenants.accounts.revocation``)."""
    return await revocation.is_revoked(sid)


async def authenticate_access_token(*, token: str) -> dict[str, Any]:
    """The claims of a valid access token whose session is still open, else AuthFailed."""
    try:
        claims = await verify_access_token(token)
    except TokenError as exc:
        raise AuthFailed(f"invalid access token ({exc.reason.value})") from exc
    sid = claims.get("sid")
    if not isinstance(sid, str) or await is_session_revoked(sid=sid):
        raise AuthFailed(_BAD_REFRESH)
    return claims


# --- TOTP enrolment -------------------------------------------------------------------


async def begin_totp_enrolment(*, user_id: int) -> tuple[str, str]:
    """A new secret and its ``otpauth://`` URI; the factor is on once confirmed."""
    user = await _active_user(user_id)
    if user.totp_enabled:
        raise Conflict("two-factor authentication is already on", field="totp")
    secret = new_totp_secret()
    user.totp_secret = encrypt(secret)
    await user.save(update_fields=["totp_secret", "updated_at"])
    return secret, provisioning_uri(secret, account=user.username, issuer=TOTP_ISSUER)


async def confirm_totp(*, user_id: int, code: str) -> None:
    user = await _active_user(user_id)
    if user.totp_enabled:
        raise Conflict("two-factor authentication is already on", field="totp")
    if user.totp_secret is None:
        raise Invalid("start the enrolment first", field="totp")
    if not await _totp_matches(user, code):
        raise Invalid("the code does not match; check the phone's clock", field="code")
    user.totp_enabled = True
    await user.save(update_fields=["totp_enabled", "updated_at"])
    await record_audit(actor_id=user.id, action="user.totp_enabled", target=user.username)


# --- password reset -------------------------------------------------------------------


def _reset_signer() -> URLSafeTimedSerializer:
    secret = get_settings().session_secret.get_secret_value()
    return URLSafeTimedSerializer(secret, salt="hotline.password-reset")


def _password_stamp(user: User) -> str:
    # Changes with the password, so a link dies once any reset or change went through.
    return keyed_hash(user.password_hash or "", "password-stamp")[:16]


async def request_password_reset(*, username_or_email: str) -> str | None:
    """A single-use reset token to send to the user's e-mail, or None.

    None covers unknown users, ambiguous e-mails and too many requests alike; the
    caller must answer the same way in every case and send the token only by e-mail.
    """
    ident = username_or_email.strip().lower()
    if not ident or not await hit(
        f"reset:{keyed_hash(ident, 'reset')}", limit=RESET_REQUESTS_PER_HOUR, window_seconds=3600
    ):
        return None
    users = await User.filter(Q(username=ident) | Q(email=ident), is_active=True)
    by_name = [u for u in users if u.username == ident]
    matches = by_name or users
    if len(matches) != 1:
        return None
    user = matches[0]
    token = _reset_signer().dumps(
        {"u": user.id, "n": secrets.token_urlsafe(8), "p": _password_stamp(user)}
    )
    await redis_client().set(
        redis_key("password-reset", keyed_hash(token, _RESET_PURPOSE)),
        str(user.id),
        ex=RESET_TOKEN_SECONDS,
    )
    return token


async def reset_password(*, token: str, new_password: str) -> None:
    try:
        data = _reset_signer().loads(token, max_age=RESET_TOKEN_SECONDS)
    except BadSignature as exc:
        raise Invalid(_BAD_RESET, field="token") from exc
    user_id = data.get("u") if isinstance(data, dict) else None
    user = await User.get_or_none(id=user_id, is_active=True) if isinstance(user_id, int) else None
    if user is None or data.get("p") != _password_stamp(user):
        raise Invalid(_BAD_RESET, field="token")
    # Checked before the token is spent, so a rejected password does not burn the link.
    _check_password(new_password, user.username)
    stored = await redis_client().getdel(
        redis_key("password-reset", keyed_hash(token, _RESET_PURPOSE))
    )
    if stored is None or int(stored) != user.id:
        raise Invalid(_BAD_RESET, field="token")
    await _store_password(user, new_password)
    await record_audit(actor_id=user.id, action="user.password_reset", target=user.username)


# --- API keys -------------------------------------------------------------------------


async def create_api_key(*, actor: Actor, name: str, roles: list[Role]) -> tuple[ApiKey, str]:
    """A key for an integration of the current city; the plaintext is shown only now."""
    require(actor, Action.APIKEY_MANAGE)
    tenant_id, province_id = _city(actor)
    label = name.strip()
    if not label or len(label) > 100:
        raise Invalid("the name must be 1-100 characters", field="name")
    if not roles:
        raise Invalid("an API key needs at least one role", field="roles")
    if Role.TENANT_ADMIN in roles:
        # A key that could mint keys or users would outlive any person's access.
        raise Invalid("API keys cannot hold the tenant_admin role", field="roles")
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    key = await ApiKey.create(
        tenant_id=tenant_id,
        province_id=province_id,
        name=label,
        prefix=prefix,
        secret_hash=keyed_hash(secret, _API_KEY_PURPOSE),
        roles=sorted({role.value for role in roles}),
        created_by_id=actor.user_id,
    )
    await record_audit(
        actor_id=actor.user_id,
        action="apikey.create",
        target=prefix,
        detail={"name": label, "roles": key.roles},
        tenant_id=tenant_id,
        province_id=province_id,
    )
    return key, f"hk_{prefix}_{secret}"


async def revoke_api_key(*, actor: Actor, key_id: int) -> ApiKey:
    require(actor, Action.APIKEY_MANAGE)
    tenant_id, province_id = _city(actor)
    key = await ApiKey.filter(id=key_id, tenant_id=tenant_id).first()
    if key is None:
        raise NotFound("API key", field="keyId")
    if key.revoked_at is None:
        key.revoked_at = _now()
        await key.save(update_fields=["revoked_at"])
        await record_audit(
            actor_id=actor.user_id,
            action="apikey.revoke",
            target=key.prefix,
            tenant_id=tenant_id,
            province_id=province_id,
        )
    return key


async def authenticate_api_key(*, plaintext: str, tenant_id: int | None = None) -> ApiKey:
    """The live key ``hk_<prefix>_<secret>`` names; ``tenant_id``, when the request
    selected a city, must be the key's own."""
    parts = plaintext.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != "hk":
        raise AuthFailed(_BAD_API_KEY)
    key = await ApiKey.get_or_none(prefix=parts[1])
    presented = keyed_hash(parts[2], _API_KEY_PURPOSE)
    if (
        key is None
        or not hmac.compare_digest(presented, key.secret_hash)
        or key.revoked_at is not None
        or tenant_id not in (None, key.tenant_id)
    ):
        raise AuthFailed(_BAD_API_KEY)
    now = _now()
    if key.last_used_at is None or now - key.last_used_at > timedelta(
        seconds=API_KEY_TOUCH_SECONDS
    ):
        await ApiKey.filter(id=key.id).update(last_used_at=now)
        key.last_used_at = now
    return key


async def send_password_reset(*, username_or_email: str) -> None:
    """E-mail a reset link when exactly one active user matches; silent otherwise."""
    token = await request_password_reset(username_or_email=username_or_email)
    if token is None:
        return
    user_id = int(
        await redis_client().get(redis_key("password-reset", keyed_hash(token, _RESET_PURPOSE)))
        or 0
    )
    user = await User.get_or_none(id=user_id)
    if user is None or not user.email:
        return
    link = f"{get_settings().public_url.rstrip('/')}/reset-password?token={token}"
    await send_email(
        to=user.email,
        subject="Hotline 密码重置 / password reset",
        body=(
            f"{user.display_name}，您好：\n\n"
            f"请在 30 分钟内打开以下链接重置密码（仅可使用一次）：\n{link}\n\n"
            f"To reset your password, open this link within 30 minutes (single use):\n{link}\n"
        ),
        send_key=f"reset-{keyed_hash(token, 'reset-mail')[:32]}",
    )

"""Logins and sessions: password/TOTP and external logins, access and refresh tokens,
refresh rotation, logout and revocation.

A login starts a *family* of refresh tokens. Each refresh marks the presented token
used and issues the next one of the family; presenting a used token again means it was
copied, so the whole family is revoked. Access tokens carry the family id as ``sid``,
and a revoked family is recorded in PostgreSQL (``revoked_at``) and cached in Redis,
which is what :func:`is_session_revoked` checks (``accounts.revocation``).
"""

from __future__ import annotations

import asyncio
import math
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from tortoise.transactions import in_transaction

from hotline.platform import ratelimit
from hotline.platform.auth.passwords import hash_password, needs_rehash, verify_password
from hotline.platform.auth.tokens import (
    LEEWAY_SECONDS,
    TokenError,
    issue_access_token,
    verify_access_token,
)
from hotline.platform.crypto import decrypt, encrypt, keyed_hash
from hotline.platform.ratelimit import hit
from hotline.platform.redis import key as redis_key
from hotline.platform.redis import redis_client
from hotline.platform.settings import get_settings
from hotline.tenants.accounts import revocation
from hotline.tenants.accounts.common import normalize_username, now_utc, own_memberships
from hotline.tenants.accounts.memberships import check_city_access
from hotline.tenants.accounts.models import ProvinceRole, RefreshToken, User
from hotline.tenants.accounts.totp import totp_deadline, totp_matches
from hotline.tenants.kernel.audit import record_audit
from hotline.tenants.kernel.errors import (
    AuthFailed,
    NotFound,
    RateLimited,
    TotpEnrolmentRequired,
    TotpRequired,
)
from hotline.tenants.kernel.roles import Role
from hotline.tenants.provinces.models import Tenant

log = structlog.get_logger(__name__)
_REDIS_UNREACHABLE = (RedisConnectionError, RedisTimeoutError, OSError)

_REFRESH_PURPOSE = "refresh-token"
_BAD_LOGIN = "wrong username or password"
_BAD_REFRESH = "the session has ended; please log in again"


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    # An administrator without a second factor: the client should lead to TOTP enrolment.
    totp_enrolment_required: bool = False


async def _is_admin(user: User) -> bool:
    if user.is_platform_operator or await ProvinceRole.filter(user_id=user.id).exists():
        return True
    return bool(await own_memberships(user.id, role=Role.TENANT_ADMIN))


def _account_key(name: str) -> str:
    return f"login:account:{keyed_hash(name, 'login')}"


async def _register_failure(name: str, *, ip: str | None) -> None:
    """One more failed login for the typed account name (whether it exists or not) and
    for the client: past the free ones, each makes the next attempt wait longer."""
    settings = get_settings()
    cap = settings.login_lockout_minutes * 60.0
    free = settings.login_max_failures
    forget = int(cap) * 4
    delay = await ratelimit.add_failure(
        _account_key(name), free=free, base=1.0, cap=cap, forget_seconds=forget
    )
    if ip is not None:
        await ratelimit.add_failure(
            f"login:client:{ip}", free=free * 4, base=1.0, cap=cap, forget_seconds=forget
        )
    if delay:
        log.warning("login throttled", account=keyed_hash(name, "login")[:12], ip=ip, delay=delay)


async def count_failure(user: User, *, ip: str | None) -> None:
    """A wrong password of a known user outside login (changing one's password)."""
    await _register_failure(user.username, ip=ip)


async def clear_failures(user: User) -> None:
    """An administrator's reset: the account may try again at once (under its full name;
    the bare name typed with its city selected is the same key)."""
    await ratelimit.clear_failures(_account_key(user.username))


async def _check_throttle(name: str, ip: str | None) -> None:
    wait = await ratelimit.delay_left(_account_key(name))
    if ip is not None:
        wait = max(wait, await ratelimit.delay_left(f"login:client:{ip}"))
    if wait > 0:
        raise RateLimited(
            "too many failed logins; try again in {seconds} seconds", seconds=math.ceil(wait)
        )


async def _new_refresh_token(user_id: int, family: uuid.UUID) -> str:
    token = secrets.token_urlsafe(32)
    await RefreshToken.create(
        user_id=user_id,
        family=family,
        token_hash=keyed_hash(token, _REFRESH_PURPOSE),
        expires_at=now_utc() + timedelta(days=get_settings().refresh_token_days),
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


async def _login_names(username: str, tenant_id: int | None) -> list[str]:
    """The stored names a typed login name stands for, the first one preferred.

    ``zhangsan@jinan`` is itself. With a city selected, a bare ``zhangsan`` is that
    city's ``zhangsan@<slug>`` if it exists, else the bare (province or platform) name;
    without a city, only the bare name (docs/auth.md).
    """
    name = normalize_username(username)
    if tenant_id is None or "@" in name:
        return [name]
    slugs = await Tenant.filter(id=tenant_id).values_list("slug", flat=True)
    return [f"{name}@{slugs[0]}", name] if slugs else [name]


async def _password_user(
    *, username: str, password: str, ip: str | None, tenant_id: int | None
) -> tuple[User, str]:
    """The account the name and password open, after the rate limits and growing delays.
    Unknown users, disabled users and wrong passwords get the same AuthFailed, after the
    same password-hashing work and the same failure count (docs/auth.md)."""
    settings = get_settings()
    names = await _login_names(username, tenant_id)
    name = names[0]
    limit = settings.login_rate_per_minute
    if not await hit(f"login:user:{keyed_hash(name, 'login')}", limit=limit, window_seconds=60) or (
        ip is not None and not await hit(f"login:ip:{ip}", limit=limit, window_seconds=60)
    ):
        raise RateLimited("too many login attempts; try again in a minute")
    await _check_throttle(name, ip)
    found = {u.username: u for u in await User.filter(username__in=names)}
    user = next((found[n] for n in names if n in found), None)
    if user is None or not user.is_active:
        await asyncio.to_thread(verify_password, None, password)
        await _register_failure(name, ip=ip)
        raise AuthFailed(_BAD_LOGIN)
    if not await asyncio.to_thread(verify_password, user.password_hash, password):
        await _register_failure(name, ip=ip)
        raise AuthFailed(_BAD_LOGIN)
    # failures count against the name as typed (resolved in its namespace, whether it
    # exists or not), so the delays never depend on which accounts exist
    return user, name


async def _require_enrolled_admin(user: User) -> None:
    """Past the grace period, an administrator without TOTP may only enrol."""
    deadline = await totp_deadline(user)
    if deadline is not None and deadline <= now_utc():
        raise TotpEnrolmentRequired(
            "administrators must use two-factor authentication since {deadline} UTC; "
            "enrol an authenticator app (beginTotpEnrolment with your username and password)",
            field="totpCode",
            deadline=f"{deadline:%Y-%m-%d %H:%M}",
        )


async def login(
    *,
    username: str,
    password: str,
    totp_code: str | None = None,
    ip: str | None = None,
    tenant_id: int | None = None,
) -> TokenPair:
    """Password (and, once enrolled, TOTP) login; starts a new session family.

    ``tenant_id`` is the city the request selected, if any: it lets people of that city
    log in with their name without the ``@city`` suffix.
    """
    user, name = await _password_user(
        username=username, password=password, ip=ip, tenant_id=tenant_id
    )
    # Whoever enrolled a second factor must use it; administrators must enrol within the
    # grace period (TokenPair.totp_enrolment_required until then).
    if user.totp_enabled:
        if not totp_code:
            raise TotpRequired("enter the code from the authenticator app", field="totpCode")
        if not await totp_matches(user, totp_code):
            await _register_failure(name, ip=ip)
            raise AuthFailed("the authenticator code is wrong", field="totpCode")
    else:
        await _require_enrolled_admin(user)
    await ratelimit.clear_failures(_account_key(name))
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


async def enrolling_user(
    *, username: str, password: str, ip: str | None = None, tenant_id: int | None = None
) -> int:
    """The user id for TOTP enrolment by name and password, without a session: the one
    thing an administrator past the grace period may do with a password alone."""
    user, _ = await _password_user(username=username, password=password, ip=ip, tenant_id=tenant_id)
    return int(user.id)


async def start_external_session(*, external_id: str) -> TokenPair:
    """A session for the user linked to an external identity (``issuer|sub``).

    The external issuer has authenticated the person, second factor included.
    """
    user = await User.get_or_none(external_id=external_id, is_active=True)
    if user is None:
        raise AuthFailed("no account is linked to this identity")
    family = uuid.uuid4()
    return await _token_pair(user, family, await _new_refresh_token(user.id, family))


async def issue_token_for(*, username: str, ttl: timedelta, tenant_ref: str | None = None) -> str:
    """An access token for a trusted caller (the ``hotline token`` CLI), as a session of
    its own that logout-everywhere and password changes revoke like any other. With
    ``tenant_ref``, only for a user who may work in that city (nothing issued otherwise)."""
    user = await User.get_or_none(username=normalize_username(username), is_active=True)
    if user is None:
        raise NotFound("user", field="username")
    if tenant_ref is not None:
        await check_city_access(user_id=user.id, username=user.username, tenant_ref=tenant_ref)
    family = uuid.uuid4()
    # A refresh row nobody holds the plaintext of: it only makes the session findable.
    await RefreshToken.create(
        user_id=user.id,
        family=family,
        token_hash=keyed_hash(secrets.token_urlsafe(32), _REFRESH_PURPOSE),
        expires_at=now_utc() + ttl,
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
    now = now_utc()
    async with in_transaction("default"):
        row = (
            await RefreshToken.filter(token_hash=keyed_hash(refresh_token, _REFRESH_PURPOSE))
            .select_for_update()
            .first()
        )
        if row is None or row.revoked_at is not None or row.expires_at <= now:
            raise AuthFailed(_BAD_REFRESH)
        next_token: str | None = None
        grace = get_settings().refresh_grace_seconds
        if row.used_at is None:
            row.used_at = now
            await row.save(update_fields=["used_at"])
            next_token = await _new_refresh_token(row.user_id, row.family)
            # before the commit releases the row lock, so a waiting twin finds it
            await _remember_successor(row.token_hash, next_token, grace)
        elif (now - row.used_at).total_seconds() <= grace:
            # the same token again within the grace window: a client's concurrent
            # refreshes (or a retry), not a copy — the same next token, no revocation
            next_token = await _successor(row.token_hash)
            if next_token is None:
                raise AuthFailed(_BAD_REFRESH)
    if next_token is None:
        log.warning("refresh token reused; session revoked", user_id=row.user_id)
        await _revoke_families([row.family])
        raise AuthFailed(_BAD_REFRESH)
    user = await User.get_or_none(id=row.user_id, is_active=True)
    if user is None:
        await _revoke_families([row.family])
        raise AuthFailed(_BAD_REFRESH)
    await _require_enrolled_admin(user)  # a session older than the grace period ends too
    return await _token_pair(user, row.family, next_token)


async def _remember_successor(token_hash: str, next_token: str, grace: int) -> None:
    if grace <= 0:
        return
    try:
        await redis_client().set(
            redis_key("refresh-successor", token_hash), encrypt(next_token), ex=grace + 1
        )
    except _REDIS_UNREACHABLE:
        log.warning("refresh grace window unavailable (Redis unreachable)")


async def _successor(token_hash: str) -> str | None:
    try:
        stored = await redis_client().get(redis_key("refresh-successor", token_hash))
    except _REDIS_UNREACHABLE:
        return None
    return decrypt(stored.decode() if isinstance(stored, bytes) else stored) if stored else None


async def logout(*, refresh_token: str) -> None:
    """End the session the refresh token belongs to (unknown tokens are ignored)."""
    row = await RefreshToken.get_or_none(token_hash=keyed_hash(refresh_token, _REFRESH_PURPOSE))
    if row is not None:
        await _revoke_families([row.family])


async def _revoke_families(families: Iterable[uuid.UUID]) -> None:
    wanted = set(families)
    if not wanted:
        return
    now = now_utc()
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


async def revoke_user_sessions(user_id: int) -> None:
    families = await (
        RefreshToken.filter(user_id=user_id, revoked_at__isnull=True)
        .distinct()
        .values_list("family", flat=True)
    )
    await _revoke_families(uuid.UUID(str(f)) for f in families)


async def purge_expired_refresh_tokens() -> int:
    """Delete refresh tokens past their expiry (a nightly job); returns how many."""
    return await RefreshToken.filter(expires_at__lt=now_utc()).delete()


async def is_session_revoked(*, sid: str) -> bool:
    """Durable in PostgreSQL, cached in Redis (``hotline.tenants.accounts.revocation``)."""
    return await revocation.is_revoked(sid)


async def authenticate_access_token(*, token: str) -> dict[str, Any]:
    """The claims of a valid access token whose session is still open, else AuthFailed."""
    try:
        claims = await verify_access_token(token)
    except TokenError as exc:
        raise AuthFailed("invalid access token ({reason})", reason=exc.reason.value) from exc
    sid = claims.get("sid")
    if not isinstance(sid, str) or await is_session_revoked(sid=sid):
        raise AuthFailed(_BAD_REFRESH)
    return claims

"""The second factor: enrolling an authenticator app and checking its codes (each code
is accepted once)."""

from __future__ import annotations

from datetime import datetime, timedelta

from hotline.platform.auth.totp import (
    STEP_SECONDS,
    VALID_WINDOW,
    new_totp_secret,
    provisioning_uri,
    verify_totp,
)
from hotline.platform.crypto import decrypt, encrypt
from hotline.platform.redis import key as redis_key
from hotline.platform.redis import redis_client
from hotline.platform.settings import get_settings
from hotline.platform.tenancy import Scope, use_scope
from hotline.tenants.accounts.common import active_user
from hotline.tenants.accounts.models import Membership, ProvinceRole, User
from hotline.tenants.kernel.audit import record_audit
from hotline.tenants.kernel.errors import Conflict, Invalid
from hotline.tenants.kernel.roles import Role

TOTP_ISSUER = "Hotline 12345"


async def admin_since(user: User) -> datetime | None:
    """Since when the user has been an administrator (platform operator, a province role,
    or an active ``tenant_admin`` membership), never before the account existed; None
    for everyone else. A platform operator counts from the account's creation."""
    starts: list[datetime] = [user.created_at] if user.is_platform_operator else []
    for role in await ProvinceRole.filter(user_id=user.id):
        starts.append(role.created_at)
    with use_scope(Scope.platform(user_id=user.id)):
        for membership in await Membership.across_tenants().filter(
            user_id=user.id, is_active=True, role=Role.TENANT_ADMIN
        ):
            starts.append(membership.created_at)
    return max(user.created_at, min(starts)) if starts else None


async def totp_deadline(user: User) -> datetime | None:
    """When an administrator without TOTP stops being able to log in with a password
    alone (``HOTLINE_ADMIN_TOTP_GRACE_DAYS`` after :func:`admin_since`); None when the
    user is no administrator or has enrolled."""
    if user.totp_enabled:
        return None
    since = await admin_since(user)
    if since is None:
        return None
    return since + timedelta(days=get_settings().admin_totp_grace_days)


async def totp_matches(user: User, code: str) -> bool:
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


async def begin_totp_enrolment(*, user_id: int) -> tuple[str, str]:
    """A new secret and its ``otpauth://`` URI; the factor is on once confirmed."""
    user = await active_user(user_id)
    if user.totp_enabled:
        raise Conflict("two-factor authentication is already on", field="totp")
    secret = new_totp_secret()
    user.totp_secret = encrypt(secret)
    await user.save(update_fields=["totp_secret", "updated_at"])
    return secret, provisioning_uri(secret, account=user.username, issuer=TOTP_ISSUER)


async def confirm_totp(*, user_id: int, code: str) -> None:
    user = await active_user(user_id)
    if user.totp_enabled:
        raise Conflict("two-factor authentication is already on", field="totp")
    if user.totp_secret is None:
        raise Invalid("start the enrolment first", field="totp")
    if not await totp_matches(user, code):
        raise Invalid("the code does not match; check the phone's clock", field="code")
    user.totp_enabled = True
    await user.save(update_fields=["totp_enabled", "updated_at"])
    await record_audit(actor_id=user.id, action="user.totp_enabled", target=user.username)

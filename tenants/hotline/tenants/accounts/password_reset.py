"""Forgotten passwords: a signed, single-use reset link sent by e-mail."""

from __future__ import annotations

import secrets

from itsdangerous import BadSignature, URLSafeTimedSerializer
from tortoise.expressions import Q

from hotline.platform.crypto import keyed_hash
from hotline.platform.ratelimit import hit
from hotline.platform.redis import key as redis_key
from hotline.platform.redis import redis_client
from hotline.platform.senders.email import send_email
from hotline.platform.settings import get_settings
from hotline.tenants.accounts.common import check_password
from hotline.tenants.accounts.models import User
from hotline.tenants.accounts.users import store_password
from hotline.tenants.kernel.audit import record_audit
from hotline.tenants.kernel.errors import Invalid

RESET_TOKEN_SECONDS = 30 * 60
RESET_REQUESTS_PER_HOUR = 5

_RESET_PURPOSE = "password-reset"
_BAD_RESET = "the reset link is invalid, used or expired"


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
    check_password(new_password, user.username)
    stored = await redis_client().getdel(
        redis_key("password-reset", keyed_hash(token, _RESET_PURPOSE))
    )
    if stored is None or int(stored) != user.id:
        raise Invalid(_BAD_RESET, field="token")
    await store_password(user, new_password)
    await record_audit(actor_id=user.id, action="user.password_reset", target=user.username)


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

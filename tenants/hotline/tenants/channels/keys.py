"""Each city's signing secrets of its inbound channels (SMS gateway, WeChat), encrypted
at rest like personal data, shown once when rotated; and the signature check.

A signed request carries ``X-Hotline-Timestamp`` (Unix seconds) and
``X-Hotline-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>``; it is
refused when the signature is wrong or the timestamp is more than
:data:`WINDOW_SECONDS` away from now (an old request replayed).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

from hotline.platform import clock
from hotline.platform.crypto import decrypt, encrypt
from hotline.tenants.channels.models import ChannelSecret
from hotline.tenants.kernel.access import Action, Actor, require
from hotline.tenants.kernel.audit import record_audit
from hotline.tenants.kernel.errors import AuthFailed, Invalid
from hotline.tenants.tickets import access

WINDOW_SECONDS = 300
SIGNED_CHANNELS = frozenset({"sms", "wechat"})


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def check_window(timestamp: str, now: datetime) -> int:
    """The signed request's Unix time; AuthFailed when it is missing or outside the
    window (an old request replayed)."""
    try:
        at = int(timestamp.strip())
    except ValueError:
        raise AuthFailed("a signed request needs its Unix timestamp") from None
    if abs(now.timestamp() - at) > WINDOW_SECONDS:
        raise AuthFailed("the request's timestamp is outside the accepted window")
    return at


def check_signature(
    *, secret: str, timestamp: str, body: bytes, signature: str, now: datetime
) -> None:
    """AuthFailed unless ``signature`` signs ``body`` at a timestamp within the window."""
    at = check_window(timestamp, now)
    if not hmac.compare_digest(sign(secret, str(at), body), signature.strip()):
        raise AuthFailed("the request's signature is wrong")


async def secret_of(channel: str) -> str | None:
    """The current city's secret of ``channel``, or None when none was set."""
    row = await ChannelSecret.get_or_none(channel=channel)
    return decrypt(row.secret_enc) if row is not None else None


async def rotate_secret(*, actor: Actor, channel: str) -> str:
    """A new secret for the city's ``channel`` (the old one stops at once); shown only now."""
    require(actor, Action.APIKEY_MANAGE)
    if channel not in SIGNED_CHANNELS:
        raise Invalid(
            "a signed channel is one of {channels}",
            field="channel",
            channels=sorted(SIGNED_CHANNELS),
        )
    secret = secrets.token_urlsafe(32)
    with access.city_scope(actor):
        row = await ChannelSecret.get_or_none(channel=channel)
        if row is None:
            await ChannelSecret.create(
                channel=channel, secret_enc=encrypt(secret), rotated_at=clock.now()
            )
        else:
            row.secret_enc = encrypt(secret)
            row.rotated_at = clock.now()
            await row.save(update_fields=["secret_enc", "rotated_at"])
        await record_audit(
            actor_id=actor.user_id,
            action="channel.secret.rotate",
            target=channel,
            tenant_id=actor.tenant_id,
            province_id=actor.province_id,
        )
    return secret

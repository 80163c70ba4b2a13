"""Signed webhooks: HMAC-SHA256 over ``<timestamp>.<body>`` with the endpoint's secret.

Headers: ``X-Hotline-Timestamp`` (Unix seconds), ``X-Hotline-Signature``
(``sha256=<hex>``) and ``Idempotency-Key`` (the send key). A receiver recomputes the
signature over the raw body, rejects timestamps older than a few minutes (replays),
and applies each idempotency key once.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import json
import socket
import time
from typing import Any
from urllib.parse import urlsplit

from hotline.platform.senders.config import get_delivery_settings
from hotline.platform.senders.errors import SendFailed
from hotline.platform.senders.sms import post_json

TOLERANCE_SECONDS = 300


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(
    secret: str, timestamp: str, body: bytes, signature: str, *, now: float | None = None
) -> bool:
    """What a receiver does (used by our tests and offered to integrators as reference)."""
    try:
        ts = int(timestamp)
    except ValueError:
        return False
    if abs((now if now is not None else time.time()) - ts) > TOLERANCE_SECONDS:
        return False
    return hmac.compare_digest(sign(secret, ts, body), signature)


async def check_destination(url: str) -> None:
    """Refuse (permanently) a webhook host that resolves to an internal address."""
    if get_delivery_settings().webhook_allow_private:
        return
    parts = urlsplit(url)
    if not parts.hostname:
        raise SendFailed("the webhook URL has no host", permanent=True)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            parts.hostname, parts.port or 443, type=socket.SOCK_STREAM
        )
    except OSError as exc:
        raise SendFailed(f"cannot resolve {parts.hostname}: {exc}") from exc
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global or address.is_multicast:
            raise SendFailed(f"{parts.hostname} resolves to a non-public address", permanent=True)


async def send_webhook(*, url: str, secret: str, event: dict[str, Any], send_key: str) -> None:
    await check_destination(url)
    body = json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()
    timestamp = int(time.time())
    headers = {
        "X-Hotline-Timestamp": str(timestamp),
        "X-Hotline-Signature": sign(secret, timestamp, body),
        "Idempotency-Key": send_key,
        "User-Agent": "Hotline-Webhooks/1",
    }
    await post_json(
        url, body, headers=headers, seconds=get_delivery_settings().http_timeout_seconds
    )

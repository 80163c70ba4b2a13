"""Signed webhooks: HMAC-SHA256 over ``<timestamp>.<body>`` with the endpoint's secret.

Headers: ``X-Hotline-Timestamp`` (Unix seconds), ``X-Hotline-Signature``
(``sha256=<hex>``) and ``Idempotency-Key`` (the send key). A receiver recomputes the
signature over the raw body, rejects timestamps older than a few minutes (replays),
and applies each idempotency key once.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import urlsplit

import httpx

from hotline.platform.senders.config import get_delivery_settings
from hotline.platform.senders.errors import SendFailed
from hotline.platform.senders.http import post_json, resolve_checked

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
    """Refuse (permanently) a webhook host that resolves to an internal address.

    Delivery does not rely on this check (the connection itself resolves, checks and
    pins the address, see ``hotline.platform.senders.http``): it lets an admin's form
    refuse such a URL at once. A host that does not resolve (yet) raises a temporary
    ``SendFailed``.
    """
    parts = urlsplit(url)
    if not parts.hostname:
        raise SendFailed("the webhook URL has no host", permanent=True)
    await resolve_checked(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))


async def send_webhook(
    *,
    url: str,
    secret: str,
    event: dict[str, Any],
    send_key: str,
    client: httpx.AsyncClient | None = None,
) -> None:
    """POST the signed event on the process's guarded client (or ``client``)."""
    body = json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()
    timestamp = int(time.time())
    headers = {
        "X-Hotline-Timestamp": str(timestamp),
        "X-Hotline-Signature": sign(secret, timestamp, body),
        "Idempotency-Key": send_key,
        "User-Agent": "Hotline-Webhooks/1",
    }
    await post_json(
        url,
        body,
        headers=headers,
        seconds=get_delivery_settings().http_timeout_seconds,
        kind="guarded",
        client=client,
    )

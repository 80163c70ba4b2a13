"""SMS through a provider interface: a generic HTTP gateway, or the log for development.

Chinese SMS is counted in characters: one message holds 70; a long message is split
into parts of 67 (the rest carries the concatenation header). Citizens are not texted
at night: :func:`quiet_until` says when a message may go out instead.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

import structlog

from hotline.platform.senders.config import DeliverySettings, get_delivery_settings
from hotline.platform.senders.errors import SendFailed
from hotline.platform.senders.http import post_json

log = structlog.get_logger(__name__)

SINGLE_SEGMENT = 70
MULTIPART_SEGMENT = 67
MAX_SEGMENTS = 5


def segments(text: str) -> int:
    """How many SMS segments ``text`` takes (UCS-2 counting: every character is one)."""
    if len(text) <= SINGLE_SEGMENT:
        return 1
    return -(-len(text) // MULTIPART_SEGMENT)


def check_length(text: str, *, max_segments: int = MAX_SEGMENTS) -> int:
    """The segment count, or ``ValueError`` for an empty or over-long message."""
    if not text:
        raise ValueError("an SMS needs text")
    count = segments(text)
    if count > max_segments:
        raise ValueError(
            f"SMS of {len(text)} characters needs {count} segments (max {max_segments})"
        )
    return count


def quiet_until(
    now: datetime, timezone: str, *, start: time | None = None, end: time | None = None
) -> datetime | None:
    """The end of the quiet hours if ``now`` falls inside them (in ``timezone``), else None."""
    settings = get_delivery_settings()
    start = start or settings.sms_quiet_start
    end = end or settings.sms_quiet_end
    local = now.astimezone(ZoneInfo(timezone))
    clock = local.time()
    inside = (start <= clock or clock < end) if start > end else (start <= clock < end)
    if not inside:
        return None
    morning = local.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
    if clock >= end:
        morning += timedelta(days=1)
    return morning.astimezone(UTC)


@dataclass(frozen=True)
class Sms:
    to: str
    text: str
    send_key: str


class SmsProvider(Protocol):
    async def send(self, sms: Sms) -> None: ...


class LogProvider:
    """Development: the message goes to the log."""

    async def send(self, sms: Sms) -> None:
        log.info(
            "sms.logged", to=sms.to[:3] + "****" + sms.to[-4:], text=sms.text, send_key=sms.send_key
        )


class HttpGatewayProvider:
    """A generic gateway: JSON POST ``{to, text, segments}`` with the send key as
    ``Idempotency-Key`` (and a bearer token when configured)."""

    def __init__(self, url: str, *, token: str = "", timeout: float = 10.0) -> None:
        self.url = url
        self.token = token
        self.timeout = timeout

    async def send(self, sms: Sms) -> None:
        headers = {"Idempotency-Key": sms.send_key}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        body = {"to": sms.to, "text": sms.text, "segments": segments(sms.text)}
        await post_json(
            self.url,
            json.dumps(body, ensure_ascii=False).encode(),
            headers=headers,
            seconds=self.timeout,
        )


def provider(settings: DeliverySettings | None = None) -> SmsProvider:
    s = settings or get_delivery_settings()
    if s.sms_provider == "http":
        if not s.sms_gateway_url:
            raise RuntimeError("HOTLINE_SMS_PROVIDER=http needs HOTLINE_SMS_GATEWAY_URL")
        return HttpGatewayProvider(
            s.sms_gateway_url,
            token=s.sms_gateway_token.get_secret_value(),
            timeout=s.http_timeout_seconds,
        )
    if s.sms_provider == "log":
        return LogProvider()
    raise RuntimeError(f"unknown SMS provider {s.sms_provider!r}")


async def send_sms(*, to: str, text: str, send_key: str) -> None:
    """Check the length and hand the message to the configured provider."""
    try:
        check_length(text)
    except ValueError as exc:
        raise SendFailed(str(exc), permanent=True) from exc
    await provider().send(Sms(to=to, text=text, send_key=send_key))

"""The city's WeChat official account's API, as the outbox jobs call it (docs/channels.md,
"WeChat official account"): the access token (cached per account), the progress
template messages sent back to the citizen (:func:`deliver`, queued in the ticket
change's transaction by :func:`on_ticket_events`), and a message's media
(:func:`media_get`, used by :mod:`.wechat_media`). Always over the guarded HTTP client.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx

from hotline.platform import clock, outbox
from hotline.platform.crypto import decrypt
from hotline.platform.senders.errors import SendFailed
from hotline.platform.senders.http import http_client
from hotline.tenants.channels.models import InboundMessage, Outcome, WechatAccount
from hotline.tenants.kernel.errors import Invalid
from hotline.tenants.kernel.events import Bus, TicketChanged, TicketEvent
from hotline.tenants.tickets.models import Channel

OUTBOX_KIND = "wechat"
FETCH_SECONDS = 15.0
_PROGRESS = {
    TicketEvent.DISPATCHED: "已派至承办单位办理",
    TicketEvent.REPLIED: "承办单位已答复，中心审核中",
    TicketEvent.ANSWERED: "已由热线中心直接答复",
    TicketEvent.CLOSED_ANSWERED: "已办结",
    TicketEvent.REVISITED: "已回访办结",
}
_TOKENS: dict[tuple[int, str], tuple[str, datetime]] = {}
_EXPIRED = (40001, 42001)  # the token expired early: fetch a new one next time


async def account() -> WechatAccount:
    """The current city's account; a permanent failure when it has none."""
    found = await WechatAccount.all().first()
    if found is None:
        raise SendFailed("the city has no WeChat account set", permanent=True)
    return found


async def access_token(account: WechatAccount, client: httpx.AsyncClient) -> str:
    held = _TOKENS.get((account.tenant_id, account.app_id))
    if held is not None and held[1] > clock.now():
        return held[0]
    response = await client.get(
        f"{account.api_base}/cgi-bin/token",
        params={
            "grant_type": "client_credential",
            "appid": account.app_id,
            "secret": decrypt(account.app_secret_enc),
        },
        timeout=10,
    )
    body: dict[str, Any] = response.json()
    if "access_token" not in body:
        raise SendFailed(f"WeChat token: {body.get('errcode')} {body.get('errmsg')}")
    expires = clock.now() + timedelta(seconds=int(body.get("expires_in", 7200)) - 300)
    _TOKENS[(account.tenant_id, account.app_id)] = (str(body["access_token"]), expires)
    return str(body["access_token"])


def _failed(account: WechatAccount, what: str, body: dict[str, Any]) -> SendFailed:
    if body.get("errcode") in _EXPIRED:
        _TOKENS.pop((account.tenant_id, account.app_id), None)
    return SendFailed(f"{what}: {body.get('errcode')} {body.get('errmsg')}")


@dataclass(frozen=True)
class Media:
    """What ``/cgi-bin/media/get`` answered: the file itself, or — for a video —
    the address WeChat serves it from (``video_url``)."""

    content_type: str
    data: bytes = b""
    video_url: str = ""


async def media_get(account: WechatAccount, media_id: str, *, max_bytes: int) -> Media:
    """A message's media through the account's API, streamed and cut off past
    ``max_bytes`` (the evidence policy's limit for its kind): Invalid then, SendFailed
    when WeChat or the network fails (retried)."""
    client = http_client("guarded")
    data = bytearray()
    try:
        token = await access_token(account, client)
        async with client.stream(
            "GET",
            f"{account.api_base}/cgi-bin/media/get",
            params={"access_token": token, "media_id": media_id},
            timeout=FETCH_SECONDS,
        ) as response:
            kind = response.headers.get("content-type", "").split(";")[0].strip()
            async for chunk in response.aiter_bytes():
                data += chunk
                if len(data) > max_bytes:
                    raise Invalid(
                        "{source} is larger than {max} bytes",
                        field="MediaId",
                        source="MediaId",
                        max=max_bytes,
                    )
    except httpx.HTTPError as exc:
        raise SendFailed(f"{type(exc).__name__}: {exc}") from exc
    if response.status_code >= 500 or response.status_code == 429:
        raise SendFailed(f"WeChat media: HTTP {response.status_code}")
    if kind in ("application/json", "text/plain"):  # errors, and a video's address
        try:
            body: dict[str, Any] = json.loads(bytes(data))
        except ValueError:
            raise SendFailed("WeChat media: an answer that is not JSON") from None
        if isinstance(body.get("video_url"), str) and body["video_url"]:
            return Media(content_type=kind, video_url=body["video_url"])
        raise _failed(account, "WeChat media", body)
    return Media(content_type=kind, data=bytes(data))


# --- progress messages back to the citizen -----------------------------------------------


async def on_ticket_events(events: Sequence[TicketChanged]) -> None:
    """In the change's transaction: a ``wechat`` outbox row per progress of a WeChat ticket."""
    # only a WeChat ticket has a WeChat sender (its intake record): no read for the others
    wanted = [e for e in events if e.kind in _PROGRESS and e.channel == Channel.WECHAT.value]
    if not wanted:
        return
    senders = {
        m.ticket_id: m.reply_to_enc
        for m in await InboundMessage.filter(
            channel=Channel.WECHAT.value,
            outcome=Outcome.CREATED,
            ticket_id__in=[e.ticket_id for e in wanted],
            reply_to_enc__not_isnull=True,
        )
    }
    for event in wanted:
        to = senders.get(event.ticket_id)
        if to is None:
            continue
        await outbox.add(
            kind=OUTBOX_KIND,
            tenant_id=event.tenant_id,
            province_id=event.province_id,
            payload={
                "to_enc": to,
                "number": event.number,
                "progress": _PROGRESS[event.kind],
                "at": event.occurred_at.isoformat(timespec="seconds"),
            },
            send_key=f"wechat-{event.key}"[:160],
        )


def register(bus: Bus) -> None:
    """Entry point of ``hotline.event_handlers``."""
    bus.subscribe(on_ticket_events)


async def deliver(message: outbox.OutboxMessage) -> None:
    """The outbox handler of ``wechat`` rows (``hotline.outbox_handlers``), in the row's
    city: one template message through the account's API (the guarded HTTP client)."""
    found = await account()
    p = message.payload
    client = http_client("guarded")
    try:
        token = await access_token(found, client)
        response = await client.post(
            f"{found.api_base}/cgi-bin/message/template/send",
            params={"access_token": token},
            json={
                "touser": decrypt(p["to_enc"]),
                "template_id": found.template_id,
                "data": {
                    "number": {"value": p["number"]},
                    "progress": {"value": p["progress"]},
                    "time": {"value": p["at"]},
                },
            },
            headers={"Idempotency-Key": message.send_key},
            timeout=10,
        )
    except httpx.HTTPError as exc:
        raise SendFailed(f"{type(exc).__name__}: {exc}") from exc
    body: dict[str, Any] = response.json()
    if body.get("errcode", 0) != 0:
        raise _failed(found, "WeChat", body)

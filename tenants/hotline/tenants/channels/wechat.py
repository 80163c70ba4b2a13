"""WeChat official account (docs/channels.md): the signed callback's messages become
tickets, and the citizen gets progress messages back as template messages.

The callback is signed by WeChat: ``signature = sha1(sorted(token, timestamp, nonce))``
with the token the city set (``rotateChannelSecret(channel: "wechat")``, pasted into the
account's server settings); a wrong signature or a timestamp outside the window is
refused and nothing stored. ``MsgId`` dedupes WeChat's retries. Plain mode only (the
encrypted "safe mode" is not built).

- text, voice (its recognition) and location (coordinates + label) → a new ticket
  (channel ``wechat``); an image → evidence of the sender's open WeChat ticket of the
  last 24 hours (its ``PicUrl`` fetched through the SSRF guard and the upload checks),
  else a ticket of its own.
- Progress: when a WeChat ticket is dispatched, replied, closed or answered, a ``wechat``
  outbox row (in the change's transaction) is delivered by :func:`deliver` through the
  account's template-message API.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as SafeXml
import httpx

from hotline.platform import clock, outbox
from hotline.platform.crypto import decrypt, encrypt, keyed_hash
from hotline.platform.senders.errors import SendFailed
from hotline.platform.senders.http import http_client
from hotline.tenants.channels import media, pipeline
from hotline.tenants.channels.keys import WINDOW_SECONDS
from hotline.tenants.channels.models import InboundMessage, Outcome, WechatAccount
from hotline.tenants.evidence.received import attach_received
from hotline.tenants.kernel.access import Action, Actor, require
from hotline.tenants.kernel.errors import AuthFailed, Invalid
from hotline.tenants.kernel.events import Bus, TicketChanged, TicketEvent
from hotline.tenants.kernel.roles import Role
from hotline.tenants.provinces.models import Tenant
from hotline.tenants.tickets import access
from hotline.tenants.tickets.flow import OPEN
from hotline.tenants.tickets.models import Channel, Kind, Ticket

OUTBOX_KIND = "wechat"
SENDER_PURPOSE = "wechat-openid"
IMAGE_JOINS = timedelta(hours=24)
_PROGRESS = {
    TicketEvent.DISPATCHED: "已派至承办单位办理",
    TicketEvent.REPLIED: "承办单位已答复，中心审核中",
    TicketEvent.ANSWERED: "已由热线中心直接答复",
    TicketEvent.CLOSED_ANSWERED: "已办结",
    TicketEvent.REVISITED: "已回访办结",
}
_TOKENS: dict[tuple[int, str], tuple[str, datetime]] = {}


@dataclass(frozen=True)
class WechatMessage:
    msg_id: str
    openid: str
    kind: str  # text | image | voice | location
    text: str = ""
    pic_url: str = ""
    lat: Decimal | None = None
    lng: Decimal | None = None


def check_signature(
    *, token: str, timestamp: str, nonce: str, signature: str, now: datetime
) -> None:
    try:
        at = int(timestamp)
    except ValueError:
        raise AuthFailed("a signed request needs its Unix timestamp") from None
    if abs(now.timestamp() - at) > WINDOW_SECONDS:
        raise AuthFailed("the request's timestamp is outside the accepted window")
    expected = hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()  # noqa: S324 — WeChat's scheme
    if not hmac.compare_digest(expected, signature.strip().lower()):
        raise AuthFailed("the request's signature is wrong")


def _text(root: Element, name: str) -> str:
    found = root.find(name)
    return (found.text or "").strip() if found is not None else ""


def parse_message(body: bytes) -> WechatMessage:
    """A callback's XML (plain mode); Invalid when it is not a message we take."""
    try:
        root = SafeXml.fromstring(body)
    except Exception as exc:  # defusedxml raises several kinds; all mean "not ours"
        raise Invalid("the body is not a WeChat message", field="body") from exc
    kind, openid = _text(root, "MsgType"), _text(root, "FromUserName")
    msg_id = _text(root, "MsgId")
    if kind not in ("text", "image", "voice", "location") or not openid or not msg_id:
        raise Invalid("the body is not a WeChat message", field="body")
    if kind == "location":
        try:
            lat, lng = Decimal(_text(root, "Location_X")), Decimal(_text(root, "Location_Y"))
        except InvalidOperation:
            raise Invalid("the body is not a WeChat message", field="body") from None
        return WechatMessage(msg_id, openid, kind, text=_text(root, "Label"), lat=lat, lng=lng)
    text = _text(root, "Recognition") if kind == "voice" else _text(root, "Content")
    return WechatMessage(msg_id, openid, kind, text=text, pic_url=_text(root, "PicUrl"))


def _gateway(tenant: Tenant) -> Actor:
    return Actor(
        user_id=None,
        tenant_id=tenant.id,
        province_id=tenant.province_id,
        roles=frozenset({Role.AGENT}),
        username="wechat",
    )


async def receive_wechat(*, tenant: Tenant, message: WechatMessage) -> str:
    """created | appended | duplicate (the city's signature already checked)."""
    actor = _gateway(tenant)
    sender_hash = keyed_hash(message.openid, SENDER_PURPOSE)
    with access.city_scope(actor):
        if await InboundMessage.exists(channel=Channel.WECHAT.value, external_id=message.msg_id):
            return "duplicate"
        picture = (
            await media.fetch_media(message.pic_url, field="PicUrl")
            if message.kind == "image"
            else None
        )
        recent = None
        if picture is not None:
            mine = (
                await InboundMessage.filter(
                    channel=Channel.WECHAT.value,
                    sender_hash=sender_hash,
                    outcome=Outcome.CREATED,
                    created_at__gte=clock.now() - IMAGE_JOINS,
                )
                .order_by("-id")
                .values_list("ticket_id", flat=True)
            )
            recent = (
                await Ticket.filter(id__in=list(mine), status__in=list(OPEN))
                .order_by("-id")
                .first()
            )
        if recent is not None and picture is not None:
            await InboundMessage.create(
                channel=Channel.WECHAT.value,
                external_id=message.msg_id,
                outcome=Outcome.APPENDED,
                ticket_id=recent.id,
                sender_hash=sender_hash,
            )
            await attach_received(ticket=recent, received=picture)
            return "appended"
    content = message.text or {
        "image": "（图片）",
        "voice": "（语音）",
        "location": "（位置）",
    }.get(message.kind, "")
    if not content:
        raise Invalid("the message has no text", field="text")
    intake = await pipeline.submit(
        actor=actor,
        submission=pipeline.Submission(
            channel=Channel.WECHAT,
            external_id=message.msg_id,
            content=content,
            kind=Kind.REPORT,
            address=message.text if message.kind == "location" else "",
            lat=message.lat,
            lng=message.lng,
            sender_hash=sender_hash,
        ),
    )
    with access.city_scope(actor):
        await InboundMessage.filter(
            channel=Channel.WECHAT.value, external_id=message.msg_id
        ).update(reply_to_enc=encrypt(message.openid))
        if picture is not None and intake.created:
            await attach_received(ticket=intake.ticket, received=picture)
    return "created" if intake.created else "duplicate"


async def set_account(
    *, actor: Actor, app_id: str, app_secret: str, template_id: str, api_base: str = ""
) -> WechatAccount:
    require(actor, Action.APIKEY_MANAGE)
    if not app_id.strip() or not app_secret or not template_id.strip():
        raise Invalid("an account needs its AppID, AppSecret and template id", field="appId")
    with access.city_scope(actor):
        await WechatAccount.all().delete()  # one account per city
        return await WechatAccount.create(
            app_id=app_id.strip(),
            app_secret_enc=encrypt(app_secret),
            template_id=template_id.strip(),
            api_base=(api_base.strip() or "https://api.weixin.qq.com").rstrip("/"),
        )


# --- progress messages back to the citizen -----------------------------------------------


async def on_ticket_events(events: Sequence[TicketChanged]) -> None:
    """In the change's transaction: a ``wechat`` outbox row per progress of a WeChat ticket."""
    wanted = [e for e in events if e.kind in _PROGRESS]
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


async def _token(account: WechatAccount, client: httpx.AsyncClient) -> str:
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


async def deliver(message: outbox.OutboxMessage) -> None:
    """The outbox handler of ``wechat`` rows (``hotline.outbox_handlers``), in the row's
    city: one template message through the account's API (the guarded HTTP client)."""
    account = await WechatAccount.all().first()
    if account is None:
        raise SendFailed("the city has no WeChat account set", permanent=True)
    p = message.payload
    client = http_client("guarded")
    try:
        token = await _token(account, client)
        response = await client.post(
            f"{account.api_base}/cgi-bin/message/template/send",
            params={"access_token": token},
            json={
                "touser": decrypt(p["to_enc"]),
                "template_id": account.template_id,
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
        if body.get("errcode") in (40001, 42001):  # the token expired early: fetch anew
            _TOKENS.pop((account.tenant_id, account.app_id), None)
        raise SendFailed(f"WeChat: {body.get('errcode')} {body.get('errmsg')}")

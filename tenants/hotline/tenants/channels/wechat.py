"""WeChat official account (docs/channels.md): the signed callback's messages become
tickets, and the citizen gets progress messages back as template messages.
(Over 400 lines: both callback modes, the message kinds and the media job share the
account and dedupe rules; the cipher itself is ``wechat_secure``.)

The callback is signed by WeChat: ``signature = sha1(sorted(token, timestamp, nonce))``
with the token the city set (``rotateChannelSecret(channel: "wechat")``, pasted into the
account's server settings); a wrong signature or a timestamp outside the window is
refused and nothing stored. ``MsgId`` dedupes WeChat's retries, and a nonce is used once
(plain mode's signature does not cover the body). A city that sets its EncodingAESKey
takes only the encrypted "safe mode" (``wechat_secure``: msg_signature over the
ciphertext, AES-CBC from ``cryptography``, the AppID checked).

- text, voice (its recognition) and location (coordinates + label) → a new ticket
  (channel ``wechat``); an image → evidence of the sender's open WeChat ticket of the
  last 24 hours, else a ticket of its own; the callback answers at once and a
  ``wechat_media`` outbox job fetches the file (``PicUrl`` through the SSRF guard and the
  upload checks; a voice through the media API) and records it once.
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
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from hotline.platform import clock, outbox, redis
from hotline.platform.crypto import decrypt, encrypt, keyed_hash
from hotline.platform.senders.errors import SendFailed
from hotline.platform.senders.http import http_client
from hotline.tenants.channels import media, pipeline, wechat_secure
from hotline.tenants.channels.keys import WINDOW_SECONDS
from hotline.tenants.channels.models import InboundMessage, Outcome, WechatAccount
from hotline.tenants.evidence.received import (
    Received,
    attach_once,
    check_received,
)
from hotline.tenants.kernel.access import Action, Actor, require
from hotline.tenants.kernel.errors import AuthFailed, Invalid
from hotline.tenants.kernel.events import Bus, TicketChanged, TicketEvent
from hotline.tenants.kernel.roles import Role
from hotline.tenants.provinces.models import Tenant
from hotline.tenants.tickets import access
from hotline.tenants.tickets.flow import OPEN
from hotline.tenants.tickets.models import Channel, Kind, Ticket
from hotline.tenants.tickets.work import Change

OUTBOX_KIND = "wechat"
MEDIA_KIND = "wechat_media"
SENDER_PURPOSE = "wechat-openid"
IMAGE_JOINS = timedelta(hours=24)
MAX_NONCE = 64
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
    media_id: str = ""
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


async def remember_nonce(*, tenant_id: int, timestamp: str, nonce: str, body: bytes) -> None:
    """Refuse a replay: the plain mode's signature covers only token, timestamp and
    nonce, so a captured query could carry another body within the window. Each
    (timestamp, nonce) is kept in Redis (a city's key, until the timestamp leaves the
    accepted window) with the digest of its body: the same call again — WeChat's own
    retry — goes on (``MsgId`` dedupes it), another body under a seen nonce is refused."""
    if not nonce or len(nonce) > MAX_NONCE:
        raise AuthFailed("the request's nonce is missing or too long")
    digest = hashlib.sha256(body).hexdigest()
    seen = hashlib.sha256(f"{timestamp}:{nonce}".encode()).hexdigest()[:32]
    key = redis.tenant_key(tenant_id, "wechat-nonce", seen)
    client = redis.redis_client()
    if await client.set(key, digest, nx=True, exat=int(timestamp) + WINDOW_SECONDS + 1):
        return
    if await client.get(key) != digest:
        raise AuthFailed("the request replays a nonce already used")


async def secure_key() -> tuple[bytes, str] | None:
    """The current city's encrypted-mode key and AppID, when it set an EncodingAESKey."""
    account = await WechatAccount.all().first()
    if account is None or account.aes_key_enc is None:
        return None
    return wechat_secure.aes_key(decrypt(account.aes_key_enc)), account.app_id


def open_encrypted(
    *,
    token: str,
    key: bytes,
    app_id: str,
    timestamp: str,
    nonce: str,
    msg_signature: str,
    body: bytes,
    now: datetime,
) -> bytes:
    """An encrypted-mode callback's message: the window, ``msg_signature`` over the
    ``Encrypt`` element, then AES (:mod:`.wechat_secure`); AuthFailed on any failure."""
    try:
        at = int(timestamp)
    except ValueError:
        raise AuthFailed("a signed request needs its Unix timestamp") from None
    if abs(now.timestamp() - at) > WINDOW_SECONDS:
        raise AuthFailed("the request's timestamp is outside the accepted window")
    try:
        root = SafeXml.fromstring(body)
    except Exception as exc:  # defusedxml raises several kinds; all mean "not ours"
        raise Invalid("the body is not a WeChat message", field="body") from exc
    sealed = _text(root, "Encrypt")
    if not sealed:
        raise AuthFailed("the account takes only encrypted messages")
    wechat_secure.check_msg_signature(
        token=token, timestamp=timestamp, nonce=nonce, encrypt=sealed, signature=msg_signature
    )
    return wechat_secure.decrypt(key=key, encrypt=sealed, app_id=app_id)


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
    return WechatMessage(
        msg_id,
        openid,
        kind,
        text=text,
        pic_url=_text(root, "PicUrl"),
        media_id=_text(root, "MediaId"),
    )


def _gateway(tenant: Tenant) -> Actor:
    return Actor(
        user_id=None,
        tenant_id=tenant.id,
        province_id=tenant.province_id,
        roles=frozenset({Role.AGENT}),
        username="wechat",
    )


async def _recent_ticket(sender_hash: str) -> Ticket | None:
    """The sender's open WeChat ticket of the last 24 hours (an image joins it)."""
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
    found: Ticket | None = (
        await Ticket.filter(id__in=list(mine), status__in=list(OPEN)).order_by("-id").first()
    )
    return found


def _media_row(tenant: Tenant, message: WechatMessage) -> outbox.NewMessage | None:
    """The job that fetches an image's or a voice's file after the answer (WeChat waits
    5 s, then retries): written in the message's transaction, so it is never lost, and
    keyed by the message, so a retry adds none."""
    if message.kind not in ("image", "voice") or not (message.pic_url or message.media_id):
        return None
    return outbox.NewMessage(
        kind=MEDIA_KIND,
        tenant_id=tenant.id,
        province_id=tenant.province_id,
        payload={
            "msg_id": message.msg_id,
            "kind": message.kind,
            "pic_url": message.pic_url,
            "media_id": message.media_id,
        },
        send_key=f"wechat-media-{tenant.id}-{message.msg_id}"[:160],
    )


async def receive_wechat(*, tenant: Tenant, message: WechatMessage) -> str:
    """created | appended | duplicate (the city's signature already checked). Answers at
    once: an image's or voice's file is fetched by the ``wechat_media`` outbox job."""
    actor = _gateway(tenant)
    sender_hash = keyed_hash(message.openid, SENDER_PURPOSE)
    media_row = _media_row(tenant, message)
    with access.city_scope(actor):
        if await InboundMessage.exists(channel=Channel.WECHAT.value, external_id=message.msg_id):
            return "duplicate"
        recent = await _recent_ticket(sender_hash) if message.kind == "image" else None
        if recent is not None and media_row is not None:
            try:
                async with in_transaction("default") as conn:
                    await InboundMessage.create(
                        channel=Channel.WECHAT.value,
                        external_id=message.msg_id,
                        outcome=Outcome.APPENDED,
                        ticket_id=recent.id,
                        sender_hash=sender_hash,
                        using_db=conn,
                    )
                    await outbox.add_many([media_row], connection=conn)
            except IntegrityError:  # the same message, delivered concurrently
                return "duplicate"
            return "appended"
    content = message.text or {
        "image": "（图片）",
        "voice": "（语音）",
        "location": "（位置）",
    }.get(message.kind, "")
    if not content:
        raise Invalid("the message has no text", field="text")

    async def within(c: Change, ticket: Ticket) -> None:
        if media_row is not None:
            c.outbox.append(media_row)

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
            reply_to_enc=encrypt(message.openid),
        ),
        within=within,
    )
    return "created" if intake.created else "duplicate"


async def _fetch_voice(account: WechatAccount, media_id: str) -> Received:
    """A voice message's file through the account's API (``/cgi-bin/media/get``)."""
    client = http_client("guarded")
    try:
        token = await _token(account, client)
        response = await client.get(
            f"{account.api_base}/cgi-bin/media/get",
            params={"access_token": token, "media_id": media_id},
            timeout=media.FETCH_SECONDS,
        )
    except httpx.HTTPError as exc:
        raise SendFailed(f"{type(exc).__name__}: {exc}") from exc
    kind = response.headers.get("content-type", "").split(";")[0].strip()
    if kind in ("application/json", "text/plain"):  # WeChat's errors come as JSON
        body: dict[str, Any] = response.json()
        if body.get("errcode") in (40001, 42001):
            _TOKENS.pop((account.tenant_id, account.app_id), None)
        raise SendFailed(f"WeChat media: {body.get('errcode')} {body.get('errmsg')}")
    if len(response.content) > media.MAX_MEDIA_BYTES:
        raise Invalid("MediaId is too large", field="MediaId")
    return await check_received(
        file_name=f"{media_id[:60]}.amr",
        content_type=kind,
        data=response.content,
        field="MediaId",
    )


async def deliver_media(message: outbox.OutboxMessage) -> None:
    """The outbox handler of ``wechat_media`` rows, in the row's city: fetch the file
    (an image's ``PicUrl`` through the SSRF guard; a voice through the account's API),
    put the object, then — under the message record's lock — write the evidence row and
    mark the record with it. A retried job finds the mark and adds nothing; a job that
    died before the mark fetches again (its object, if any, is never named by a row)."""
    p = message.payload
    inbound = await InboundMessage.get_or_none(
        channel=Channel.WECHAT.value, external_id=p["msg_id"]
    )
    if inbound is None or inbound.ticket_id is None:
        raise SendFailed("the WeChat message is not recorded", permanent=True)
    if inbound.evidence_id is not None:
        return
    try:
        if p["kind"] == "image" and p.get("pic_url"):
            received = await media.fetch_media(p["pic_url"], field="PicUrl")
        else:
            account = await WechatAccount.all().first()
            if account is None:
                raise SendFailed("the city has no WeChat account set", permanent=True)
            received = await _fetch_voice(account, p["media_id"])
    except media.MediaUnavailable as exc:  # unreachable or 5xx/429 for now: retried
        raise SendFailed(exc.message) from exc
    except Invalid as exc:  # refused by the evidence checks: trying again changes nothing
        raise SendFailed(exc.message, permanent=True) from exc

    async def claim(conn: BaseDBAsyncClient) -> int | None:
        row = await InboundMessage.select_for_update().using_db(conn).get(id=inbound.id)
        return row.ticket_id if row.evidence_id is None else None

    async def mark(conn: BaseDBAsyncClient, evidence_id: int) -> None:
        await InboundMessage.filter(id=inbound.id).using_db(conn).update(evidence_id=evidence_id)

    await attach_once(received, claim=claim, mark=mark)


async def set_account(
    *,
    actor: Actor,
    app_id: str,
    app_secret: str,
    template_id: str,
    api_base: str = "",
    encoding_aes_key: str = "",
) -> WechatAccount:
    """The city's account; with an EncodingAESKey the callback takes only encrypted
    messages (安全模式), without one only plain ones."""
    require(actor, Action.APIKEY_MANAGE)
    if not app_id.strip() or not app_secret or not template_id.strip():
        raise Invalid("an account needs its AppID, AppSecret and template id", field="appId")
    if encoding_aes_key.strip():
        wechat_secure.aes_key(encoding_aes_key)  # Invalid unless it is one
    with access.city_scope(actor):
        await WechatAccount.all().delete()  # one account per city
        return await WechatAccount.create(
            app_id=app_id.strip(),
            app_secret_enc=encrypt(app_secret),
            template_id=template_id.strip(),
            api_base=(api_base.strip() or "https://api.weixin.qq.com").rstrip("/"),
            aes_key_enc=encrypt(encoding_aes_key.strip()) if encoding_aes_key.strip() else None,
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

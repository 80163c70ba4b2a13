"""WeChat official account (docs/channels.md): the signed callback's messages become
tickets. The account's other parts are modules of their own: the encrypted mode
(``wechat_secure``), the media job (``wechat_media``) and the account's API with the
progress messages back to the citizen (``wechat_api``).

The callback is signed by WeChat: ``signature = sha1(sorted(token, timestamp, nonce))``
with the token the city set (``rotateChannelSecret(channel: "wechat")``, pasted into the
account's server settings); a wrong signature or a timestamp outside the window is
refused and nothing stored. ``MsgId`` dedupes WeChat's retries, and a nonce is used once
(plain mode's signature does not cover the body). A city that sets its EncodingAESKey
takes only the encrypted "safe mode" (``wechat_secure``: msg_signature over the
ciphertext, AES-CBC from ``cryptography``, the AppID checked).

- text, voice (its recognition) and location (coordinates + label) → a new ticket
  (channel ``wechat``); an image, a video or a short video → evidence of the sender's
  open WeChat ticket of the last 24 hours, else a ticket of its own; the callback
  answers at once and a ``wechat_media`` outbox job fetches the file.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from hotline.platform import clock, outbox, redis
from hotline.platform.crypto import encrypt, keyed_hash
from hotline.tenants.channels import pipeline, wechat_media, wechat_secure
from hotline.tenants.channels.keys import WINDOW_SECONDS, check_window
from hotline.tenants.channels.models import InboundMessage, Outcome, WechatAccount
from hotline.tenants.kernel.access import Action, Actor, require
from hotline.tenants.kernel.errors import AuthFailed, Invalid
from hotline.tenants.kernel.roles import Role
from hotline.tenants.provinces.models import Tenant
from hotline.tenants.tickets import access
from hotline.tenants.tickets.flow import OPEN
from hotline.tenants.tickets.models import Channel, Kind, Ticket
from hotline.tenants.tickets.work import Change

SENDER_PURPOSE = "wechat-openid"
MEDIA_JOINS = timedelta(hours=24)
MAX_NONCE = 64
KINDS = ("text", "image", "voice", "video", "shortvideo", "location")
# what stands for a message without text (the ticket's content)
_NO_TEXT = {
    "image": "（图片）",
    "voice": "（语音）",
    "video": "（视频）",
    "shortvideo": "（小视频）",
    "location": "（位置）",
}
# the kinds whose file joins the sender's recent ticket instead of opening one
_JOINING = ("image", "video", "shortvideo")


@dataclass(frozen=True)
class WechatMessage:
    msg_id: str
    openid: str
    kind: str  # one of KINDS
    text: str = ""
    pic_url: str = ""
    media_id: str = ""
    lat: Decimal | None = None
    lng: Decimal | None = None


def check_signature(
    *, token: str, timestamp: str, nonce: str, signature: str, now: datetime
) -> None:
    check_window(timestamp, now)
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


def parse_message(body: bytes) -> WechatMessage:
    """A callback's XML (plain mode); Invalid when it is not a message we take."""
    root = wechat_secure.read_xml(body)
    _text = wechat_secure.xml_text
    kind, openid = _text(root, "MsgType"), _text(root, "FromUserName")
    msg_id = _text(root, "MsgId")
    if kind not in KINDS or not openid or not msg_id:
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
    """The sender's open WeChat ticket of the last 24 hours (an image or a video joins it)."""
    mine = (
        await InboundMessage.filter(
            channel=Channel.WECHAT.value,
            sender_hash=sender_hash,
            outcome=Outcome.CREATED,
            created_at__gte=clock.now() - MEDIA_JOINS,
        )
        .order_by("-id")
        .values_list("ticket_id", flat=True)
    )
    found: Ticket | None = (
        await Ticket.filter(id__in=list(mine), status__in=list(OPEN)).order_by("-id").first()
    )
    return found


async def receive_wechat(*, tenant: Tenant, message: WechatMessage) -> str:
    """created | appended | duplicate (the city's signature already checked). Answers at
    once: an image's, voice's or video's file is fetched by the ``wechat_media`` job."""
    actor = _gateway(tenant)
    sender_hash = keyed_hash(message.openid, SENDER_PURPOSE)
    media_row = wechat_media.media_row(
        tenant_id=tenant.id,
        province_id=tenant.province_id,
        msg_id=message.msg_id,
        kind=message.kind,
        pic_url=message.pic_url,
        media_id=message.media_id,
    )
    with access.city_scope(actor):
        if await InboundMessage.exists(channel=Channel.WECHAT.value, external_id=message.msg_id):
            return "duplicate"
        recent = await _recent_ticket(sender_hash) if message.kind in _JOINING else None
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
    content = message.text or _NO_TEXT.get(message.kind, "")
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

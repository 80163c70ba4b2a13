"""The WeChat official account: the signed callback (server check, messages), tickets
from text / voice / location, pictures as evidence, and progress messages back through
the outbox's template-message sender, tested against a local HTTP receiver."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import defusedxml.ElementTree as SafeXml
import httpx
import pytest
import pytest_asyncio
import uvicorn
from PIL import Image
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from wechatpy.crypto import WeChatCrypto  # type: ignore[import-untyped]

from hotline.platform.outbox.models import OutboxMessage
from hotline.platform.senders.config import reset_delivery_settings
from hotline.platform.senders.errors import SendFailed
from hotline.platform.tenancy import Scope, use_scope
from hotline.tenants.channels import keys, wechat, wechat_api, wechat_media
from hotline.tenants.channels.models import InboundMessage
from hotline.tenants.evidence.models import Evidence, EvidencePolicy
from hotline.tenants.evidence.policy import set_evidence_policy
from hotline.tenants.evidence.rules import DEFAULT_POLICY
from hotline.tenants.kernel.access import Actor
from hotline.tenants.kernel.errors import Invalid
from hotline.tenants.kernel.roles import Role
from hotline.tenants.tickets.dispatch import dispatch_ticket
from hotline.tenants.tickets.models import Channel, Ticket
from tests.tickets_api.conftest import City, World


def _admin(city: City) -> Actor:
    return Actor(
        user_id=city.users["admin"],
        tenant_id=city.tenant.id,
        province_id=city.tenant.province_id,
        roles=frozenset({Role.TENANT_ADMIN, Role.DISPATCHER}),
    )


_AMR = b"#!AMR\n" + b"\x3c" + bytes(31)  # one AMR-NB frame: what WeChat's voices are


def _mp4(size: int) -> bytes:
    """An MP4's first box (what the type sniffer reads), padded to ``size`` bytes."""
    head = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"
    return head + bytes(size - len(head))


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (30, 200, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


@dataclass
class Receiver:
    """WeChat's API as the tests see it: tokens, template messages, a picture."""

    url: str = ""
    token_calls: int = 0
    sent: list[dict[str, Any]] = field(default_factory=list)
    keys_seen: set[str] = field(default_factory=set)
    media_calls: int = 0
    media_ids: list[str] = field(default_factory=list)  # asked of /cgi-bin/media/get

    def app(self) -> Starlette:
        async def token(request: Request) -> JSONResponse:
            self.token_calls += 1
            ok = request.query_params.get("secret") == "app-secret"
            if not ok:
                return JSONResponse({"errcode": 40125, "errmsg": "invalid appsecret"})
            return JSONResponse({"access_token": "tok-1", "expires_in": 7200})

        async def send(request: Request) -> JSONResponse:
            if request.query_params.get("access_token") != "tok-1":
                return JSONResponse({"errcode": 40001, "errmsg": "invalid credential"})
            key = request.headers.get("idempotency-key", "")
            if key not in self.keys_seen:  # a redelivery is one message
                self.keys_seen.add(key)
                self.sent.append(await request.json())
            return JSONResponse({"errcode": 0, "errmsg": "ok", "msgid": 1})

        async def picture(request: Request) -> Response:
            self.media_calls += 1
            return Response(_png(), media_type="image/png")

        async def media(request: Request) -> Response:
            if request.query_params.get("access_token") != "tok-1":
                return JSONResponse({"errcode": 40001, "errmsg": "invalid credential"})
            self.media_calls += 1
            media_id = request.query_params.get("media_id", "")
            self.media_ids.append(media_id)
            if media_id.startswith("video"):  # WeChat answers a video's address
                return JSONResponse({"video_url": f"{self.url}/v/{media_id}.mp4"})
            return Response(_AMR, media_type="audio/amr")

        async def video(request: Request) -> Response:
            self.media_calls += 1
            big = request.path_params["name"].startswith("video-big")
            return Response(_mp4(4000 if big else 200), media_type="video/mp4")

        return Starlette(
            routes=[
                Route("/cgi-bin/token", token),
                Route("/cgi-bin/message/template/send", send, methods=["POST"]),
                Route("/pic.png", picture),
                Route("/cgi-bin/media/get", media),
                Route("/v/{name}", video),
            ]
        )


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def receiver() -> AsyncIterator[Receiver]:
    made = Receiver()
    server = uvicorn.Server(
        uvicorn.Config(made.app(), host="127.0.0.1", port=0, lifespan="off", log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 — uvicorn offers no event to wait on
        await asyncio.sleep(0.02)
    made.url = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    yield made
    server.should_exit = True
    await task


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def tokens(world: World, receiver: Receiver) -> dict[str, str]:
    found = {}
    for city in (world.alpha, world.beta):
        found[city.slug] = await keys.rotate_secret(actor=_admin(city), channel="wechat")
        await wechat.set_account(
            actor=_admin(city),
            app_id=f"wx-{city.slug}",
            app_secret="app-secret",
            template_id="progress-1",
            api_base=receiver.url,
        )
    return found


def _signed(token: str, *, at: int | None = None) -> dict[str, str]:
    stamp, nonce = str(at or int(time.time())), secrets.token_hex(4)
    signature = hashlib.sha1("".join(sorted([token, stamp, nonce])).encode()).hexdigest()  # noqa: S324
    return {"timestamp": stamp, "nonce": nonce, "signature": signature}


def _xml(kind: str, openid: str, msg_id: str, **fields: str) -> bytes:
    extra = "".join(f"<{k}><![CDATA[{v}]]></{k}>" for k, v in fields.items())
    return (
        f"<xml><ToUserName><![CDATA[gh_city]]></ToUserName>"
        f"<FromUserName><![CDATA[{openid}]]></FromUserName><CreateTime>{int(time.time())}"
        f"</CreateTime><MsgType><![CDATA[{kind}]]></MsgType>{extra}<MsgId>{msg_id}</MsgId></xml>"
    ).encode()


async def _post(world: World, city: City, body: bytes, params: dict[str, str]) -> httpx.Response:
    return await world.client.post(f"/channels/wechat/{city.slug}", params=params, content=body)


async def _count(city: City) -> tuple[int, int]:
    with use_scope(city.scope()):
        return await Ticket.all().count(), await InboundMessage.all().count()


async def test_the_server_check_echoes_only_when_signed(
    world: World, tokens: dict[str, str]
) -> None:
    alpha = world.alpha
    good = await world.client.get(
        f"/channels/wechat/{alpha.slug}", params={**_signed(tokens["alpha"]), "echostr": "e-1"}
    )
    assert (good.status_code, good.text) == (200, "e-1")
    bad = await world.client.get(
        f"/channels/wechat/{alpha.slug}", params={**_signed(tokens["beta"]), "echostr": "e-1"}
    )
    assert bad.status_code == 403


async def test_text_voice_and_location_become_tickets_once(
    world: World, tokens: dict[str, str]
) -> None:
    alpha = world.alpha
    text = _xml("text", "o-text", "1001", Content="经十路100号路灯不亮")
    response = await _post(world, alpha, text, _signed(tokens["alpha"]))
    assert (response.status_code, response.text) == (200, "success")
    before = await _count(alpha)
    again = await _post(world, alpha, text, _signed(tokens["alpha"]))  # WeChat's retry
    assert again.text == "success"
    assert await _count(alpha) == before
    voice = _xml("voice", "o-voice", "1002", Recognition="小区门口垃圾没人清理", MediaId="m")
    await _post(world, alpha, voice, _signed(tokens["alpha"]))
    place = _xml(
        "location",
        "o-place",
        "1003",
        Location_X="36.6612",
        Location_Y="117.0201",
        Scale="15",
        Label="泉城广场",
    )
    await _post(world, alpha, place, _signed(tokens["alpha"]))
    with use_scope(alpha.scope()):
        made = await Ticket.filter(channel=Channel.WECHAT).order_by("id")
    assert [t.content for t in made] == ["经十路100号路灯不亮", "小区门口垃圾没人清理", "泉城广场"]
    assert (str(made[2].lat), str(made[2].lng), made[2].address) == (
        "36.6612000",
        "117.0201000",
        "泉城广场",
    )


async def test_refusals_store_nothing(world: World, tokens: dict[str, str]) -> None:
    alpha = world.alpha
    before = await _count(alpha), await _count(world.beta)
    body = _xml("text", "o-x", "2001", Content="经十路1号井盖丢失")
    assert (await _post(world, alpha, body, _signed("wrong-token"))).status_code == 403
    assert (await _post(world, alpha, body, _signed(tokens["beta"]))).status_code == 403
    old = _signed(tokens["alpha"], at=int(time.time()) - 3600)
    assert (await _post(world, alpha, body, old)).status_code == 403
    not_xml = await _post(world, alpha, b"<xml><oops", _signed(tokens["alpha"]))
    assert not_xml.status_code == 400
    bomb = (
        b'<!DOCTYPE x [<!ENTITY a "aaaa">]><xml><MsgType>text</MsgType><Content>&a;</Content></xml>'
    )
    assert (await _post(world, alpha, bomb, _signed(tokens["alpha"]))).status_code == 400
    assert (await _count(alpha), await _count(world.beta)) == before


async def _media_rows(city: City, msg_id: str) -> list[OutboxMessage]:
    with use_scope(Scope.platform()):
        rows = await OutboxMessage.filter(kind=wechat_media.MEDIA_KIND, tenant_id=city.tenant.id)
    return [r for r in rows if r.payload["msg_id"] == msg_id]


async def test_a_picture_joins_the_senders_ticket_and_progress_goes_back(
    world: World, tokens: dict[str, str], receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    alpha = world.alpha
    monkeypatch.setenv("HOTLINE_WEBHOOK_ALLOW_PRIVATE", "true")  # the receiver is loopback
    reset_delivery_settings()
    try:
        await _post(
            world,
            alpha,
            _xml("text", "o-pic", "3001", Content="公园路5号树木倒伏"),
            _signed(tokens["alpha"]),
        )
        picture = _xml("image", "o-pic", "3002", PicUrl=f"{receiver.url}/pic.png", MediaId="m")
        fetched = receiver.media_calls
        assert (await _post(world, alpha, picture, _signed(tokens["alpha"]))).text == "success"
        assert receiver.media_calls == fetched  # answered at once: the file comes by a job
        assert (await _post(world, alpha, picture, _signed(tokens["alpha"]))).text == "success"
        [row] = await _media_rows(alpha, "3002")  # WeChat's retry queued nothing more
        with use_scope(alpha.scope()):
            ticket = await Ticket.filter(channel=Channel.WECHAT).order_by("-id").first()
            assert ticket is not None
            assert await Evidence.filter(ticket_id=ticket.id).count() == 0
            # two runs at once (a lease lost mid-run), then the job retried: one row
            await asyncio.gather(wechat_media.deliver_media(row), wechat_media.deliver_media(row))
            await wechat_media.deliver_media(row)
            evidence = await Evidence.filter(ticket_id=ticket.id)
            record = await InboundMessage.get(channel="wechat", external_id="3002")
        assert [e.content_type for e in evidence] == ["image/png"]
        assert record.evidence_id == evidence[0].id
        assert receiver.media_calls <= fetched + 2  # the concurrent pair may both fetch

        await dispatch_ticket(
            actor=_admin(alpha), ticket_id=ticket.id, lead_department_id=alpha.district.id
        )
        with use_scope(Scope.platform()):
            rows = await OutboxMessage.filter(kind="wechat", tenant_id=alpha.tenant.id)
        [progress] = [r for r in rows if r.payload["number"] == ticket.number]
        with use_scope(alpha.scope()):
            await wechat_api.deliver(progress)
            await wechat_api.deliver(progress)  # a redelivery: the receiver keeps one
    finally:
        monkeypatch.delenv("HOTLINE_WEBHOOK_ALLOW_PRIVATE")
        reset_delivery_settings()
    [sent] = [m for m in receiver.sent if m["data"]["number"]["value"] == ticket.number]
    assert sent["touser"] == "o-pic"
    assert sent["template_id"] == "progress-1"
    assert sent["data"]["progress"]["value"] == "已派至承办单位办理"


async def test_a_voice_becomes_a_ticket_and_its_recording_audio_evidence(
    world: World, tokens: dict[str, str], receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    alpha = world.alpha
    voice = _xml("voice", "o-voice-2", "3101", Recognition="楼道灯坏了好几天", MediaId="vm-1")
    assert (await _post(world, alpha, voice, _signed(tokens["alpha"]))).text == "success"
    [row] = await _media_rows(alpha, "3101")
    monkeypatch.setenv("HOTLINE_WEBHOOK_ALLOW_PRIVATE", "true")
    reset_delivery_settings()
    try:
        with use_scope(alpha.scope()):
            await wechat_media.deliver_media(row)
            record = await InboundMessage.get(channel="wechat", external_id="3101")
            assert record.ticket_id is not None
            ticket = await Ticket.get(id=record.ticket_id)
            [evidence] = await Evidence.filter(ticket_id=ticket.id)
    finally:
        monkeypatch.delenv("HOTLINE_WEBHOOK_ALLOW_PRIVATE")
        reset_delivery_settings()
    assert ticket.content == "楼道灯坏了好几天"
    assert (evidence.kind.value, evidence.content_type) == ("audio", "audio/amr")
    assert record.evidence_id == evidence.id


async def test_videos_and_short_videos_become_video_evidence(
    world: World, tokens: dict[str, str], receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A video and a short video join the sender's recent ticket (like a picture); one
    from a sender with none opens a ticket of its own. Each file comes through the
    media API's ``video_url``; the ``ThumbMediaId`` is never fetched (the evidence
    worker makes a video's thumbnail from the video)."""
    alpha = world.alpha
    await _post(
        world,
        alpha,
        _xml("text", "o-vid", "3201", Content="和平路9号违建"),
        _signed(tokens["alpha"]),
    )
    messages = [
        ("video", "o-vid", "3202", "video-1"),
        ("shortvideo", "o-vid", "3203", "video-2"),
        ("video", "o-vid-new", "3204", "video-3"),
    ]
    for kind, openid, msg_id, media_id in messages:
        body = _xml(kind, openid, msg_id, MediaId=media_id, ThumbMediaId=f"thumb-{msg_id}")
        assert (await _post(world, alpha, body, _signed(tokens["alpha"]))).text == "success"
    monkeypatch.setenv("HOTLINE_WEBHOOK_ALLOW_PRIVATE", "true")
    reset_delivery_settings()
    try:
        with use_scope(alpha.scope()):
            for _, _, msg_id, _ in messages:
                [row] = await _media_rows(alpha, msg_id)
                await wechat_media.deliver_media(row)
                await wechat_media.deliver_media(row)  # the job again: nothing more
            records = {
                r.external_id: r
                for r in await InboundMessage.filter(
                    external_id__in=["3201", "3202", "3203", "3204"]
                )
            }
            joined = await Evidence.filter(ticket_id=records["3201"].ticket_id).order_by("id")
            own = await Ticket.get(id=records["3204"].ticket_id)
            [alone] = await Evidence.filter(ticket_id=own.id)
    finally:
        monkeypatch.delenv("HOTLINE_WEBHOOK_ALLOW_PRIVATE")
        reset_delivery_settings()
    assert records["3202"].ticket_id == records["3203"].ticket_id == records["3201"].ticket_id
    assert [(e.kind.value, e.content_type) for e in joined] == [("video", "video/mp4")] * 2
    assert [records[m].evidence_id for m in ("3202", "3203")] == [e.id for e in joined]
    assert (own.content, alone.kind.value) == ("（视频）", "video")
    assert not [m for m in receiver.media_ids if m.startswith("thumb")]


async def test_a_video_past_the_policys_limit_is_refused(
    world: World, tokens: dict[str, str], receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The download stops at the city's evidence policy's limit for videos: a
    permanent failure (a dead letter), nothing stored."""
    alpha = world.alpha
    body = _xml("video", "o-vid-big", "3301", MediaId="video-big", ThumbMediaId="thumb-big")
    assert (await _post(world, alpha, body, _signed(tokens["alpha"]))).text == "success"
    [row] = await _media_rows(alpha, "3301")
    with use_scope(alpha.scope()):
        kept = await EvidencePolicy.get_or_none()
        await set_evidence_policy(
            actor=_admin(alpha),
            allowed_types=sorted(DEFAULT_POLICY.allowed_types),
            max_bytes={"video": 1000},
            retention_days=DEFAULT_POLICY.retention_days,
        )
    monkeypatch.setenv("HOTLINE_WEBHOOK_ALLOW_PRIVATE", "true")
    reset_delivery_settings()
    try:
        with use_scope(alpha.scope()):
            with pytest.raises(SendFailed, match="larger than 1000 bytes") as failed:
                await wechat_media.deliver_media(row)
            record = await InboundMessage.get(channel="wechat", external_id="3301")
            assert await Evidence.filter(ticket_id=record.ticket_id).count() == 0
    finally:
        monkeypatch.delenv("HOTLINE_WEBHOOK_ALLOW_PRIVATE")
        reset_delivery_settings()
        with use_scope(alpha.scope()):
            if kept is None:
                await EvidencePolicy.all().delete()
            else:
                await EvidencePolicy.filter(id=kept.id).update(max_bytes=kept.max_bytes)
    assert failed.value.permanent
    assert record.evidence_id is None


async def test_a_wrong_app_secret_fails_the_delivery(
    world: World, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    beta = world.beta
    await wechat.set_account(
        actor=_admin(beta),
        app_id="wx-beta-2",
        app_secret="nope",
        template_id="t",
        api_base=receiver.url,
    )
    row = OutboxMessage(
        kind="wechat",
        send_key="wechat-test",
        tenant_id=beta.tenant.id,
        payload={"to_enc": "", "number": "X", "progress": "p", "at": "now"},
    )
    monkeypatch.setenv("HOTLINE_WEBHOOK_ALLOW_PRIVATE", "true")
    reset_delivery_settings()
    try:
        with use_scope(beta.scope()), pytest.raises(SendFailed, match="40125"):
            await wechat_api.deliver(row)
    finally:
        monkeypatch.delenv("HOTLINE_WEBHOOK_ALLOW_PRIVATE")
        reset_delivery_settings()


async def test_each_city_takes_its_own_messages(world: World, tokens: dict[str, str]) -> None:
    for city in (world.alpha, world.beta):
        body = _xml("text", f"o-{city.slug}", f"9{city.tenant.id}", Content="幸福路8号路面积水")
        assert (await _post(world, city, body, _signed(tokens[city.slug]))).text == "success"
        with use_scope(city.scope()):
            made = await Ticket.filter(channel=Channel.WECHAT, content="幸福路8号路面积水")
        assert len(made) == 1


# --- the encrypted mode (安全模式) -------------------------------------------------------

AES_KEY = base64.b64encode(bytes(range(32))).decode().rstrip("=")  # an EncodingAESKey


@pytest_asyncio.fixture(loop_scope="session")
async def secure(world: World, tokens: dict[str, str], receiver: Receiver) -> AsyncIterator[str]:
    """Alpha's account in the encrypted mode for one test; plain again after it."""

    async def account(key: str) -> None:
        await wechat.set_account(
            actor=_admin(world.alpha),
            app_id="wx-alpha",
            app_secret="app-secret",
            template_id="progress-1",
            api_base=receiver.url,
            encoding_aes_key=key,
        )

    await account(AES_KEY)
    yield tokens["alpha"]
    await account("")


def _sealed(
    token: str, inner: bytes, *, at: int | None = None, app_id: str = "wx-alpha"
) -> tuple[bytes, dict[str, str]]:
    """What WeChat sends in the encrypted mode, written by wechatpy (another
    implementation than ours): the body and the query."""
    stamp, nonce = str(at or int(time.time())), secrets.token_hex(5)
    sealed = WeChatCrypto(token, AES_KEY, app_id).encrypt_message(inner.decode(), nonce, stamp)
    root = SafeXml.fromstring(sealed)
    encrypt, signature = root.findtext("Encrypt") or "", root.findtext("MsgSignature") or ""
    body = (
        f"<xml><ToUserName><![CDATA[gh_city]]></ToUserName>"
        f"<Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
    ).encode()
    plain = hashlib.sha1("".join(sorted([token, stamp, nonce])).encode()).hexdigest()  # noqa: S324
    query = {
        "timestamp": stamp,
        "nonce": nonce,
        "signature": plain,
        "encrypt_type": "aes",
        "msg_signature": signature,
    }
    return body, query


async def test_an_encrypted_message_becomes_a_ticket(world: World, secure: str) -> None:
    alpha = world.alpha
    body, query = _sealed(secure, _xml("text", "o-sealed", "5001", Content="和平路3号污水外溢"))
    response = await _post(world, alpha, body, query)
    assert (response.status_code, response.text) == (200, "success")
    with use_scope(alpha.scope()):
        made = await Ticket.filter(channel=Channel.WECHAT, content="和平路3号污水外溢")
    assert len(made) == 1
    before = await _count(alpha)
    again = await _post(world, alpha, body, query)  # WeChat's own retry: the same call
    assert again.text == "success"
    assert await _count(alpha) == before


async def test_encrypted_refusals_store_nothing(world: World, secure: str) -> None:
    alpha = world.alpha
    before = await _count(alpha)
    inner = _xml("text", "o-bad", "5101", Content="解放路9号井盖破损")

    body, query = _sealed(secure, inner)
    forged = await _post(world, alpha, body, {**query, "msg_signature": "0" * 40})
    assert forged.status_code == 403  # a bad msg_signature

    body, query = _sealed(secure, inner, at=int(time.time()) - 3600)
    assert (await _post(world, alpha, body, query)).status_code == 403  # an old timestamp

    body, query = _sealed(secure, inner, app_id="wx-someone-else")
    assert (await _post(world, alpha, body, query)).status_code == 403  # another account

    plain = await _post(world, alpha, inner, _signed(secure))
    assert plain.status_code == 403  # the encrypted mode takes no plain message

    # a replayed nonce: the captured query of a real message with another body
    body, query = _sealed(secure, _xml("text", "o-ok", "5102", Content="新华路2号路面塌陷"))
    assert (await _post(world, alpha, body, query)).text == "success"
    taken = await _count(alpha)
    other, _ = _sealed(secure, inner)
    assert (await _post(world, alpha, other, query)).status_code == 403
    assert await _count(alpha) == taken
    assert taken == (before[0] + 1, before[1] + 1)  # only the one real message


async def test_a_replayed_nonce_is_refused_in_the_plain_mode(
    world: World, tokens: dict[str, str]
) -> None:
    """The plain signature does not cover the body: a captured query with another body
    is refused by the nonce it reuses, and nothing is stored."""
    beta = world.beta
    query = _signed(tokens["beta"])
    first = _xml("text", "o-replay", "6001", Content="人民路1号路灯不亮")
    assert (await _post(world, beta, first, query)).text == "success"
    before = await _count(beta)
    forged = _xml("text", "o-replay", "6002", Content="人民路1号有人乱扔垃圾")
    assert (await _post(world, beta, forged, query)).status_code == 403
    assert await _count(beta) == before
    assert (await _post(world, beta, first, query)).text == "success"  # WeChat's retry
    assert await _count(beta) == before


async def test_an_encoding_aes_key_is_checked(world: World) -> None:
    with pytest.raises(Invalid):
        await wechat.set_account(
            actor=_admin(world.beta),
            app_id="wx-beta",
            app_secret="app-secret",
            template_id="progress-1",
            encoding_aes_key="too-short",
        )

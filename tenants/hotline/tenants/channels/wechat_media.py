"""The files of WeChat messages (docs/channels.md, "WeChat official account"): an image,
a voice, a video or a short video becomes evidence of its ticket, fetched after the
callback answered (WeChat waits 5 s, then retries) by the ``wechat_media`` outbox job
that the message's transaction wrote.

- image: ``PicUrl`` through the SSRF guard;
- voice: the account's ``/cgi-bin/media/get`` (the file itself);
- video, shortvideo: ``/cgi-bin/media/get``, which answers a video's address
  (``video_url``), fetched through the SSRF guard (or, from an API that answers the
  file itself, that file).

Each fetch stops at the city's evidence policy's limit for the kind, and the file then
passes the upload checks and must be of the kind its message says. ``ThumbMediaId`` (a
video's thumbnail WeChat made) is not fetched: the evidence worker derives a video's
thumbnail and poster frame from the checked video itself, as for every uploaded video,
so WeChat's would be a second API call and an object no evidence row has a place for.
"""

from __future__ import annotations

from tortoise.backends.base.client import BaseDBAsyncClient

from hotline.platform import outbox
from hotline.platform.senders.errors import SendFailed
from hotline.tenants.channels import media, wechat_api
from hotline.tenants.channels.models import InboundMessage
from hotline.tenants.evidence.models import Kind as EvidenceKind
from hotline.tenants.evidence.policy import current_policy
from hotline.tenants.evidence.received import Received, attach_once, check_received
from hotline.tenants.kernel.errors import Invalid
from hotline.tenants.tickets.models import Channel

MEDIA_KIND = "wechat_media"
# The message kinds whose file becomes evidence, and the evidence kind it must be.
KINDS = {
    "image": EvidenceKind.PHOTO,
    "voice": EvidenceKind.AUDIO,
    "video": EvidenceKind.VIDEO,
    "shortvideo": EvidenceKind.VIDEO,
}
_EXTENSIONS = {"voice": ".amr", "video": ".mp4", "shortvideo": ".mp4"}


def media_row(
    *, tenant_id: int, province_id: int, msg_id: str, kind: str, pic_url: str, media_id: str
) -> outbox.NewMessage | None:
    """The job that fetches a message's file after the answer: written in the message's
    transaction, so it is never lost, and keyed by the message, so a retry adds none."""
    if kind not in KINDS or not (pic_url or media_id):
        return None
    return outbox.NewMessage(
        kind=MEDIA_KIND,
        tenant_id=tenant_id,
        province_id=province_id,
        payload={"msg_id": msg_id, "kind": kind, "pic_url": pic_url, "media_id": media_id},
        send_key=f"wechat-media-{tenant_id}-{msg_id}"[:160],
    )


async def _fetch(kind: str, pic_url: str, media_id: str, max_bytes: int) -> Received:
    if kind == "image" and pic_url:
        return await media.fetch_media(pic_url, field="PicUrl", max_bytes=max_bytes)
    account = await wechat_api.account()
    got = await wechat_api.media_get(account, media_id, max_bytes=max_bytes)
    if got.video_url:
        return await media.fetch_media(got.video_url, field="MediaId", max_bytes=max_bytes)
    return await check_received(
        file_name=f"{media_id[:60]}{_EXTENSIONS.get(kind, '')}",
        content_type=got.content_type,
        data=got.data,
        field="MediaId",
    )


async def deliver_media(message: outbox.OutboxMessage) -> None:
    """The outbox handler of ``wechat_media`` rows, in the row's city: fetch the file,
    then put the object and — under the message record's lock — write the evidence row
    and mark the record with it. A retried job finds the mark and adds nothing; a job
    that died before the mark fetches again (its object, if any, is never named by a
    row). A refused file (too large, not allowed, not of its message's kind) is a
    permanent failure: a dead letter, logged."""
    p = message.payload
    inbound = await InboundMessage.get_or_none(
        channel=Channel.WECHAT.value, external_id=p["msg_id"]
    )
    if inbound is None or inbound.ticket_id is None:
        raise SendFailed("the WeChat message is not recorded", permanent=True)
    if inbound.evidence_id is not None:
        return
    expected = KINDS.get(p["kind"])
    if expected is None:
        raise SendFailed(f"a WeChat {p['kind']} message has no file we take", permanent=True)
    limit = (await current_policy()).limit(expected)
    try:
        received = await _fetch(p["kind"], p.get("pic_url", ""), p.get("media_id", ""), limit)
    except media.MediaUnavailable as exc:  # unreachable or 5xx/429 for now: retried
        raise SendFailed(exc.message) from exc
    except Invalid as exc:  # refused by the checks: trying again changes nothing
        raise SendFailed(exc.message, permanent=True) from exc
    if received.kind is not expected:
        raise SendFailed(
            f"the {p['kind']} message's file is {received.content_type}", permanent=True
        )

    async def claim(conn: BaseDBAsyncClient) -> int | None:
        row = await InboundMessage.select_for_update().using_db(conn).get(id=inbound.id)
        return row.ticket_id if row.evidence_id is None else None

    async def mark(conn: BaseDBAsyncClient, evidence_id: int) -> None:
        await InboundMessage.filter(id=inbound.id).using_db(conn).update(evidence_id=evidence_id)

    await attach_once(received, claim=claim, mark=mark)

"""Processing in a worker: thumbnails, poster frames, EXIF time/GPS and the distance to
the ticket, and metadata-free copies for publication."""

from __future__ import annotations

import asyncio
import tempfile
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from PIL import UnidentifiedImageError

from hotline.platform import clock, jobs, storage
from hotline.platform.media import images, video
from hotline.platform.tenancy import current_tenant_id
from hotline.tenants.evidence.access import access_evidence
from hotline.tenants.evidence.models import (
    Evidence,
    EvidenceStatus,
    Kind,
    Purpose,
)
from hotline.tenants.evidence.policy import job_id
from hotline.tenants.kernel.access import Action, Actor, require
from hotline.tenants.kernel.errors import Invalid
from hotline.tenants.provinces.models import Tenant
from hotline.tenants.tickets.geo import haversine_m
from hotline.tenants.tickets.models import Ticket

PROCESS_TASK = "process_evidence"


def _decimal(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(str(round(value, 7)))


async def _distance_m(ticket_id: int, lat: float | None, lng: float | None) -> float | None:
    if lat is None or lng is None:
        return None
    ticket = await Ticket.get(id=ticket_id)
    if ticket.lat is None or ticket.lng is None:
        return None
    return round(haversine_m(float(ticket.lng), float(ticket.lat), lng, lat), 1)


async def _aware(moment: datetime | None) -> datetime | None:
    """EXIF times without an offset are the camera's local time: read it in the city's zone."""
    if moment is None or moment.tzinfo is not None:
        return moment
    tenant = await Tenant.get(id=current_tenant_id())  # the city catalog is global
    return moment.replace(tzinfo=ZoneInfo(tenant.timezone))


async def _put_jpeg(data: bytes) -> str:
    key = storage.tenant_key("evidence")
    await storage.put(key, data, content_type="image/jpeg")
    return key


async def _derive(evidence: Evidence, source: Path) -> dict[str, Any]:
    """Thumbnail, poster frame, size, duration, capture time and place."""
    if evidence.kind is Kind.PHOTO:
        info = await asyncio.to_thread(images.inspect_image, source)
        thumb = await asyncio.to_thread(images.thumbnail, source)
        return {
            "width": info.width,
            "height": info.height,
            "thumbnail_key": await _put_jpeg(thumb),
            "taken_at": await _aware(info.exif.taken_at),
            "gps_lat": _decimal(info.exif.lat),
            "gps_lng": _decimal(info.exif.lng),
            "distance_m": await _distance_m(evidence.ticket_id, info.exif.lat, info.exif.lng),
        }
    av_info = await asyncio.to_thread(video.probe, source)
    values: dict[str, Any] = {
        "duration_ms": (
            round(av_info.duration_seconds * 1000) if av_info.duration_seconds is not None else None
        ),
        "width": av_info.width,
        "height": av_info.height,
        "gps_lat": _decimal(av_info.lat),
        "gps_lng": _decimal(av_info.lng),
        "distance_m": await _distance_m(evidence.ticket_id, av_info.lat, av_info.lng),
    }
    if av_info.poster is not None:
        frame = av_info.poster
        poster = await asyncio.to_thread(images.poster_thumbnail, frame, side=video.POSTER_SIDE)
        thumb = await asyncio.to_thread(images.poster_thumbnail, frame)
        values["poster_key"] = await _put_jpeg(poster)
        values["thumbnail_key"] = await _put_jpeg(thumb)
    return values


async def _public_copy(evidence: Evidence, source: Path, workdir: Path) -> dict[str, Any]:
    """A copy with no EXIF/GPS/container metadata, for citizens and publication."""
    key = storage.tenant_key("evidence")
    if evidence.kind is Kind.PHOTO:
        data, mime = await asyncio.to_thread(images.stripped_copy, source)
        await storage.put(key, data, content_type=mime)
        return {"public_key": key, "public_type": mime}
    mime = evidence.content_type or evidence.declared_type
    muxer = video.MUXERS.get(mime)
    if muxer is None:
        return {"processing_error": f"no metadata-free copy can be written for {mime}"}
    target = workdir / "public"
    await asyncio.to_thread(video.strip_metadata, source, target, muxer=muxer)
    await storage.upload_file(key, target, content_type=mime)
    return {"public_key": key, "public_type": mime}


async def process_evidence(*, evidence_id: int) -> bool:
    """Worker: derive what is missing (idempotent); True when something was written."""
    evidence = await Evidence.get_or_none(id=evidence_id)
    if (
        evidence is None
        or evidence.status is not EvidenceStatus.VERIFIED
        or evidence.object_key is None
    ):
        return False
    derive = evidence.processed_at is None
    public = evidence.public_key is None and (
        evidence.published or evidence.purpose is Purpose.CITIZEN
    )
    if not (derive or public):
        return False
    values: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="hotline-evidence-") as tmp:
        source = Path(tmp) / "original"
        if not await storage.download(evidence.object_key, source):
            return False
        try:
            if derive:
                values.update(await _derive(evidence, source))
            if public:
                values.update(await _public_copy(evidence, source, Path(tmp)))
        except (OSError, UnidentifiedImageError, video.MediaError) as exc:
            # The bytes passed the signature check but do not decode: keep the file, say why.
            values["processing_error"] = str(exc)[:300]
    if derive:
        values["processed_at"] = clock.now()
    await Evidence.filter(id=evidence.id).update(**values)
    return True


async def publish_evidence(*, actor: Actor, evidence_id: int) -> Evidence:
    """Show the evidence to the citizen/public: as a copy without EXIF/GPS (worker writes it)."""
    require(actor, Action.EVIDENCE_PUBLISH)
    evidence = await access_evidence(actor=actor, evidence_id=evidence_id)
    if evidence.status is not EvidenceStatus.VERIFIED:
        raise Invalid("only verified evidence can be published", field="evidenceId")
    if not evidence.published:
        await Evidence.filter(id=evidence.id).update(
            published=True, published_at=clock.now(), published_by_id=actor.user_id
        )
        await jobs.enqueue(
            PROCESS_TASK,
            tenant_id=evidence.tenant_id,
            job_id=job_id("publish", evidence.id),
            evidence_id=evidence.id,
        )
    return await Evidence.get(id=evidence.id)

"""Reading: evidence lists and short-lived presigned download links, each recorded."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.expressions import Q

from hotline.platform import clock, storage
from hotline.tenants.evidence import rules
from hotline.tenants.evidence.access import (
    CitizenProof,
    access_evidence,
    access_ticket,
    citizen_ticket,
    citizen_visible,
)
from hotline.tenants.evidence.models import (
    Evidence,
    EvidenceDownload,
    EvidenceStatus,
    Purpose,
    Variant,
)
from hotline.tenants.kernel.access import Actor
from hotline.tenants.kernel.errors import Conflict, NotFound


@dataclass(frozen=True)
class DownloadLink:
    url: str
    expires_at: datetime
    variant: Variant


async def list_ticket_evidence(*, actor: Actor, ticket_id: int) -> list[Evidence]:
    ticket = await access_ticket(actor=actor, ticket_id=ticket_id)
    return (
        await Evidence.filter(ticket_id=ticket.id)
        .exclude(status=EvidenceStatus.ABANDONED)
        .order_by("id")
    )


async def list_citizen_evidence(*, citizen: CitizenProof) -> list[Evidence]:
    """What the citizen sees: their own uploads and published evidence, once verified."""
    ticket = await citizen_ticket(citizen)
    return (
        await Evidence.filter(ticket_id=ticket.id, status=EvidenceStatus.VERIFIED)
        .filter(Q(purpose=Purpose.CITIZEN) | Q(published=True))
        .order_by("id")
    )


def _variant_key(evidence: Evidence, variant: Variant) -> str:
    if evidence.status is not EvidenceStatus.VERIFIED:
        raise Conflict("the evidence is {status}", field="evidenceId", status=evidence.status.value)
    key = {
        Variant.ORIGINAL: evidence.object_key,
        Variant.THUMBNAIL: evidence.thumbnail_key,
        Variant.POSTER: evidence.poster_key,
        Variant.PUBLIC: evidence.public_key,
    }[variant]
    if key is None:
        raise Conflict("no {variant} copy (yet)", field="variant", variant=variant.value)
    return key


async def _link(
    evidence: Evidence, variant: Variant, *, key: str, record: dict[str, Any]
) -> DownloadLink:
    await EvidenceDownload.create(evidence_id=evidence.id, variant=variant, **record)
    expires_at = clock.now() + rules.DOWNLOAD_LINK_TTL
    file_name = evidence.file_name if variant is Variant.ORIGINAL else None
    url = await storage.presigned_get(key, expires=rules.DOWNLOAD_LINK_TTL, file_name=file_name)
    return DownloadLink(url=url, expires_at=expires_at, variant=variant)


async def download_link(
    *, actor: Actor, evidence_id: int, variant: Variant = Variant.ORIGINAL, ip: str | None = None
) -> DownloadLink:
    """A presigned GET valid ≤ 5 minutes, after the access check; every link is recorded."""
    evidence = await access_evidence(actor=actor, evidence_id=evidence_id)
    key = _variant_key(evidence, variant)
    return await _link(
        evidence,
        variant,
        key=key,
        record={"user_id": actor.user_id, "api_key_id": actor.api_key_id, "ip": ip},
    )


async def citizen_download_link(
    *,
    citizen: CitizenProof,
    evidence_id: int,
    variant: Variant = Variant.PUBLIC,
    ip: str | None = None,
) -> DownloadLink:
    """Citizens get the stripped copy (or the thumbnail), never the original."""
    ticket = await citizen_ticket(citizen)
    evidence = await Evidence.get_or_none(id=evidence_id, ticket_id=ticket.id)
    if (
        evidence is None
        or not citizen_visible(evidence)
        or variant not in (Variant.PUBLIC, Variant.THUMBNAIL)
    ):
        raise NotFound("evidence", field="evidenceId")
    key = _variant_key(evidence, variant)
    return await _link(evidence, variant, key=key, record={"ip": ip})

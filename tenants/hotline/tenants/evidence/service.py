"""The evidence store: the only writer of evidence rows, and the access checks for them.

The API hands out presigned POST links and never streams a body; ``finalize_*`` checks
what arrived (size, magic bytes) at once; the worker hashes it (``verify_evidence``) and
derives thumbnails, poster frames, EXIF data and metadata-free copies
(``process_evidence``). Object-store calls happen outside database transactions.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from PIL import UnidentifiedImageError
from tortoise.expressions import Q, Subquery

from hotline.platform import jobs, ratelimit, storage
from hotline.platform.crypto import keyed_hash
from hotline.platform.media import images, video
from hotline.platform.media.digest import object_sha256
from hotline.platform.media.sniff import HEAD_BYTES, sniff
from hotline.platform.tenancy import Scope, current_tenant_id, use_scope
from hotline.tenants.access import Action, Actor, allowed, require
from hotline.tenants.accounts.audit import record_audit
from hotline.tenants.departments.models import Department
from hotline.tenants.errors import Conflict, Invalid, NotFound, RateLimited
from hotline.tenants.evidence import rules
from hotline.tenants.evidence.errors import (
    AlreadyFinalized,
    SizeMismatch,
    TypeRefused,
    UploadMissing,
)
from hotline.tenants.evidence.models import (
    Evidence,
    EvidenceDownload,
    EvidencePolicy,
    EvidenceStatus,
    Kind,
    Purpose,
    RejectReason,
    Variant,
)
from hotline.tenants.provinces.models import Tenant
from hotline.tenants.tickets.citizen import proven_ticket
from hotline.tenants.tickets.geo import haversine_m
from hotline.tenants.tickets.models import Assignment, Ticket

VERIFY_TASK = "verify_evidence"
PROCESS_TASK = "process_evidence"
_BATCH = 200


@dataclass(frozen=True)
class CitizenProof:
    """A citizen has no login: the ticket number and its query code stand for one."""

    number: str
    query_code: str


@dataclass(frozen=True)
class Upload:
    evidence: Evidence
    post: storage.PresignedPost


@dataclass(frozen=True)
class DownloadLink:
    url: str
    expires_at: datetime
    variant: Variant


def _now() -> datetime:
    return datetime.now(UTC)


def _job_id(step: str, evidence_id: int) -> str:
    return f"evidence:{evidence_id}:{step}"


# --- the city's policy -------------------------------------------------------------


async def current_policy() -> rules.Policy:
    row = await EvidencePolicy.get_or_none()
    if row is None:
        return rules.DEFAULT_POLICY
    return rules.policy_from(row.allowed_types, row.max_bytes, row.retention_days)


async def evidence_policy(*, actor: Actor) -> rules.Policy:
    require(actor, Action.EVIDENCE_READ)
    return await current_policy()


async def set_evidence_policy(
    *,
    actor: Actor,
    allowed_types: list[str],
    max_bytes: dict[str, int],
    retention_days: int,
) -> rules.Policy:
    require(actor, Action.EVIDENCE_POLICY_MANAGE)
    policy = rules.policy_from(allowed_types, max_bytes, retention_days)
    values: dict[str, Any] = {
        "allowed_types": sorted(policy.allowed_types),
        "max_bytes": {k.value: v for k, v in policy.max_bytes.items()},
        "retention_days": policy.retention_days,
        "updated_by_id": actor.user_id,
    }
    await EvidencePolicy.update_or_create(defaults=values, tenant_id=current_tenant_id())
    await record_audit(
        actor_id=actor.user_id,
        action="evidence.policy",
        detail=values,
        tenant_id=current_tenant_id(),
        province_id=actor.province_id,
    )
    return policy


# --- who may see what ---------------------------------------------------------------


async def _assigned_paths(ticket_id: int) -> list[str]:
    department_ids = await Assignment.filter(ticket_id=ticket_id).values_list(
        "department_id", flat=True
    )
    if not department_ids:
        return []
    paths = await Department.filter(id__in=list(department_ids)).values_list("path", flat=True)
    return [str(p) for p in paths]


async def _may_see_ticket(actor: Actor, ticket_id: int) -> bool:
    if not allowed(actor, Action.EVIDENCE_READ):
        return False
    if allowed(actor, Action.EVIDENCE_READ_ANY):
        return True
    return rules.department_may_see(actor.department_ids, await _assigned_paths(ticket_id))


async def access_ticket(*, actor: Actor, ticket_id: int) -> Ticket:
    """The ticket when the actor may see its evidence; NotFound otherwise (never "not yours")."""
    ticket = await Ticket.get_or_none(id=ticket_id)
    if ticket is None or not await _may_see_ticket(actor, ticket.id):
        raise NotFound("ticket", field="ticketId")
    return ticket


async def access_evidence(*, actor: Actor, evidence_id: int) -> Evidence:
    evidence = await Evidence.get_or_none(id=evidence_id)
    if evidence is None or not await _may_see_ticket(actor, evidence.ticket_id):
        raise NotFound("evidence", field="evidenceId")
    return evidence


async def visible_evidence(*, actor: Actor, evidence_ids: list[int]) -> list[Evidence | None]:
    """Evidence rows by id, in order; None for those missing or out of the actor's reach."""
    rows = {row.id: row for row in await Evidence.filter(id__in=evidence_ids)}
    visible: dict[int, bool] = {}
    for ticket_id in {row.ticket_id for row in rows.values()}:
        visible[ticket_id] = await _may_see_ticket(actor, ticket_id)
    found = [rows.get(i) for i in evidence_ids]
    return [row if row is not None and visible[row.ticket_id] else None for row in found]


async def _citizen_ticket(citizen: CitizenProof) -> Ticket:
    number = citizen.number.strip().upper()
    if not await ratelimit.hit(
        f"evidence-citizen:{current_tenant_id()}:{keyed_hash(number, 'evidence-citizen')}",
        limit=rules.CITIZEN_CALLS_PER_MINUTE,
        window_seconds=60,
    ):
        raise RateLimited("too many requests for this ticket, try again in a minute")
    return await proven_ticket(
        tenant_id=current_tenant_id(), number=number, query_code=citizen.query_code
    )


def _citizen_visible(evidence: Evidence) -> bool:
    return evidence.purpose is Purpose.CITIZEN or evidence.published


# --- upload -------------------------------------------------------------------------


async def _create_upload(
    *,
    ticket: Ticket,
    purpose: Purpose,
    assignment_id: int | None,
    uploaded_by: Actor | None,
    file_name: str,
    content_type: str,
    size: int,
    sha256: str,
) -> Upload:
    if ticket.status not in rules.OPEN_TICKET_STATUSES:
        raise Invalid("the ticket is no longer open for evidence", field="ticketId")
    kind, mime = rules.check_upload_request(
        await current_policy(),
        file_name=file_name,
        content_type=content_type,
        size=size,
        sha256=sha256,
    )
    key = storage.tenant_key("evidence")
    evidence = await Evidence.create(
        ticket_id=ticket.id,
        assignment_id=assignment_id,
        purpose=purpose,
        kind=kind,
        file_name=file_name.strip(),
        declared_type=mime,
        size=size,
        sha256=sha256.lower(),
        object_key=key,
        uploaded_by_id=uploaded_by.user_id if uploaded_by else None,
        uploaded_by_api_key_id=uploaded_by.api_key_id if uploaded_by else None,
        upload_expires_at=_now() + rules.UPLOAD_LINK_TTL,
    )
    post = await storage.presigned_post(
        key, content_type=mime, min_size=size, max_size=size, expires=rules.UPLOAD_LINK_TTL
    )
    return Upload(evidence=evidence, post=post)


async def request_upload(
    *,
    actor: Actor,
    ticket_id: int,
    file_name: str,
    content_type: str,
    size: int,
    sha256: str,
    purpose: Purpose | None = None,
    assignment_id: int | None = None,
) -> Upload:
    """A presigned POST for the center (intake) or a department (handling, with its assignment)."""
    require(actor, Action.EVIDENCE_UPLOAD)
    ticket = await access_ticket(actor=actor, ticket_id=ticket_id)
    purpose = purpose or (Purpose.HANDLING if assignment_id is not None else Purpose.INTAKE)
    if purpose is Purpose.CITIZEN:
        raise Invalid("citizen evidence is sent by the citizen", field="purpose")
    if purpose is Purpose.INTAKE:
        if assignment_id is not None:
            raise Invalid("intake evidence belongs to no assignment", field="assignmentId")
        if not allowed(actor, Action.EVIDENCE_READ_ANY):
            raise NotFound("ticket", field="ticketId")
    else:
        if assignment_id is None:
            raise Invalid("handling evidence names its assignment", field="assignmentId")
        assignment = await Assignment.get_or_none(id=assignment_id, ticket_id=ticket.id)
        if assignment is None:
            raise NotFound("assignment", field="assignmentId")
        department = await Department.get(id=assignment.department_id)
        # Proof of handling is the department's own (or its parent's): a center role held
        # beside a department role does not let it attach proof for other departments.
        if not rules.department_may_see(actor.department_ids, [department.path]):
            raise NotFound("assignment", field="assignmentId")
    return await _create_upload(
        ticket=ticket,
        purpose=purpose,
        assignment_id=assignment_id,
        uploaded_by=actor,
        file_name=file_name,
        content_type=content_type,
        size=size,
        sha256=sha256,
    )


async def request_citizen_upload(
    *, citizen: CitizenProof, file_name: str, content_type: str, size: int, sha256: str
) -> Upload:
    ticket = await _citizen_ticket(citizen)
    return await _create_upload(
        ticket=ticket,
        purpose=Purpose.CITIZEN,
        assignment_id=None,
        uploaded_by=None,
        file_name=file_name,
        content_type=content_type,
        size=size,
        sha256=sha256,
    )


# --- finalize and verify ------------------------------------------------------------


async def _reject(evidence: Evidence, reason: RejectReason, detail: str) -> None:
    """Delete what was stored and mark the evidence rejected (kept as a record)."""
    await storage.delete(*evidence.stored_keys())
    await Evidence.filter(
        id=evidence.id, status__in=[EvidenceStatus.PENDING, EvidenceStatus.VERIFYING]
    ).update(
        status=EvidenceStatus.REJECTED,
        reject_reason=reason,
        reject_detail=detail[:300],
        object_key=None,
        thumbnail_key=None,
        poster_key=None,
        public_key=None,
    )


async def _finalize(evidence: Evidence) -> Evidence:
    if evidence.status is not EvidenceStatus.PENDING or evidence.object_key is None:
        raise AlreadyFinalized()
    key = evidence.object_key
    info = await storage.stat(key)
    if info is None:
        raise UploadMissing()  # still pending: the client may upload and finalize again
    if info.size != evidence.size:
        error = SizeMismatch(evidence.size, info.size)
        await _reject(evidence, RejectReason.SIZE_MISMATCH, error.message)
        raise error
    sniffed = sniff(await storage.read_range(key, length=HEAD_BYTES) or b"")
    problem = rules.sniffed_type_problem(
        await current_policy(),
        declared_kind=evidence.kind,
        sniffed=sniffed.mime if sniffed else None,
    )
    if problem is not None or sniffed is None:
        type_error = TypeRefused(problem or "unknown type")
        await _reject(evidence, RejectReason.TYPE_NOT_ALLOWED, type_error.message)
        raise type_error
    changed = await Evidence.filter(id=evidence.id, status=EvidenceStatus.PENDING).update(
        status=EvidenceStatus.VERIFYING, content_type=sniffed.mime, finalized_at=_now()
    )
    if not changed:
        raise AlreadyFinalized()
    await jobs.enqueue(
        VERIFY_TASK,
        tenant_id=evidence.tenant_id,
        job_id=_job_id("verify", evidence.id),
        evidence_id=evidence.id,
    )
    return await Evidence.get(id=evidence.id)


async def finalize_evidence(*, actor: Actor, evidence_id: int) -> Evidence:
    """Check the upload now (exists, size, real type); the worker then checks its sha256."""
    evidence = await access_evidence(actor=actor, evidence_id=evidence_id)
    uploader = (evidence.uploaded_by_id, evidence.uploaded_by_api_key_id)
    if uploader == (None, None) or uploader != (actor.user_id, actor.api_key_id):
        raise NotFound("evidence", field="evidenceId")
    return await _finalize(evidence)


async def finalize_citizen_evidence(*, citizen: CitizenProof, evidence_id: int) -> Evidence:
    ticket = await _citizen_ticket(citizen)
    evidence = await Evidence.get_or_none(
        id=evidence_id, ticket_id=ticket.id, purpose=Purpose.CITIZEN
    )
    if evidence is None:
        raise NotFound("evidence", field="evidenceId")
    return await _finalize(evidence)


async def verify_evidence(*, evidence_id: int) -> EvidenceStatus | None:
    """Worker: stream the object's sha256; verified → processing, else deleted and rejected."""
    evidence = await Evidence.get_or_none(id=evidence_id)
    if evidence is None:
        return None
    if evidence.status is not EvidenceStatus.VERIFYING or evidence.object_key is None:
        return evidence.status
    digest = await object_sha256(evidence.object_key)
    if digest is None:
        await _reject(evidence, RejectReason.UPLOAD_MISSING, "the upload disappeared")
    elif digest != evidence.sha256:
        await _reject(
            evidence,
            RejectReason.HASH_MISMATCH,
            f"the file's sha256 is {digest}, not the declared {evidence.sha256}",
        )
    else:
        await Evidence.filter(id=evidence.id, status=EvidenceStatus.VERIFYING).update(
            status=EvidenceStatus.VERIFIED, verified_at=_now()
        )
        await jobs.enqueue(
            PROCESS_TASK,
            tenant_id=evidence.tenant_id,
            job_id=_job_id("process", evidence.id),
            evidence_id=evidence.id,
        )
    return (await Evidence.get(id=evidence.id)).status


# --- processing ---------------------------------------------------------------------


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
        values["processed_at"] = _now()
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
            published=True, published_at=_now(), published_by_id=actor.user_id
        )
        await jobs.enqueue(
            PROCESS_TASK,
            tenant_id=evidence.tenant_id,
            job_id=_job_id("publish", evidence.id),
            evidence_id=evidence.id,
        )
    return await Evidence.get(id=evidence.id)


# --- reading ------------------------------------------------------------------------


async def list_ticket_evidence(*, actor: Actor, ticket_id: int) -> list[Evidence]:
    ticket = await access_ticket(actor=actor, ticket_id=ticket_id)
    return (
        await Evidence.filter(ticket_id=ticket.id)
        .exclude(status=EvidenceStatus.ABANDONED)
        .order_by("id")
    )


async def list_citizen_evidence(*, citizen: CitizenProof) -> list[Evidence]:
    """What the citizen sees: their own uploads and published evidence, once verified."""
    ticket = await _citizen_ticket(citizen)
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
    expires_at = _now() + rules.DOWNLOAD_LINK_TTL
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
    ticket = await _citizen_ticket(citizen)
    evidence = await Evidence.get_or_none(id=evidence_id, ticket_id=ticket.id)
    if (
        evidence is None
        or not _citizen_visible(evidence)
        or variant not in (Variant.PUBLIC, Variant.THUMBNAIL)
    ):
        raise NotFound("evidence", field="evidenceId")
    key = _variant_key(evidence, variant)
    return await _link(evidence, variant, key=key, record={"ip": ip})


# --- sweeps -------------------------------------------------------------------------


async def sweep_unfinalized(*, now: datetime | None = None) -> int:
    """In the current city: delete uploads never finalized; re-enqueue lost verifications
    and lost copy jobs of published evidence (publishing enqueues after its update)."""
    now = now or _now()
    swept = 0
    while rows := await Evidence.filter(
        status=EvidenceStatus.PENDING, upload_expires_at__lt=now - rules.UNFINALIZED_AFTER
    ).limit(_BATCH):
        await storage.delete(*[k for row in rows for k in row.stored_keys()])
        swept += await Evidence.filter(
            id__in=[r.id for r in rows], status=EvidenceStatus.PENDING
        ).update(status=EvidenceStatus.ABANDONED, object_key=None)
    stale = await Evidence.filter(
        status=EvidenceStatus.VERIFYING, finalized_at__lt=now - rules.VERIFY_STALE_AFTER
    ).only("id", "tenant_id")
    for row in stale:
        await jobs.enqueue(
            VERIFY_TASK,
            tenant_id=row.tenant_id,
            job_id=_job_id("verify", row.id),
            evidence_id=row.id,
        )
    uncopied = await Evidence.filter(
        status=EvidenceStatus.VERIFIED,
        published=True,
        public_key=None,
        published_at__lt=now - rules.VERIFY_STALE_AFTER,
    ).only("id", "tenant_id")
    for row in uncopied:
        await jobs.enqueue(
            PROCESS_TASK,
            tenant_id=row.tenant_id,
            job_id=_job_id(f"publish-{now:%Y%m%d%H}", row.id),
            evidence_id=row.id,
        )
    return swept


async def apply_retention(*, now: datetime | None = None) -> int:
    """In the current city: remove the objects of evidence whose ticket closed longer ago
    than the city's retention; the rows stay, as `expired`. Open tickets are never touched."""
    now = now or _now()
    policy = await current_policy()
    cutoff = rules.retention_cutoff(now, policy.retention_days)
    expired = 0
    while True:
        ticket_ids = Subquery(
            Ticket.filter(closed_at__lt=cutoff)
            .exclude(status__in=list(rules.OPEN_TICKET_STATUSES))
            .values("id")
        )
        rows = await Evidence.filter(
            status=EvidenceStatus.VERIFIED, ticket_id__in=ticket_ids
        ).limit(_BATCH)
        if not rows:
            return expired
        await storage.delete(*[k for row in rows for k in row.stored_keys()])
        expired += await Evidence.filter(id__in=[r.id for r in rows]).update(
            status=EvidenceStatus.EXPIRED,
            expired_at=now,
            object_key=None,
            thumbnail_key=None,
            poster_key=None,
            public_key=None,
        )


async def _in_every_city(step: Callable[[], Awaitable[int]]) -> int:
    with use_scope(Scope.platform()):
        cities = await Tenant.all()
    total = 0
    for city in cities:
        with use_scope(Scope.city(city.id, city.province_id)):
            total += await step()
    return total


async def sweep_unfinalized_everywhere() -> int:
    return await _in_every_city(sweep_unfinalized)


async def apply_retention_everywhere() -> int:
    return await _in_every_city(apply_retention)

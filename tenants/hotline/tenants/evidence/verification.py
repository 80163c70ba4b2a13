"""Finalize and verify: ``finalize_*`` checks what arrived at once (existence, size,
magic bytes) and marks it ``verifying``; a worker streams its sha256 and marks it
``verified``, or deletes it as ``rejected``. Object-store calls run outside transactions."""

from __future__ import annotations

from hotline.platform import clock, jobs, storage
from hotline.platform.media.digest import object_sha256
from hotline.platform.media.sniff import HEAD_BYTES, sniff
from hotline.tenants.evidence import rules
from hotline.tenants.evidence.access import CitizenProof, access_evidence, citizen_ticket
from hotline.tenants.evidence.errors import (
    AlreadyFinalized,
    SizeMismatch,
    TypeRefused,
    UploadMissing,
)
from hotline.tenants.evidence.models import (
    Evidence,
    EvidenceStatus,
    Purpose,
    RejectReason,
)
from hotline.tenants.evidence.policy import current_policy, job_id
from hotline.tenants.evidence.processing import PROCESS_TASK
from hotline.tenants.kernel.access import Actor
from hotline.tenants.kernel.errors import NotFound

VERIFY_TASK = "verify_evidence"


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
        status=EvidenceStatus.VERIFYING, content_type=sniffed.mime, finalized_at=clock.now()
    )
    if not changed:
        raise AlreadyFinalized()
    await jobs.enqueue(
        VERIFY_TASK,
        tenant_id=evidence.tenant_id,
        job_id=job_id("verify", evidence.id),
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
    ticket = await citizen_ticket(citizen)
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
            status=EvidenceStatus.VERIFIED, verified_at=clock.now()
        )
        await jobs.enqueue(
            PROCESS_TASK,
            tenant_id=evidence.tenant_id,
            job_id=job_id("process", evidence.id),
            evidence_id=evidence.id,
        )
    return (await Evidence.get(id=evidence.id)).status

"""Attachments on business requests (docs/business.md, "Attachments"): files in the
existing evidence store, on the request's ticket, with the same checks as ticket
evidence (the city's types and sizes, presigned upload, finalize, sha256 verification,
recorded links). Who may touch them is the business request's wall: an enterprise user
only its own enterprise's requests (and there its own uploads and what was published),
the manager and the city's staff every file of the requests they see."""

from __future__ import annotations

from hotline.tenants.business.access import city_scope, own_enterprise_id, require_business
from hotline.tenants.business.models import BusinessRequest
from hotline.tenants.business.requests import Request, access_request
from hotline.tenants.evidence import requester
from hotline.tenants.evidence.downloads import DownloadLink
from hotline.tenants.evidence.models import Evidence, Variant
from hotline.tenants.evidence.uploads import Upload
from hotline.tenants.kernel.access import Action, Actor
from hotline.tenants.kernel.errors import NotFound


async def request_upload(
    *, actor: Actor, request_id: int, file_name: str, content_type: str, size: int, sha256: str
) -> Upload:
    """An enterprise user attaches a file to its enterprise's request."""
    await require_business(actor, Action.BUSINESS_REQUEST_SUBMIT)
    got = await access_request(actor=actor, request_id=request_id)
    with city_scope(actor):
        return await requester.request_upload(
            ticket=got.ticket,
            actor=actor,
            file_name=file_name,
            content_type=content_type,
            size=size,
            sha256=sha256,
        )


async def _of_evidence(actor: Actor, evidence_id: int) -> Request:
    """The business request an attachment belongs to, if the actor sees the request."""
    with city_scope(actor):
        evidence = await Evidence.get_or_none(id=evidence_id)
        found = (
            await BusinessRequest.get_or_none(ticket_id=evidence.ticket_id) if evidence else None
        )
    if found is None:
        raise NotFound("evidence", field="evidenceId")
    try:
        return await access_request(actor=actor, request_id=found.id)
    except NotFound:
        raise NotFound("evidence", field="evidenceId") from None


async def finalize(*, actor: Actor, evidence_id: int) -> Evidence:
    await require_business(actor, Action.BUSINESS_REQUEST_SUBMIT)
    got = await _of_evidence(actor, evidence_id)
    with city_scope(actor):
        return await requester.finalize(ticket=got.ticket, actor=actor, evidence_id=evidence_id)


async def listed(*, actor: Actor, request_id: int) -> list[Evidence]:
    got = await access_request(actor=actor, request_id=request_id)
    staff = await own_enterprise_id(actor) is None
    with city_scope(actor):
        return await requester.listed(ticket=got.ticket, everything=staff)


async def download_link(
    *, actor: Actor, evidence_id: int, variant: Variant, ip: str | None = None
) -> DownloadLink:
    got = await _of_evidence(actor, evidence_id)
    staff = await own_enterprise_id(actor) is None
    with city_scope(actor):
        return await requester.download_link(
            ticket=got.ticket,
            actor=actor,
            evidence_id=evidence_id,
            variant=variant,
            everything=staff,
            ip=ip,
        )

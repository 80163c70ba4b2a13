"""Evidence of a signed-in requester whose right to the ticket another domain checked —
an enterprise on its own business request (docs/business.md, "Attachments"). The same
city policy (types, sizes), presigned upload, finalize checks, worker verification and
recorded download links as every other evidence; the requester's files are of purpose
``citizen`` (the requester's side of a ticket), so citizens' rules of visibility apply:
a requester sees its own uploads and what the center published, never others' files."""

from __future__ import annotations

from tortoise.expressions import Q

from hotline.tenants.evidence.access import citizen_visible
from hotline.tenants.evidence.downloads import DownloadLink, _link, _variant_key
from hotline.tenants.evidence.models import Evidence, EvidenceStatus, Purpose, Variant
from hotline.tenants.evidence.uploads import Upload, _create_upload
from hotline.tenants.evidence.verification import _finalize
from hotline.tenants.kernel.access import Actor
from hotline.tenants.kernel.errors import NotFound
from hotline.tenants.tickets.models import Ticket


async def request_upload(
    *, ticket: Ticket, actor: Actor, file_name: str, content_type: str, size: int, sha256: str
) -> Upload:
    """A presigned POST for the requester's own file (the caller checked the ticket)."""
    return await _create_upload(
        ticket=ticket,
        purpose=Purpose.CITIZEN,
        assignment_id=None,
        uploaded_by=actor,
        file_name=file_name,
        content_type=content_type,
        size=size,
        sha256=sha256,
    )


async def finalize(*, ticket: Ticket, actor: Actor, evidence_id: int) -> Evidence:
    """Only the requester who uploaded it finalizes it."""
    evidence = await Evidence.get_or_none(
        id=evidence_id, ticket_id=ticket.id, purpose=Purpose.CITIZEN, uploaded_by_id=actor.user_id
    )
    if evidence is None or actor.user_id is None:
        raise NotFound("evidence", field="evidenceId")
    return await _finalize(evidence)


async def listed(*, ticket: Ticket, everything: bool) -> list[Evidence]:
    """The ticket's evidence: all of it (staff the caller let through), or the requester's
    side — its own uploads and what the center published."""
    query = Evidence.filter(ticket_id=ticket.id).exclude(status=EvidenceStatus.ABANDONED)
    if not everything:
        query = query.filter(Q(purpose=Purpose.CITIZEN) | Q(published=True))
    return await query.order_by("id")


async def download_link(
    *,
    ticket: Ticket,
    actor: Actor,
    evidence_id: int,
    variant: Variant,
    everything: bool,
    ip: str | None = None,
) -> DownloadLink:
    """A recorded short-lived link. The requester gets the original of its own uploads and
    the public copy (or thumbnail) of published ones, like a citizen."""
    evidence = await Evidence.get_or_none(id=evidence_id, ticket_id=ticket.id)
    if evidence is None or not (everything or citizen_visible(evidence)):
        raise NotFound("evidence", field="evidenceId")
    if (
        not everything
        and evidence.purpose is not Purpose.CITIZEN
        and variant not in (Variant.PUBLIC, Variant.THUMBNAIL)
    ):
        raise NotFound("evidence", field="evidenceId")
    key = _variant_key(evidence, variant)
    return await _link(
        evidence,
        variant,
        key=key,
        record={"user_id": actor.user_id, "api_key_id": actor.api_key_id, "ip": ip},
    )

"""Uploads: the API hands out a presigned POST (key, type and size fixed by policy) and
never streams a body; the row waits as ``pending`` until it is finalized."""

from __future__ import annotations

from dataclasses import dataclass

from hotline.platform import clock, storage
from hotline.tenants.departments.models import Department
from hotline.tenants.evidence import rules
from hotline.tenants.evidence.access import CitizenProof, access_ticket, citizen_ticket
from hotline.tenants.evidence.models import (
    Evidence,
    Purpose,
)
from hotline.tenants.evidence.policy import current_policy
from hotline.tenants.kernel.access import Action, Actor, allowed, require
from hotline.tenants.kernel.errors import Invalid, NotFound
from hotline.tenants.tickets.models import Assignment, Ticket


@dataclass(frozen=True)
class Upload:
    evidence: Evidence
    post: storage.PresignedPost


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
        upload_expires_at=clock.now() + rules.UPLOAD_LINK_TTL,
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
    ticket = await citizen_ticket(citizen)
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

"""Who may see a ticket's evidence: the center, the assigned departments and their
ancestors (the same rule as reading the ticket), and the citizen by number + query code."""

from __future__ import annotations

from dataclasses import dataclass

from hotline.platform import ratelimit
from hotline.platform.crypto import keyed_hash
from hotline.platform.tenancy import current_tenant_id
from hotline.tenants.evidence import rules
from hotline.tenants.evidence.models import (
    Evidence,
    Purpose,
)
from hotline.tenants.kernel.access import Action, Actor, allowed
from hotline.tenants.kernel.errors import NotFound, RateLimited
from hotline.tenants.tickets import access as tickets_access
from hotline.tenants.tickets.citizen import proven_ticket
from hotline.tenants.tickets.models import Ticket


@dataclass(frozen=True)
class CitizenProof:
    """A citizen has no login: the ticket number and its query code stand for one."""

    number: str
    query_code: str


async def _may_see_ticket(actor: Actor, ticket_id: int) -> bool:
    if not allowed(actor, Action.EVIDENCE_READ):
        return False
    if allowed(actor, Action.EVIDENCE_READ_ANY):
        return True
    return await tickets_access.readable(actor, ticket_id)


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


async def citizen_ticket(citizen: CitizenProof) -> Ticket:
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


def citizen_visible(evidence: Evidence) -> bool:
    return evidence.purpose is Purpose.CITIZEN or evidence.published

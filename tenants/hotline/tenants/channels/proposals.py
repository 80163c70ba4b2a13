"""The center's queue of duplicate proposals (docs/channels.md): the intake pipeline
proposes a new ticket as a repeat of an open one (``duplicates.propose``), never merging
it silently; the center lists the pending proposals and accepts one — the new ticket
merged into the open one through the tickets' own merge, the proposal marked in the
merge's transaction — or dismisses it."""

from __future__ import annotations

from tortoise.expressions import Subquery

from hotline.tenants.channels.models import DuplicateProposal, ProposalStatus
from hotline.tenants.kernel.access import Action, Actor, require
from hotline.tenants.kernel.errors import Conflict, NotFound
from hotline.tenants.tickets import access
from hotline.tenants.tickets.center import merge_tickets
from hotline.tenants.tickets.flow import OPEN
from hotline.tenants.tickets.models import Ticket
from hotline.tenants.tickets.work import Change

MAX_PAGE = 100


async def pending(*, actor: Actor, first: int = 50, after_id: int = 0) -> list[DuplicateProposal]:
    """The city's undecided proposals whose two tickets are both still open, oldest first;
    ``after_id`` (the last of the previous page) must be one of the city's proposals."""
    require(actor, Action.TICKET_DISPATCH)
    with access.city_scope(actor):
        if after_id and not await DuplicateProposal.exists(id=after_id):
            raise NotFound("duplicate proposal", field="after")
        still_open = Subquery(Ticket.filter(status__in=list(OPEN)).values("id"))
        rows: list[DuplicateProposal] = (
            await DuplicateProposal.filter(
                status=ProposalStatus.PROPOSED,
                id__gt=after_id,
                ticket_id__in=still_open,
                candidate_id__in=still_open,
            )
            .order_by("id")
            .limit(max(1, min(first, MAX_PAGE)))
        )
    return rows


async def _proposal(proposal_id: int) -> DuplicateProposal:
    found = await DuplicateProposal.get_or_none(id=proposal_id)
    if found is None:
        raise NotFound("duplicate proposal", field="proposalId")
    if found.status is not ProposalStatus.PROPOSED:
        raise Conflict("the proposal was decided already: {status}", status=found.status.value)
    return found


async def accept(*, actor: Actor, proposal_id: int, reason: str = "") -> DuplicateProposal:
    """Merge the proposal's new ticket into the open one it repeats (``mergeTickets``'s
    rules: the center's permission, the open target); the proposal is marked merged in
    the same transaction, so a concurrent decision makes one of the two fail whole."""
    require(actor, Action.TICKET_DISPATCH)
    with access.city_scope(actor):
        proposal = await _proposal(proposal_id)

    async def mark(c: Change) -> None:
        done = (
            await DuplicateProposal.filter(id=proposal.id, status=ProposalStatus.PROPOSED)
            .using_db(c.conn)
            .update(status=ProposalStatus.MERGED)
        )
        if not done:
            raise Conflict("the proposal was decided already: {status}", status="decided")

    await merge_tickets(
        actor=actor,
        ticket_id=proposal.ticket_id,
        into_ticket_id=proposal.candidate_id,
        reason=reason or "duplicate proposal accepted",
        within=mark,
    )
    proposal.status = ProposalStatus.MERGED
    return proposal


async def dismiss(*, actor: Actor, proposal_id: int) -> DuplicateProposal:
    """The two tickets are not the same matter: the proposal leaves the queue."""
    require(actor, Action.TICKET_DISPATCH)
    with access.city_scope(actor):
        proposal = await _proposal(proposal_id)
        done = await DuplicateProposal.filter(
            id=proposal.id, status=ProposalStatus.PROPOSED
        ).update(status=ProposalStatus.DISMISSED)
        if not done:
            raise Conflict("the proposal was decided already: {status}", status="decided")
    proposal.status = ProposalStatus.DISMISSED
    return proposal

"""Center decisions on a whole work order: cancel, refuse (不予受理), urge (催办),
reclassify and merge a duplicate. A ticket that leaves the work (cancelled, merged)
keeps no open deadline.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from hotline.tenants.kernel.access import Action, Actor
from hotline.tenants.kernel.errors import Invalid
from hotline.tenants.kernel.events import TicketEvent
from hotline.tenants.tickets import flow, policy
from hotline.tenants.tickets.assignments import copy_deadlines, end_assignments, lead_of
from hotline.tenants.tickets.flow import Action as FA
from hotline.tenants.tickets.flow import AssignmentAction as AA
from hotline.tenants.tickets.flow import IllegalTransition
from hotline.tenants.tickets.models import Kind, Ticket
from hotline.tenants.tickets.work import Change, change


async def cancel_ticket(*, actor: Actor, ticket_id: int, reason: str) -> Ticket:
    reason = policy.required(reason, "reason")
    async with change(actor, Action.TICKET_DISPATCH) as c:
        ticket = await c.lock(ticket_id)
        lead = await lead_of(ticket)
        copy_deadlines(ticket, None)
        await c.move(
            ticket,
            FA.CANCEL,
            reason=reason,
            department_id=lead.department_id if lead else None,
        )
        await end_assignments(c, ticket, AA.CANCEL, reason=f"the ticket is {ticket.status.value}")
    return ticket


async def reject_ticket(*, actor: Actor, ticket_id: int, reason: str) -> Ticket:
    """Not accepted / out of scope (不予受理), while the center holds the ticket."""
    reason = policy.required(reason, "reason")
    async with change(actor, Action.TICKET_DISPATCH) as c:
        ticket = await c.lock(ticket_id)
        ticket.reject_reason = reason
        await c.move(ticket, FA.REJECT, reason=reason)
    return ticket


async def urge_ticket(*, actor: Actor, ticket_id: int, note: str = "") -> Ticket:
    """The citizen urges (催办) an open ticket: counted, and on the timeline."""
    async with change(actor, Action.TICKET_DISPATCH) as c:
        ticket = await c.lock(ticket_id)
        lead = await lead_of(ticket)
        ticket.urge_count += 1
        await c.move(
            ticket,
            FA.URGE,
            reason=note.strip(),
            department_id=lead.department_id if lead else None,
            data={"count": ticket.urge_count},
        )
    return ticket


async def reclassify_ticket(
    *,
    actor: Actor,
    ticket_id: int,
    category_id: int | None = None,
    area_id: int | None = None,
    kind: Kind | None = None,
    reason: str = "",
) -> Ticket:
    """Change category, area or kind; the old values stay in the timeline."""
    async with change(actor, Action.TICKET_DISPATCH) as c:
        await policy.active_category(category_id)
        if area_id is not None:
            await policy.active_department(area_id, "areaId")
        ticket = await c.lock(ticket_id)
        wanted: dict[str, Any] = {"category_id": category_id, "area_id": area_id, "kind": kind}
        changes = {k: v for k, v in wanted.items() if v is not None and v != getattr(ticket, k)}
        if not changes:
            raise Invalid("nothing to change", field="categoryId")
        old = {k: getattr(ticket, k) for k in changes}
        await c.move(
            ticket, FA.RECLASSIFY, reason=reason.strip(), data={"old": old, "new": changes}
        )
        ticket.update_from_dict(changes)
    return ticket


async def merge_tickets(
    *,
    actor: Actor,
    ticket_id: int,
    into_ticket_id: int,
    reason: str = "",
    within: Callable[[Change], Awaitable[None]] | None = None,
) -> Ticket:
    """Close ``ticket_id`` as a duplicate of the open ``into_ticket_id``; both are linked.
    ``within`` runs in the merge's transaction (a channel's proposal marked merged)."""
    if ticket_id == into_ticket_id:
        raise Invalid("a ticket cannot be merged into itself", field="intoTicketId")
    async with change(actor, Action.TICKET_DISPATCH) as c:
        # Lock in id order so two opposite merges cannot deadlock.
        locked = {i: await c.lock(i) for i in sorted((ticket_id, into_ticket_id))}
        ticket, into = locked[ticket_id], locked[into_ticket_id]
        if not flow.is_open(into.status):
            raise IllegalTransition("ticket", into.status.value, "merge into")
        await c.move(
            ticket,
            FA.MERGE,
            reason=reason.strip(),
            data={"into": into.id, "into_number": into.number},
        )
        ticket.merged_into_id = into.id
        copy_deadlines(ticket, None)
        await end_assignments(c, ticket, AA.CANCEL, reason=f"the ticket is {ticket.status.value}")
        await c.record(
            into,
            TicketEvent.MERGED_IN,
            reason=reason.strip(),
            data={"duplicate": ticket.id, "duplicate_number": ticket.number},
        )
        if within is not None:
            await within(c)
    return ticket

"""Recomputing deadlines after a calendar change. Deadlines are fixed when set; an
admin action (this) re-times the city's open work, each change on its ticket's timeline.
"""

from __future__ import annotations

from typing import cast

from hotline.platform.calendar import WorkCalendar
from hotline.platform.tenancy import current_tenant_id
from hotline.tenants.kernel.access import Action, Actor
from hotline.tenants.kernel.events import TicketEvent
from hotline.tenants.provinces.calendar import tenant_calendar
from hotline.tenants.sla.rules import SlaPolicy
from hotline.tenants.tickets import deadlines, flow, policy
from hotline.tenants.tickets.access import assignments_of, lock_ticket
from hotline.tenants.tickets.models import Assignment, AssignmentStatus, Priority, Ticket
from hotline.tenants.tickets.sweep import rewind
from hotline.tenants.tickets.work import change, copy_deadlines, lead_of

_OPEN = [AssignmentStatus.PENDING_SIGN, AssignmentStatus.SIGNED, AssignmentStatus.RETURN_REQUESTED]


async def recompute_deadlines(*, actor: Actor) -> int:
    """Re-time every open assignment of the city after a calendar change. Top-level
    assignments: the SLA reply days plus granted extensions from their dispatch;
    sub-dispatches keep theirs, capped by the parent's. Returns how many changed."""
    async with change(actor, Action.TICKET_ADMIN) as c:
        tenant = await policy.city(current_tenant_id())
        calendar = await tenant_calendar(tenant)
        changed = 0
        open_ids = await Assignment.filter(status__in=_OPEN).values_list("ticket_id", flat=True)
        for ticket_id in sorted(set(cast(list[int], open_ids))):
            ticket = await lock_ticket(actor, ticket_id)
            sla = await policy.sla(tenant, ticket.category_id)
            moved = await _recompute_ticket(ticket, calendar, sla)
            if not moved:
                continue
            c.hold(ticket)
            changed += moved
            copy_deadlines(ticket, await lead_of(ticket))
            await rewind(
                deadlines=[ticket.reply_deadline, ticket.due_soon_at, ticket.sign_deadline],
                now=c.now,
            )
            await c.record(
                ticket,
                TicketEvent.DEADLINES_RECOMPUTED,
                data={"assignments": moved, "reply_deadline": ticket.reply_deadline},
            )
    return changed


async def _recompute_ticket(ticket: Ticket, calendar: WorkCalendar, sla: SlaPolicy) -> int:
    rows = await assignments_of(ticket).filter(status__in=list(flow.ACTIVE)).order_by("id")
    by_id: dict[int, Assignment] = {a.id: a for a in rows}
    moved = 0
    for a in rows:  # parents first: ids grow down the tree
        emergency = ticket.priority is Priority.EMERGENCY and a.parent_id is None
        if a.parent_id is None:
            reply = deadlines.reply_deadline(
                calendar,
                a.created_at,
                min(sla.reply_working_days + a.extended_days, sla.max_total_working_days),
            )
        else:
            parent = by_id.get(a.parent_id)
            reply = min(a.reply_deadline, parent.reply_deadline) if parent else a.reply_deadline
        sign = min(deadlines.sign_deadline(calendar, sla, a.created_at, emergency=emergency), reply)
        due_soon = deadlines.due_soon_at(calendar, sla, a.created_at, reply)
        if (a.reply_deadline, a.sign_deadline, a.due_soon_at) != (reply, sign, due_soon):
            a.reply_deadline, a.sign_deadline, a.due_soon_at = reply, sign, due_soon
            a.version += 1
            await a.save(force_update=True)
            moved += 1
    return moved

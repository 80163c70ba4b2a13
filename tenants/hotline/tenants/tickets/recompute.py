"""Recomputing deadlines after a calendar change. Deadlines are fixed when set; an
admin action re-times the city's open work (:func:`recompute_deadlines`), and publishing
a year's arrangement re-times the work whose deadlines ran into it while it was unknown
(:func:`recompute_provisional`, run by a worker in each city). Each ticket whose
deadlines moved gets a ``deadlines_recomputed`` timeline event; a re-run finds nothing
to move and writes nothing.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any, cast

from hotline.platform.calendar import WorkCalendar
from hotline.platform.tenancy import current_tenant_id
from hotline.tenants.kernel.access import Action, Actor
from hotline.tenants.kernel.events import TicketEvent
from hotline.tenants.kernel.roles import Role
from hotline.tenants.provinces.calendar import tenant_calendar
from hotline.tenants.provinces.models import Tenant
from hotline.tenants.sla.rules import SlaPolicy
from hotline.tenants.tickets import deadlines, flow, policy
from hotline.tenants.tickets.access import assignments_of, lock_ticket
from hotline.tenants.tickets.assignments import copy_deadlines, lead_of
from hotline.tenants.tickets.models import Assignment, AssignmentStatus, Priority, Ticket
from hotline.tenants.tickets.sweep import rewind
from hotline.tenants.tickets.work import Change, change

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
            changed += await _retime(c, tenant, calendar, ticket_id)
    return changed


async def _retime(
    c: Change,
    tenant: Tenant,
    calendar: WorkCalendar,
    ticket_id: int,
    *,
    reason: str = "",
    data: dict[str, Any] | None = None,
) -> int:
    """Re-time one ticket's open assignments; record it when something moved."""
    ticket = await lock_ticket(c.actor, ticket_id)
    before = ticket.reply_deadline
    moved = await _recompute_ticket(ticket, calendar, await policy.sla(tenant, ticket.category_id))
    if not moved:
        return 0
    c.hold(ticket)
    copy_deadlines(ticket, await lead_of(ticket))
    await rewind(
        deadlines=[ticket.reply_deadline, ticket.due_soon_at, ticket.sign_deadline], now=c.now
    )
    await c.record(
        ticket,
        TicketEvent.DEADLINES_RECOMPUTED,
        actor_role="system" if c.actor.user_id is None else None,
        reason=reason,
        data={
            "assignments": moved,
            "previous_reply_deadline": before,
            "reply_deadline": ticket.reply_deadline,
            **(data or {}),
        },
    )
    return moved


async def recompute_provisional(*, year: int) -> int:
    """Re-time the open work of the current city due in ``year`` or later, once the
    province published the year; one transaction per ticket. Returns how many
    assignments changed."""
    tenant = await policy.city(current_tenant_id())
    calendar = await tenant_calendar(tenant)
    since = datetime.combine(date(year, 1, 1), time(0), calendar.zone).astimezone(UTC)
    system = Actor(
        user_id=None,
        tenant_id=tenant.id,
        province_id=tenant.province_id,
        roles=frozenset({Role.SUPERVISOR}),
        username="calendar",
    )
    ticket_ids = await Assignment.filter(status__in=_OPEN, reply_deadline__gte=since).values_list(
        "ticket_id", flat=True
    )
    changed = 0
    for ticket_id in sorted(set(cast(list[int], ticket_ids))):
        async with change(system, Action.TICKET_ADMIN, checked=True) as c:
            changed += await _retime(
                c,
                tenant,
                calendar,
                ticket_id,
                reason=f"calendar {year} published",
                data={"year": year},
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

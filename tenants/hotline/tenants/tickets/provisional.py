"""Re-time provisional deadlines once a province publishes a year's arrangement.

A deadline that ran into a year with no known holiday arrangement was counted over
plain weekends (docs/calendar.md, "Provisional deadlines"). When the province
publishes that year, a worker job (``hotline.workers.calendar``) calls
:func:`recompute_provisional` in each city: every open work order with an assignment
due in that year or later is re-timed with the city's calendar as it is now, and a
ticket whose deadlines moved gets a ``deadlines_recomputed`` timeline event. A re-run
finds nothing to move and writes nothing (idempotent).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import cast

from tortoise.transactions import in_transaction

from hotline.platform.tenancy import current_tenant_id
from hotline.tenants.deadlines_sweep import service as deadlines_sweep
from hotline.tenants.provinces.calendar import tenant_calendar
from hotline.tenants.tickets.models import Assignment, AssignmentStatus, Ticket
from hotline.tenants.tickets.service import (
    _append,
    _copy_deadlines,
    _lead,
    _policy,
    _recompute_ticket,
    _save,
    _tenant,
)

OPEN_WORK = (
    AssignmentStatus.PENDING_SIGN,
    AssignmentStatus.SIGNED,
    AssignmentStatus.RETURN_REQUESTED,
)


async def recompute_provisional(*, year: int) -> int:
    """Re-time the open work of the current city due in ``year`` or later; returns how
    many assignments changed. Runs in the city's scope, as the system."""
    tenant = await _tenant(current_tenant_id())
    calendar = await tenant_calendar(tenant)
    since = datetime.combine(date(year, 1, 1), time(0), calendar.zone).astimezone(UTC)
    now = datetime.now(UTC)
    ticket_ids = await Assignment.filter(
        status__in=list(OPEN_WORK), reply_deadline__gte=since
    ).values_list("ticket_id", flat=True)
    changed = 0
    for ticket_id in sorted(set(cast(list[int], ticket_ids))):
        async with in_transaction():
            ticket = await Ticket.filter(id=ticket_id).select_for_update().first()
            if ticket is None:
                continue
            policy = await _policy(tenant, ticket.category_id)
            before = ticket.reply_deadline
            moved = await _recompute_ticket(ticket, calendar, policy)
            if not moved:
                continue
            changed += moved
            _copy_deadlines(ticket, await _lead(ticket))
            await deadlines_sweep.rewind(
                deadlines=[ticket.reply_deadline, ticket.due_soon_at, ticket.sign_deadline],
                now=now,
            )
            await _append(
                ticket,
                None,
                action="deadlines_recomputed",
                at=now,
                actor_id=None,
                actor_role="system",
                from_status=ticket.status.value,
                to_status=ticket.status.value,
                reason=f"calendar {year} published",
                data={
                    "assignments": moved,
                    "year": year,
                    "previous_reply_deadline": before,
                    "reply_deadline": ticket.reply_deadline,
                },
            )
            await _save(ticket)
    return changed

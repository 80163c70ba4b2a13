"""Suspension (挂起): a work order waits for the citizen, a court or another authority.

The handling department asks with a cause and a reason; a supervisor approves or
refuses (a supervisor may also suspend directly). While the suspension is active the
ticket's deadline clocks stand still: its open assignments are marked paused (the sweep
and the overdue boxes pass them by) and the ticket shows no deadline. On resumption each
paused deadline moves by the working time that was left on it when the clocks stopped,
counted from the moment they start again; a deadline already passed stays passed.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from hotline.platform.calendar import WorkCalendar
from hotline.tenants.departments.models import Department
from hotline.tenants.kernel.access import Action, Actor, allowed
from hotline.tenants.kernel.errors import Conflict, NotFound
from hotline.tenants.kernel.events import TicketEvent
from hotline.tenants.tickets import access, flow, policy
from hotline.tenants.tickets.assignments import copy_deadlines, lead_of
from hotline.tenants.tickets.flow import Action as FA
from hotline.tenants.tickets.flow import IllegalTransition
from hotline.tenants.tickets.models import (
    Assignment,
    Suspension,
    SuspensionCause,
    SuspensionStatus,
    Ticket,
)
from hotline.tenants.tickets.sweep import rewind
from hotline.tenants.tickets.work import Change, change

_OPEN = (SuspensionStatus.REQUESTED.value, SuspensionStatus.ACTIVE.value)


async def _none_open(ticket: Ticket) -> None:
    if await Suspension.exists(ticket_id=ticket.id, status__in=_OPEN):
        raise Conflict("the ticket already has a suspension requested or active", field="ticketId")


async def _pause(c: Change, ticket: Ticket, suspension: Suspension) -> None:
    """Start the suspension: stop the ticket's clocks."""
    suspension.status, suspension.started_at = SuspensionStatus.ACTIVE.value, c.now
    ticket.suspended_at = c.now
    copy_deadlines(ticket, None)
    await access.assignments_of(ticket).filter(status__in=list(flow.ACTIVE)).update(paused_at=c.now)


async def request_suspension(
    *, actor: Actor, assignment_id: int, cause: SuspensionCause, reason: str
) -> Suspension:
    """The handling department asks the center to suspend its work order."""
    reason = policy.required(reason, "reason")
    async with change(actor, Action.TICKET_HANDLE) as c:
        ticket, assignment = await c.lock_assignment(assignment_id)
        flow.check(ticket.status, FA.HANDLE)
        await _none_open(ticket)
        suspension = await Suspension.create(
            ticket_id=ticket.id,
            assignment_id=assignment.id,
            department_id=assignment.department_id,
            cause=cause.value,
            reason=reason,
            requested_by_id=actor.user_id,
        )
        await c.record(
            ticket,
            TicketEvent.SUSPENSION_REQUESTED,
            department_id=assignment.department_id,
            assignment_id=assignment.id,
            reason=reason,
            data={"suspension": suspension.id, "cause": cause.value},
        )
    return suspension


async def suspend_ticket(
    *, actor: Actor, ticket_id: int, cause: SuspensionCause, reason: str
) -> Suspension:
    """A supervisor suspends a work order in the departments' hands at once."""
    reason = policy.required(reason, "reason")
    async with change(actor, Action.TICKET_DECIDE) as c:
        ticket = await c.lock(ticket_id)
        flow.check(ticket.status, FA.HANDLE)
        await _none_open(ticket)
        lead = await lead_of(ticket)
        suspension = await Suspension.create(
            ticket_id=ticket.id,
            department_id=lead.department_id if lead else None,
            cause=cause.value,
            reason=reason,
            requested_by_id=actor.user_id,
            decided_by_id=actor.user_id,
            decided_at=c.now,
        )
        await _pause(c, ticket, suspension)
        await suspension.save()
        await c.record(
            ticket,
            TicketEvent.SUSPENDED,
            department_id=suspension.department_id,
            reason=reason,
            data={"suspension": suspension.id, "cause": cause.value},
        )
    return suspension


async def decide_suspension(
    *, actor: Actor, suspension_id: int, approve: bool, note: str = ""
) -> Suspension:
    """A supervisor approves (the clocks stop now) or refuses a requested suspension."""
    async with change(actor, Action.TICKET_DECIDE) as c:
        ticket, suspension = await c.lock_record(
            Suspension, suspension_id, NotFound("suspension"), await access.reading_paths(c.actor)
        )
        if suspension.status != SuspensionStatus.REQUESTED.value:
            raise IllegalTransition("suspension", suspension.status, "decide")
        suspension.decided_by_id, suspension.decided_at = actor.user_id, c.now
        suspension.decision_note = note.strip()
        if approve:
            flow.check(ticket.status, FA.HANDLE)
            await _pause(c, ticket, suspension)
        else:
            suspension.status = SuspensionStatus.REJECTED.value
        await suspension.save()
        await c.record(
            ticket,
            TicketEvent.SUSPENDED if approve else TicketEvent.SUSPENSION_REJECTED,
            department_id=suspension.department_id,
            assignment_id=suspension.assignment_id,
            reason=note.strip(),
            data={"suspension": suspension.id, "cause": suspension.cause},
        )
    return suspension


def moved_deadline(
    calendar: WorkCalendar, deadline: datetime | None, paused_at: datetime, resumed_at: datetime
) -> datetime | None:
    """The deadline once the clocks run again: the working time left at the pause,
    counted from the resumption. A deadline that had passed when paused stays."""
    if deadline is None or deadline <= paused_at:
        return deadline
    left = calendar.working_time_between(paused_at, deadline)
    return calendar.add_working_hours(resumed_at, left)


async def resume_ticket(*, actor: Actor, suspension_id: int, note: str = "") -> Suspension:
    """End an active suspension: the supervisors, or the department that asked for it."""
    handler = not allowed(actor, Action.TICKET_DECIDE)
    permission = Action.TICKET_HANDLE if handler else Action.TICKET_DECIDE
    async with change(actor, permission) as c:
        ticket, suspension = await c.lock_record(
            Suspension, suspension_id, NotFound("suspension"), await access.reading_paths(c.actor)
        )
        if handler:
            department = await Department.get_or_none(id=suspension.department_id or 0)
            if department is None or not access.within(
                department.path, await access.handling_paths(actor)
            ):
                raise NotFound("suspension")
        if suspension.status != SuspensionStatus.ACTIVE.value:
            raise IllegalTransition("suspension", suspension.status, "resume")
        clock = await policy.clock(ticket.tenant_id, ticket.category_id)
        paused: list[Assignment] = list(
            await access.assignments_of(ticket).filter(paused_at__isnull=False)
        )
        for a in paused:
            assert a.paused_at is not None
            reply = moved_deadline(clock.calendar, a.reply_deadline, a.paused_at, c.now)
            assert reply is not None
            a.reply_deadline = reply
            a.sign_deadline = moved_deadline(clock.calendar, a.sign_deadline, a.paused_at, c.now)
            a.due_soon_at = moved_deadline(clock.calendar, a.due_soon_at, a.paused_at, c.now)
            a.paused_at = None
            a.version += 1
            await a.save(force_update=True)
        started = suspension.started_at or c.now
        suspension.status, suspension.ended_at = SuspensionStatus.ENDED.value, c.now
        suspension.ended_by_id = actor.user_id
        suspension.paused_seconds = int(
            clock.calendar.working_time_between(started, c.now) / timedelta(seconds=1)
        )
        await suspension.save()
        ticket.suspended_at = None
        copy_deadlines(ticket, await lead_of(ticket))
        await rewind(
            deadlines=[ticket.reply_deadline, ticket.due_soon_at, ticket.sign_deadline],
            now=c.now,
        )
        await c.record(
            ticket,
            TicketEvent.RESUMED,
            department_id=suspension.department_id,
            assignment_id=suspension.assignment_id,
            reason=note.strip(),
            data={
                "suspension": suspension.id,
                "paused_working_seconds": suspension.paused_seconds,
                "reply_deadline": ticket.reply_deadline,
            },
        )
    return suspension

"""Supervision orders (督办): one set of rules for the center's manual orders and the
sweep's automatic ones (:mod:`.sweep`) — the same levels, the same escalation schedule
(the city's, :mod:`.escalation`), the same timeline events and notifications.

Level 1 is the department's manager; each level escalates after the schedule's working
hours to the next; the last level (city leadership) stays until the order is closed.
"""

from __future__ import annotations

from datetime import datetime

from hotline.platform.calendar import WorkCalendar
from hotline.tenants.departments.models import Department
from hotline.tenants.kernel.access import Action, Actor, allowed, require
from hotline.tenants.kernel.errors import Conflict, NotFound
from hotline.tenants.kernel.events import TicketEvent
from hotline.tenants.provinces.models import Tenant
from hotline.tenants.provinces.settings import city_settings
from hotline.tenants.tickets import access, flow, policy
from hotline.tenants.tickets.assignments import lead_of
from hotline.tenants.tickets.escalation import EscalationSchedule, schedule_of
from hotline.tenants.tickets.flow import Action as FA
from hotline.tenants.tickets.flow import IllegalTransition
from hotline.tenants.tickets.models import Supervision, Ticket
from hotline.tenants.tickets.work import Change, change


def next_escalation(
    calendar: WorkCalendar, schedule: EscalationSchedule, level: int, since: datetime
) -> datetime | None:
    """When an order that reached ``level`` at ``since`` escalates; None at the last."""
    hours = schedule.hours_at(level)
    return None if hours is None else calendar.add_working_hours(since, hours)


async def city_schedule(tenant: Tenant) -> tuple[WorkCalendar, EscalationSchedule]:
    clock = await policy.clock(tenant.id, None)
    return clock.calendar, schedule_of(city_settings(tenant))


async def record_opened(c: Change, ticket: Ticket, supervision: Supervision) -> None:
    await c.record(
        ticket,
        TicketEvent.SUPERVISION_OPENED,
        permission=Action.TICKET_SUPERVISE,
        actor_role=None if c.actor.user_id is not None else "system",
        department_id=supervision.department_id,
        assignment_id=supervision.assignment_id,
        reason=supervision.reason,
        data={"supervision": supervision.id, "level": 1, "automatic": supervision.automatic},
    )


async def record_escalated(
    c: Change, ticket: Ticket, supervision: Supervision, reason: str = ""
) -> None:
    await c.record(
        ticket,
        TicketEvent.SUPERVISION_ESCALATED,
        permission=Action.TICKET_SUPERVISE,
        actor_role=None if c.actor.user_id is not None else "system",
        department_id=supervision.department_id,
        assignment_id=supervision.assignment_id,
        reason=reason,
        data={
            "supervision": supervision.id,
            "level": supervision.level,
            "automatic": supervision.automatic,
            "escalate_at": supervision.escalate_at,
        },
    )


async def open_supervision(
    *, actor: Actor, ticket_id: int, reason: str, assignment_id: int | None = None
) -> Supervision:
    """A supervision order on an open ticket (or one of its working assignments), level 1."""
    reason = policy.required(reason, "reason")
    async with change(actor, Action.TICKET_SUPERVISE) as c:
        ticket = await c.lock(ticket_id)
        flow.check(ticket.status, FA.SUPERVISE)
        if assignment_id is not None:
            target = await access.assignments_of(ticket).filter(id=assignment_id).first()
            if target is None:
                raise NotFound("assignment", field="assignmentId")
            if target.status not in flow.ACTIVE:
                raise Conflict("the assignment no longer handles the ticket", field="assignmentId")
        else:
            # The lead's handling while a department holds the ticket, else the ticket
            # itself (in the center's hands: returned, reopened, awaiting the revisit).
            target = await lead_of(ticket)
            if target is not None and target.status not in flow.ACTIVE:
                target = None
        if await Supervision.exists(
            ticket_id=ticket.id, assignment_id=target.id if target else None, status="open"
        ):
            raise Conflict("a supervision order is already open here", field="ticketId")
        calendar, schedule = await city_schedule(await policy.city(ticket.tenant_id))
        supervision = await Supervision.create(
            ticket_id=ticket.id,
            assignment_id=target.id if target else None,
            department_id=target.department_id if target else None,
            reason=reason,
            opened_by_id=actor.user_id,
            escalate_at=next_escalation(calendar, schedule, 1, c.now),
        )
        await record_opened(c, ticket, supervision)
    return supervision


async def escalate_supervision(
    *, actor: Actor, supervision_id: int, reason: str = ""
) -> Supervision:
    """One level up now, on the city's schedule from here on."""
    async with change(actor, Action.TICKET_SUPERVISE) as c:
        ticket, supervision = await c.lock_record(
            Supervision, supervision_id, NotFound("supervision")
        )
        if supervision.status != "open":
            raise IllegalTransition("supervision", supervision.status, "escalate")
        calendar, schedule = await city_schedule(await policy.city(supervision.tenant_id))
        if supervision.level >= schedule.max_level:
            raise Conflict("the supervision is at the highest level", field="supervisionId")
        supervision.level += 1
        supervision.escalate_at = next_escalation(calendar, schedule, supervision.level, c.now)
        await supervision.save()
        await record_escalated(c, ticket, supervision, reason.strip())
    return supervision


async def comment_supervision(*, actor: Actor, supervision_id: int, text: str) -> Supervision:
    """Supervisors and leaders comment; so does the supervised department (its subtree)."""
    text = policy.required(text, "text", "a comment")
    handler = not allowed(actor, Action.TICKET_SUPERVISE)
    permission = Action.TICKET_HANDLE if handler else Action.TICKET_SUPERVISE
    require(actor, permission)
    async with change(actor, permission, checked=True) as c:
        paths = await access.handling_paths(actor) if handler else None
        ticket, supervision = await c.lock_record(
            Supervision, supervision_id, NotFound("supervision"), paths
        )
        if paths is not None:
            department = await Department.get_or_none(id=supervision.department_id or 0)
            if department is None or not access.within(department.path, paths):
                raise NotFound("supervision")
        supervision.comments = [
            *supervision.comments,
            {"at": c.now.isoformat(), "by": actor.user_id, "text": text},
        ]
        await supervision.save()
        await c.record(
            ticket,
            TicketEvent.SUPERVISION_COMMENT,
            department_id=supervision.department_id,
            assignment_id=supervision.assignment_id,
            reason=text,
            data={"supervision": supervision.id, "level": supervision.level},
        )
    return supervision


async def close_supervision(*, actor: Actor, supervision_id: int, note: str = "") -> Supervision:
    async with change(actor, Action.TICKET_SUPERVISE) as c:
        ticket, supervision = await c.lock_record(
            Supervision, supervision_id, NotFound("supervision")
        )
        if supervision.status != "open":
            raise IllegalTransition("supervision", supervision.status, "close")
        supervision.status, supervision.closed_at = "closed", c.now
        supervision.closed_by_id = actor.user_id
        supervision.escalate_at = None
        await supervision.save()
        await c.record(
            ticket,
            TicketEvent.SUPERVISION_CLOSED,
            department_id=supervision.department_id,
            assignment_id=supervision.assignment_id,
            reason=note.strip(),
            data={"supervision": supervision.id, "level": supervision.level},
        )
    return supervision

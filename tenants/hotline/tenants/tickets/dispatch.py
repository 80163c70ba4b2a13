"""Dispatch and department work: the center sends a ticket to a lead department (and
co-handlers); departments sign for, return, sub-dispatch down their own subtree and
reply. Each assignment has its own state and deadlines; the ticket's state follows its
top-level lead assignment.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from hotline.platform.db.rows import insert_many
from hotline.tenants.departments.models import Department, DepartmentKind
from hotline.tenants.kernel.access import Action, Actor, allowed, require
from hotline.tenants.kernel.errors import Conflict, Invalid, NotFound
from hotline.tenants.kernel.events import TicketEvent
from hotline.tenants.tickets import access, deadlines, flow, policy
from hotline.tenants.tickets.access import assignments_of
from hotline.tenants.tickets.assignments import (
    copy_deadlines,
    end_assignments,
    end_subtree,
    is_top_lead,
    save_assignment,
)
from hotline.tenants.tickets.flow import Action as FA
from hotline.tenants.tickets.flow import AssignmentAction as AA
from hotline.tenants.tickets.models import Assignment, AssignmentStatus, Priority, Ticket
from hotline.tenants.tickets.work import Change, change, settle_assignments, withdraw_extensions


async def dispatch_to(
    c: Change,
    ticket: Ticket,
    *,
    clock: policy.Clock,
    lead: Department,
    co: Sequence[Department],
    reason: str,
) -> None:
    """A new round: an assignment with deadlines for the lead and each co-handler."""
    emergency = ticket.priority is Priority.EMERGENCY
    # a ticket never dispatched has no assignments (as snapshots.departments_of reads it)
    last = (
        None
        if ticket.dispatched_at is None
        else await assignments_of(ticket).order_by("-round").first()
    )
    round_no = (last.round if last else 0) + 1
    times = deadlines.for_dispatch(clock.calendar, clock.policy, c.now, emergency=emergency)
    created = [
        Assignment(
            tenant_id=ticket.tenant_id,
            province_id=ticket.province_id,
            ticket_id=ticket.id,
            department_id=department.id,
            is_lead=is_lead,
            round=round_no,
            sign_deadline=times.sign,
            reply_deadline=times.reply,
            due_soon_at=times.due_soon,
            assigned_by_id=c.actor.user_id,
            created_at=c.now,
        )
        for department, is_lead in [(lead, True), *[(d, False) for d in co]]
    ]
    # the round's assignments in one INSERT (a department appears once in a round)
    await insert_many(c.conn, created, key="department_id")
    # A new round: later stages of an earlier round no longer describe this one.
    ticket.accepted_at = ticket.replied_at = ticket.reviewed_at = ticket.revisited_at = None
    copy_deadlines(ticket, created[0])
    await c.move(
        ticket,
        FA.DISPATCH,
        permission=Action.TICKET_DISPATCH,
        reason=reason,
        assignment=created[0],
        data={
            "round": round_no,
            "lead": lead.id,
            "co": [d.id for d in co],
            "sign_deadline": times.sign,
            "reply_deadline": times.reply,
        },
    )


async def dispatch_ticket(
    *,
    actor: Actor,
    ticket_id: int,
    lead_department_id: int,
    co_department_ids: Sequence[int] = (),
    reason: str = "",
) -> Ticket:
    """Send a ticket held by the center (received, returned, reopened) to a lead
    department and optional co-handlers; each gets an assignment with deadlines."""
    ids = [lead_department_id, *co_department_ids]
    if len(set(ids)) != len(ids):
        raise Invalid("a department appears twice", field="coDepartmentIds")
    async with change(actor, Action.TICKET_DISPATCH) as c:
        departments = await policy.active_departments(
            [(i, "leadDepartmentId" if i == lead_department_id else "coDepartmentIds") for i in ids]
        )
        for d in departments:
            if d.kind is DepartmentKind.CENTER:
                raise Invalid("dispatch to a department, not the center", field="leadDepartmentId")
        ticket = await c.lock(ticket_id)
        flow.check(ticket.status, FA.DISPATCH)
        await dispatch_to(
            c,
            ticket,
            clock=await policy.clock(ticket.tenant_id, ticket.category_id),
            lead=departments[0],
            co=departments[1:],
            reason=reason.strip(),
        )
    return ticket


async def sign_for_assignment(*, actor: Actor, assignment_id: int) -> Assignment:
    async with change(actor, Action.TICKET_HANDLE) as c:
        ticket, assignment = await c.lock_assignment(assignment_id)
        await save_assignment(assignment, AA.SIGN_FOR, signed_at=c.now, signed_by_id=actor.user_id)
        await c.move(
            ticket,
            FA.SIGN_FOR if is_top_lead(assignment) else FA.HANDLE,
            event=TicketEvent.SIGNED,
            assignment=assignment,
        )
    return assignment


async def _returned(c: Change, ticket: Ticket, assignment: Assignment, reason: str) -> None:
    """An assignment came back: the lead's return sends the ticket to the center's queue
    and ends the round; a co-handler's or a sub-dispatch's return only ends its own."""
    if is_top_lead(assignment):
        copy_deadlines(ticket, None)
        await c.move(ticket, FA.RETURN, reason=reason, assignment=assignment)
        await settle_assignments(c, ticket, [assignment.id], reason="the assignment was returned")
        await end_assignments(c, ticket, AA.CANCEL, reason="the ticket was returned to the center")
    else:
        await c.move(
            ticket, FA.HANDLE, event=TicketEvent.RETURNED, reason=reason, assignment=assignment
        )
        await end_subtree(c, ticket, assignment, reason="the assignment was returned")


async def return_assignment(*, actor: Actor, assignment_id: int, reason: str) -> Assignment:
    """Before signing: returned at once. After signing: a return request for a supervisor."""
    reason = policy.required(reason, "reason")
    async with change(actor, Action.TICKET_HANDLE) as c:
        ticket, assignment = await c.lock_assignment(assignment_id)
        if assignment.status is AssignmentStatus.PENDING_SIGN:
            await save_assignment(assignment, AA.RETURN, return_reason=reason)
            await _returned(c, ticket, assignment, reason)
        else:
            await save_assignment(assignment, AA.REQUEST_RETURN, return_reason=reason)
            await c.move(
                ticket,
                FA.HANDLE,
                event=TicketEvent.RETURN_REQUESTED,
                reason=reason,
                assignment=assignment,
            )
    return assignment


async def decide_return(
    *, actor: Actor, assignment_id: int, approve: bool, note: str = ""
) -> Assignment:
    async with change(actor, Action.TICKET_DECIDE) as c:
        ticket, assignment = await c.lock_assignment(assignment_id, Action.TICKET_DECIDE)
        if approve:
            await save_assignment(assignment, AA.APPROVE_RETURN)
            await _returned(c, ticket, assignment, note.strip() or assignment.return_reason)
        else:
            await save_assignment(assignment, AA.REJECT_RETURN)
            await c.move(
                ticket,
                FA.HANDLE,
                event=TicketEvent.RETURN_REJECTED,
                reason=note.strip(),
                assignment=assignment,
            )
    return assignment


async def sub_dispatch(
    *,
    actor: Actor,
    assignment_id: int,
    department_id: int,
    reply_deadline: datetime | None = None,
    reason: str = "",
) -> Assignment:
    """Hand part of a signed assignment down the department's own subtree, due no later."""
    async with change(actor, Action.TICKET_HANDLE) as c:
        ticket, parent = await c.lock_assignment(assignment_id)
        flow.check_assignment(parent.status, AA.SUB_DISPATCH)
        target = await policy.active_department(department_id, "departmentId")
        own = await Department.get(id=parent.department_id)
        if target.id == own.id or not target.path.startswith(own.path):
            raise Invalid(
                "sub-dispatch only into your own department's subtree", field="departmentId"
            )
        clock = await policy.clock(ticket.tenant_id, ticket.category_id)
        times = deadlines.for_sub_dispatch(
            clock.calendar,
            clock.policy,
            c.now,
            parent_reply=parent.reply_deadline,
            wanted_reply=reply_deadline,
        )
        child = await Assignment.create(
            ticket_id=ticket.id,
            department_id=target.id,
            parent_id=parent.id,
            round=parent.round,
            sign_deadline=times.sign,
            reply_deadline=times.reply,
            due_soon_at=times.due_soon,
            assigned_by_id=actor.user_id,
            created_at=c.now,
        )
        await c.move(
            ticket,
            FA.HANDLE,
            event=TicketEvent.SUB_DISPATCHED,
            reason=reason.strip(),
            assignment=parent,
            data={"child": child.id, "department": target.id, "reply_deadline": times.reply},
        )
    return child


async def recall_assignment(*, actor: Actor, assignment_id: int, reason: str) -> Assignment:
    """Take back a sub-dispatch that has not replied (pending sign-for, signed, asking to
    return): the department that sub-dispatched it (its subtree's handlers) or the
    center. The child is cancelled with whatever it sub-dispatched below, their pending
    extension requests withdrawn and supervision orders closed; the child's department is
    notified (``ticket.recalled``), and the parent may reply again."""
    reason = policy.required(reason, "reason")
    center = allowed(actor, Action.TICKET_DISPATCH)
    permission = Action.TICKET_DISPATCH if center else Action.TICKET_HANDLE
    require(actor, permission)
    async with change(actor, permission, checked=True) as c:
        # Readable is enough to lock; the department's right is checked on the parent.
        ticket, child = await c.lock_assignment(assignment_id, Action.TICKET_READ)
        parent = (
            await assignments_of(ticket).filter(id=child.parent_id).first()
            if child.parent_id is not None
            else None
        )
        if not center:
            owner = await Department.get(id=(parent or child).department_id)
            if not access.within(owner.path, await access.handling_paths(actor)):
                raise NotFound("assignment")
        if parent is None:
            raise Invalid("only a sub-dispatched assignment can be recalled", field="assignmentId")
        await save_assignment(child, AA.RECALL)
        await c.move(
            ticket,
            FA.HANDLE,
            event=TicketEvent.RECALLED,
            permission=permission,
            reason=reason,
            assignment=child,
            data={"parent": parent.id, "parent_department": parent.department_id},
        )
        await end_subtree(c, ticket, child, reason="the assignment was recalled")
    return child


# Children still working on what their parent is to answer for.
_UNREPLIED = sorted(flow.ACTIVE - {AssignmentStatus.REPLIED})


async def _check_children_replied(assignment: Assignment) -> None:
    """An assignment answers for what it sub-dispatched: its reply is refused while a
    child has neither replied nor come back (docs/tickets.md "Open work")."""
    children = await Assignment.filter(parent_id=assignment.id, status__in=_UNREPLIED).order_by(
        "id"
    )
    if children:
        names = dict(
            await Department.filter(id__in=[a.department_id for a in children]).values_list(
                "id", "name"
            )
        )
        raise Conflict(
            "the sub-dispatched {departments} have not replied; wait for them, have them return,"
            " or recall them",
            field="assignmentId",
            departments=[names.get(a.department_id, str(a.department_id)) for a in children],
        )


async def reply_assignment(
    *,
    actor: Actor,
    assignment_id: int,
    reply: str,
    resolved: bool | None = None,
    public_reply: str | None = None,
) -> Assignment:
    """The lead's reply moves the ticket to review; a co-handler's is its opinion; a
    sub-dispatch's goes to its parent. Co-handlers' opinions are optional."""
    reply = policy.required(reply, "reply", "the reply")
    async with change(actor, Action.TICKET_HANDLE) as c:
        ticket, assignment = await c.lock_assignment(assignment_id)
        flow.check_assignment(assignment.status, AA.REPLY)
        await _check_children_replied(assignment)
        await save_assignment(
            assignment,
            AA.REPLY,
            reply=reply,
            resolved=resolved,
            replied_at=c.now,
            replied_by_id=actor.user_id,
        )
        if is_top_lead(assignment):
            ticket.resolved = resolved
            ticket.public_reply = (public_reply or reply).strip()
            await c.move(ticket, FA.REPLY, assignment=assignment, data={"resolved": resolved})
        else:
            await c.move(
                ticket,
                FA.HANDLE,
                event=(
                    TicketEvent.OPINION if assignment.parent_id is None else TicketEvent.SUB_REPLIED
                ),
                assignment=assignment,
                data={"resolved": resolved},
            )
        # A reply asks for no more time: its pending extension request is withdrawn.
        await withdraw_extensions(
            c, ticket, reason="the assignment replied", assignment_ids=[assignment.id]
        )
    return assignment

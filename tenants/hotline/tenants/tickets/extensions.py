"""Extensions: a department asks for more working days with a reason; a supervisor
grants or refuses. The reply time including every extension never exceeds the policy's
cap (30 working days from dispatch): what could not be granted is refused at once.
"""

from __future__ import annotations

from hotline.tenants.kernel.access import Action, Actor
from hotline.tenants.kernel.errors import Conflict, NotFound
from hotline.tenants.kernel.events import TicketEvent
from hotline.tenants.tickets import deadlines, flow, policy
from hotline.tenants.tickets.assignments import copy_deadlines, is_top_lead, save_assignment
from hotline.tenants.tickets.flow import Action as FA
from hotline.tenants.tickets.flow import AssignmentAction as AA
from hotline.tenants.tickets.flow import IllegalTransition
from hotline.tenants.tickets.models import ExtensionRequest
from hotline.tenants.tickets.work import change


async def request_extension(
    *, actor: Actor, assignment_id: int, working_days: int, reason: str
) -> ExtensionRequest:
    reason = policy.required(reason, "reason")
    async with change(actor, Action.TICKET_HANDLE) as c:
        ticket, assignment = await c.lock_assignment(assignment_id)
        flow.check_assignment(assignment.status, AA.EXTEND)
        if await ExtensionRequest.exists(assignment_id=assignment.id, status="pending"):
            raise Conflict("an extension request is already pending", field="assignmentId")
        clock = await policy.clock(ticket.tenant_id, ticket.category_id)
        # Refuse at once what the supervisor could not grant.
        deadlines.extended(
            clock.calendar,
            clock.policy,
            dispatched_at=assignment.created_at,
            current_reply=assignment.reply_deadline,
            working_days=working_days,
        )
        request = await ExtensionRequest.create(
            assignment_id=assignment.id,
            ticket_id=ticket.id,
            working_days=working_days,
            reason=reason,
            requested_by_id=actor.user_id,
        )
        await c.move(
            ticket,
            FA.HANDLE,
            event=TicketEvent.EXTENSION_REQUESTED,
            reason=reason,
            assignment=assignment,
            data={"request": request.id, "working_days": working_days},
        )
    return request


async def decide_extension(
    *, actor: Actor, extension_id: int, approve: bool, note: str = ""
) -> ExtensionRequest:
    """A supervisor grants or refuses; a grant moves the assignment's reply deadline."""
    async with change(actor, Action.TICKET_DECIDE) as c:
        found = await ExtensionRequest.get_or_none(id=extension_id)
        if found is None:
            raise NotFound("extension request")
        ticket, assignment = await c.lock_assignment(found.assignment_id, Action.TICKET_DECIDE)
        request = await ExtensionRequest.filter(id=extension_id).select_for_update().first()
        if request is None:
            raise NotFound("extension request")
        if request.status != "pending":
            raise IllegalTransition("extension request", request.status, "decide")
        request.update_from_dict(
            {"decided_by_id": actor.user_id, "decided_at": c.now, "decision_note": note.strip()}
        )
        if approve:
            clock = await policy.clock(ticket.tenant_id, ticket.category_id)
            reply, due_soon = deadlines.extended(
                clock.calendar,
                clock.policy,
                dispatched_at=assignment.created_at,
                current_reply=assignment.reply_deadline,
                working_days=request.working_days,
            )
            await save_assignment(
                assignment,
                AA.EXTEND,
                reply_deadline=reply,
                due_soon_at=due_soon,
                extended_days=assignment.extended_days + request.working_days,
            )
            request.status, request.new_deadline = "approved", reply
            if is_top_lead(assignment):
                copy_deadlines(ticket, assignment)
        else:
            request.status = "rejected"
        await request.save()
        await c.move(
            ticket,
            FA.HANDLE,
            event=(TicketEvent.EXTENSION_APPROVED if approve else TicketEvent.EXTENSION_REJECTED),
            reason=note.strip(),
            assignment=assignment,
            data={"request": request.id, "new_deadline": request.new_deadline},
        )
    return request

"""The center closes the loop: it reviews the lead's reply, revisits the citizen for a
grade (or takes the citizen's own rating), and answers directly from the knowledge base.
"""

from __future__ import annotations

from hotline.platform.tenancy import current_tenant_id
from hotline.tenants.kernel.access import Action, Actor
from hotline.tenants.kernel.errors import Conflict, Invalid
from hotline.tenants.kernel.events import TicketEvent
from hotline.tenants.knowledge import articles
from hotline.tenants.provinces.settings import city_settings
from hotline.tenants.tickets import access, flow, policy
from hotline.tenants.tickets.assignments import (
    copy_deadlines,
    end_assignments,
    lead_of,
    save_assignment,
)
from hotline.tenants.tickets.citizen import proven_ticket
from hotline.tenants.tickets.flow import Action as FA
from hotline.tenants.tickets.flow import AssignmentAction as AA
from hotline.tenants.tickets.flow import IllegalTransition
from hotline.tenants.tickets.models import Revisit, Satisfaction, Status, Ticket
from hotline.tenants.tickets.sweep import rewind
from hotline.tenants.tickets.work import Change, change


async def review_reply(*, actor: Actor, ticket_id: int, approve: bool, reason: str = "") -> Ticket:
    """Approve: the round's assignments close and the ticket awaits the revisit.
    Reject: the lead assignment goes back to signed, with the reason."""
    if not approve:
        reason = policy.required(reason, "reason")
    async with change(actor, Action.TICKET_REVIEW) as c:
        ticket = await c.lock(ticket_id)
        lead = await lead_of(ticket)
        if approve:
            await c.move(ticket, FA.REVIEW_APPROVE, reason=reason.strip(), assignment=lead)
            await end_assignments(c, ticket, AA.CLOSE, reason="the reply was approved")
            ticket.revisit_attempts = 0
        else:
            flow.check(ticket.status, FA.REVIEW_REJECT)
            if lead is None:
                raise Conflict("the ticket has no lead assignment")
            await c.move(ticket, FA.REVIEW_REJECT, reason=reason, assignment=lead, stage=False)
            await save_assignment(lead, AA.REOPEN)
            await rewind(deadlines=[lead.reply_deadline, lead.due_soon_at], now=c.now)
    return ticket


async def _grade(
    c: Change,
    ticket: Ticket,
    *,
    grade: Satisfaction,
    resolved: bool | None,
    source: str,
    note: str,
) -> None:
    if grade is Satisfaction.UNREACHABLE:
        raise Invalid("record an unreachable citizen with reached=false", field="grade")
    lead = await lead_of(ticket)
    action = FA.REVISIT_UNSATISFIED if grade is Satisfaction.UNSATISFIED else FA.REVISIT_SATISFIED
    ticket.satisfaction, ticket.satisfaction_source = grade, source
    ticket.revisited_at = c.now
    if resolved is not None:
        ticket.resolved = resolved
    await c.move(
        ticket,
        action,
        event=TicketEvent.REVISITED if source == "center" else TicketEvent.RATED,
        reason=note,
        # an unsatisfied grade counts against the lead department
        department_id=lead.department_id if lead else None,
        data={"grade": grade.value, "resolved": resolved, "source": source},
    )
    if ticket.status is Status.REOPENED:
        ticket.reopen_count += 1
        copy_deadlines(ticket, None)
    await Revisit.create(
        tenant_id=ticket.tenant_id,
        province_id=ticket.province_id,
        ticket_id=ticket.id,
        attempt=ticket.revisit_attempts + 1,
        reached=True,
        grade=grade,
        resolved=resolved,
        source=source,
        note=note,
        by_id=c.actor.user_id,
    )


async def revisit_ticket(
    *,
    actor: Actor,
    ticket_id: int,
    reached: bool,
    grade: Satisfaction | None = None,
    resolved: bool | None = None,
    note: str = "",
) -> Ticket:
    """The center's call to the citizen. Unreached attempts count up to the city's limit,
    then the ticket closes as unreachable; unsatisfied reopens it for re-dispatch."""
    if reached and grade is None:
        raise Invalid("give the citizen's grade", field="grade")
    async with change(actor, Action.TICKET_REVISIT) as c:
        ticket = await c.lock(ticket_id)
        if ticket.status is not Status.REVISIT:
            raise IllegalTransition("ticket", ticket.status.value, "revisit")
        if reached and grade is not None:
            await _grade(
                c, ticket, grade=grade, resolved=resolved, source="center", note=note.strip()
            )
            return ticket
        clock = await policy.clock(ticket.tenant_id, ticket.category_id)
        attempt = ticket.revisit_attempts + 1
        final = attempt >= clock.policy.revisit_attempt_limit
        ticket.revisit_attempts = attempt
        if final:
            ticket.satisfaction = Satisfaction.UNREACHABLE
            ticket.satisfaction_source = "center"
            ticket.revisited_at = c.now
        await c.move(
            ticket,
            FA.REVISIT_UNREACHABLE if final else FA.REVISIT_ATTEMPT,
            reason=note.strip(),
            data={"attempt": attempt},
        )
        await Revisit.create(
            ticket_id=ticket.id,
            attempt=attempt,
            reached=False,
            note=note.strip(),
            by_id=actor.user_id,
        )
    return ticket


async def rate_ticket(
    *,
    actor: Actor,
    number: str,
    query_code: str,
    grade: Satisfaction,
    resolved: bool | None = None,
    note: str = "",
) -> Ticket:
    """The citizen's own grade (number + query code, no login). During the revisit it
    counts like the center's; on a ticket closed without a grade it is recorded. The
    first grade wins. A wrong code is NotFound, like a wrong number."""
    with access.city_scope(actor):
        found = await proven_ticket(
            tenant_id=current_tenant_id(), number=number, query_code=query_code
        )
    note = note.strip()[:500]
    async with change(actor, Action.TICKET_READ, checked=True) as c:
        ticket = await c.lock(found.id)
        if ticket.status is Status.REVISIT:
            await _grade(c, ticket, grade=grade, resolved=resolved, source="citizen", note=note)
        elif ticket.status is Status.CLOSED and ticket.satisfaction is None:
            if grade is Satisfaction.UNREACHABLE:
                raise Invalid("not a citizen's grade", field="grade")
            ticket.satisfaction, ticket.satisfaction_source = grade, "citizen"
            await c.record(
                ticket,
                TicketEvent.RATED,
                actor_role="citizen",
                reason=note,
                data={"grade": grade.value, "resolved": resolved, "source": "citizen"},
            )
            await Revisit.create(
                ticket_id=ticket.id,
                attempt=ticket.revisit_attempts + 1,
                reached=True,
                grade=grade,
                resolved=resolved,
                source="citizen",
                note=note,
            )
        else:
            raise Conflict("this ticket cannot be rated now", field="grade")
    return ticket


async def answer_from_article(
    *, actor: Actor, ticket_id: int, article_id: int, answer: str | None = None
) -> Ticket:
    """Answer directly from the knowledge base (the "direct answer rate"): the ticket
    closes, or goes to a revisit when the city samples direct answers."""
    async with change(actor, Action.TICKET_DISPATCH) as c:
        # The article must be a published, valid one this city can see, even when the
        # agent adapts its wording.
        _, article_text = await articles.article_answer(actor=actor, article_id=article_id)
        text = answer.strip() if answer else article_text
        if not text:
            raise Invalid("the article has no answer to give", field="articleId")
        tenant = await policy.city(current_tenant_id())
        ticket = await c.lock(ticket_id)
        ticket.direct_answer, ticket.article_id, ticket.public_reply = True, article_id, text
        copy_deadlines(ticket, None)
        await c.move(ticket, FA.ANSWER, data={"article_id": article_id})
        sampled = city_settings(tenant).revisit_sampling
        await c.move(ticket, FA.SAMPLE_REVISIT if sampled else FA.CLOSE_ANSWERED)
    return ticket

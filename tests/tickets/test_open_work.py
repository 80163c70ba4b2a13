"""Open work does not outlive what it belongs to (docs/tickets.md "Open work"):

* a reply withdraws the assignment's pending extension request (timeline
  ``extension_withdrawn``), which no supervisor can decide afterwards;
* an assignment's reply is refused (CONFLICT naming them) while its sub-dispatched
  children have neither replied nor come back;
* a ticket that ends (revisit satisfied, cancelled, merged, answered directly) closes
  its open supervision orders (timeline ``supervision_closed``, ``automatic``);
* so does an assignment that stops working — returned (with what it sub-dispatched),
  its round ended by the lead's return, its reply approved — for the orders aimed at it;
  an assignment that no longer works cannot be supervised.
"""

from __future__ import annotations

import pytest

from hotline.platform.tenancy import use_scope
from hotline.tenants.kernel.errors import Conflict
from hotline.tenants.tickets import center, dispatch, extensions, review, supervision
from hotline.tenants.tickets.flow import IllegalTransition
from hotline.tenants.tickets.models import (
    Assignment,
    ExtensionRequest,
    Satisfaction,
    Status,
    Supervision,
    Ticket,
    TimelineEvent,
)

from .conftest import City, World


async def _signed(city: City) -> tuple[Ticket, Assignment]:
    ticket = await city.ticket()
    await dispatch.dispatch_ticket(
        actor=city.agent, ticket_id=ticket.id, lead_department_id=city.district.id
    )
    with use_scope(city.scope()):
        lead = await Assignment.get(ticket_id=ticket.id, is_lead=True)
    await dispatch.sign_for_assignment(actor=city.district_handler, assignment_id=lead.id)
    return ticket, lead


async def _actions(city: City, ticket_id: int) -> list[str]:
    with use_scope(city.scope()):
        return [e.action for e in await TimelineEvent.filter(ticket_id=ticket_id).order_by("seq")]


async def test_a_reply_withdraws_the_pending_extension_request(world: World) -> None:
    alpha = world.alpha
    ticket, lead = await _signed(alpha)
    request = await extensions.request_extension(
        actor=alpha.district_handler, assignment_id=lead.id, working_days=3, reason="need time"
    )
    await dispatch.reply_assignment(actor=alpha.district_handler, assignment_id=lead.id, reply="ok")
    with use_scope(alpha.scope()):
        after = await ExtensionRequest.get(id=request.id)
        event = await TimelineEvent.get(ticket_id=ticket.id, action="extension_withdrawn")
    assert after.status == "withdrawn"
    assert after.decided_at is not None
    assert event.assignment_id == lead.id
    assert event.data["request"] == request.id
    actions = await _actions(alpha, ticket.id)
    assert actions.index("reply") < actions.index("extension_withdrawn")
    with pytest.raises(IllegalTransition) as refused:
        await extensions.decide_extension(
            actor=alpha.supervisor, extension_id=request.id, approve=True
        )
    assert refused.value.status == "withdrawn"


async def test_a_reply_waits_for_the_sub_dispatched_children(world: World) -> None:
    alpha = world.alpha
    ticket, lead = await _signed(alpha)
    child = await dispatch.sub_dispatch(
        actor=alpha.district_handler, assignment_id=lead.id, department_id=alpha.street.id
    )
    with use_scope(alpha.scope()):
        before = await Ticket.get(id=ticket.id)
    with pytest.raises(Conflict) as refused:
        await dispatch.reply_assignment(
            actor=alpha.district_handler, assignment_id=lead.id, reply="done"
        )
    assert refused.value.field == "assignmentId"
    assert refused.value.params["departments"] == [alpha.street.name]
    assert alpha.street.name in refused.value.message
    with use_scope(alpha.scope()):
        unchanged = await Ticket.get(id=ticket.id)
        still = await Assignment.get(id=lead.id)
    assert (unchanged.status, unchanged.version) == (Status.ACCEPTED, before.version)
    assert still.reply is None or still.reply == ""
    # signed but not replied: still refused; replied: the lead may answer
    await dispatch.sign_for_assignment(actor=alpha.street_handler, assignment_id=child.id)
    with pytest.raises(Conflict):
        await dispatch.reply_assignment(
            actor=alpha.district_handler, assignment_id=lead.id, reply="done"
        )
    await dispatch.reply_assignment(
        actor=alpha.street_handler, assignment_id=child.id, reply="cleared"
    )
    await dispatch.reply_assignment(
        actor=alpha.district_handler, assignment_id=lead.id, reply="done"
    )
    with use_scope(alpha.scope()):
        assert (await Ticket.get(id=ticket.id)).status is Status.REPLIED


async def test_a_child_that_came_back_does_not_hold_the_reply(world: World) -> None:
    alpha = world.alpha
    ticket, lead = await _signed(alpha)
    child = await dispatch.sub_dispatch(
        actor=alpha.district_handler, assignment_id=lead.id, department_id=alpha.street.id
    )
    await dispatch.return_assignment(
        actor=alpha.street_handler, assignment_id=child.id, reason="not ours"
    )
    await dispatch.reply_assignment(
        actor=alpha.district_handler, assignment_id=lead.id, reply="done"
    )
    with use_scope(alpha.scope()):
        assert (await Ticket.get(id=ticket.id)).status is Status.REPLIED


async def _supervised(city: City, ticket: Ticket) -> Supervision:
    order = await supervision.open_supervision(
        actor=city.supervisor, ticket_id=ticket.id, reason="late"
    )
    return await supervision.escalate_supervision(actor=city.supervisor, supervision_id=order.id)


async def _assert_closed(city: City, ticket: Ticket, order: Supervision) -> None:
    with use_scope(city.scope()):
        after = await Supervision.get(id=order.id)
        event = await TimelineEvent.get(ticket_id=ticket.id, action="supervision_closed")
        final = await Ticket.get(id=ticket.id)
    assert after.status == "closed"
    assert after.escalate_at is None
    assert after.closed_at is not None
    assert event.data["supervision"] == order.id
    assert event.data["automatic"] is True
    assert event.reason == f"the ticket is {final.status.value}"


async def test_a_satisfied_revisit_closes_the_open_supervision(world: World) -> None:
    alpha = world.alpha
    ticket, lead = await _signed(alpha)
    await dispatch.reply_assignment(actor=alpha.district_handler, assignment_id=lead.id, reply="ok")
    await review.review_reply(actor=alpha.dispatcher, ticket_id=ticket.id, approve=True)
    # awaiting the revisit no department handles it: the order is the ticket's own
    order = await _supervised(alpha, ticket)
    assert order.level == 2
    assert (order.assignment_id, order.department_id) == (None, None)
    await review.revisit_ticket(
        actor=alpha.agent, ticket_id=ticket.id, reached=True, grade=Satisfaction.SATISFIED
    )
    await _assert_closed(alpha, ticket, order)


async def _closed_because(city: City, order: Supervision) -> str:
    """The reason on the ``supervision_closed`` event of ``order`` (it must be closed)."""
    with use_scope(city.scope()):
        after = await Supervision.get(id=order.id)
        events = await TimelineEvent.filter(
            ticket_id=order.ticket_id, action="supervision_closed"
        ).order_by("seq")
    assert (after.status, after.escalate_at) == ("closed", None)
    mine = [e for e in events if e.data["supervision"] == order.id]
    assert len(mine) == 1
    assert mine[0].data["automatic"] is True
    assert mine[0].assignment_id == order.assignment_id
    return mine[0].reason


async def test_a_returned_assignment_takes_its_supervision_orders_with_it(world: World) -> None:
    """Supervision presses a department's handling: the department that returned the
    work, and the round its return ended, are pressed no more; the next department's
    work starts without an order (the supervisor or the sweep opens one when late)."""
    alpha = world.alpha
    ticket = await alpha.ticket()
    await dispatch.dispatch_ticket(
        actor=alpha.agent,
        ticket_id=ticket.id,
        lead_department_id=alpha.district.id,
        co_department_ids=[alpha.bureau.id],
    )
    with use_scope(alpha.scope()):
        lead = await Assignment.get(ticket_id=ticket.id, is_lead=True)
        co = await Assignment.get(ticket_id=ticket.id, is_lead=False)
    on_lead = await _supervised(alpha, ticket)
    on_co = await supervision.open_supervision(
        actor=alpha.supervisor, ticket_id=ticket.id, reason="late", assignment_id=co.id
    )
    assert (on_lead.assignment_id, on_co.assignment_id) == (lead.id, co.id)

    # the co-handler returns: its order closes, the lead's stays
    await dispatch.return_assignment(actor=alpha.bureau_handler, assignment_id=co.id, reason="no")
    assert await _closed_because(alpha, on_co) == "the assignment was returned"
    with use_scope(alpha.scope()):
        assert (await Supervision.get(id=on_lead.id)).status == "open"
    # a returned assignment cannot be supervised any more
    with pytest.raises(Conflict) as refused:
        await supervision.open_supervision(
            actor=alpha.supervisor, ticket_id=ticket.id, reason="x", assignment_id=co.id
        )
    assert refused.value.field == "assignmentId"

    # the lead returns: the ticket goes back to the center with no order on the district
    await dispatch.return_assignment(
        actor=alpha.district_handler, assignment_id=lead.id, reason="not ours"
    )
    assert await _closed_because(alpha, on_lead) == "the assignment was returned"
    actions = await _actions(alpha, ticket.id)
    assert actions[-2:] == ["return", "supervision_closed"]

    # re-dispatched to the bureau: a new order presses the bureau's handling
    await dispatch.dispatch_ticket(
        actor=alpha.dispatcher, ticket_id=ticket.id, lead_department_id=alpha.bureau.id
    )
    order = await supervision.open_supervision(
        actor=alpha.supervisor, ticket_id=ticket.id, reason="late again"
    )
    assert order.department_id == alpha.bureau.id


async def test_an_approved_reply_closes_the_departments_supervision(world: World) -> None:
    alpha = world.alpha
    ticket, lead = await _signed(alpha)
    order = await _supervised(alpha, ticket)
    await dispatch.reply_assignment(actor=alpha.district_handler, assignment_id=lead.id, reply="ok")
    with use_scope(alpha.scope()):
        assert (await Supervision.get(id=order.id)).status == "open"  # the reply awaits review
    await review.review_reply(actor=alpha.dispatcher, ticket_id=ticket.id, approve=True)
    assert await _closed_because(alpha, order) == "the reply was approved"
    with use_scope(alpha.scope()):
        assert (await Ticket.get(id=ticket.id)).status is Status.REVISIT


async def test_a_returned_sub_dispatch_ends_what_it_sub_dispatched(world: World) -> None:
    alpha = world.alpha
    ticket, lead = await _signed(alpha)
    child = await dispatch.sub_dispatch(
        actor=alpha.district_handler, assignment_id=lead.id, department_id=alpha.street.id
    )
    await dispatch.sign_for_assignment(actor=alpha.street_handler, assignment_id=child.id)
    grandchild = await dispatch.sub_dispatch(
        actor=alpha.street_handler, assignment_id=child.id, department_id=alpha.community.id
    )
    order = await supervision.open_supervision(
        actor=alpha.supervisor, ticket_id=ticket.id, reason="late", assignment_id=grandchild.id
    )
    await dispatch.return_assignment(
        actor=alpha.street_handler, assignment_id=child.id, reason="not ours"
    )
    await dispatch.decide_return(actor=alpha.supervisor, assignment_id=child.id, approve=True)
    with use_scope(alpha.scope()):
        assert (await Assignment.get(id=grandchild.id)).status.value == "cancelled"
    assert await _closed_because(alpha, order) == "the assignment was returned"


async def test_cancel_merge_and_direct_answer_close_open_supervisions(world: World) -> None:
    alpha = world.alpha
    cancelled, lead = await _signed(alpha)
    order = await _supervised(alpha, cancelled)
    pending = await extensions.request_extension(
        actor=alpha.district_handler, assignment_id=lead.id, working_days=2, reason="r"
    )
    await center.cancel_ticket(actor=alpha.agent, ticket_id=cancelled.id, reason="duplicate call")
    await _assert_closed(alpha, cancelled, order)
    with use_scope(alpha.scope()):
        assert (await ExtensionRequest.get(id=pending.id)).status == "withdrawn"

    merged = await alpha.ticket()
    into = await alpha.ticket()
    order = await _supervised(alpha, merged)
    await center.merge_tickets(actor=alpha.agent, ticket_id=merged.id, into_ticket_id=into.id)
    await _assert_closed(alpha, merged, order)

    answered = await alpha.ticket()
    order = await _supervised(alpha, answered)
    await review.answer_from_article(
        actor=alpha.agent, ticket_id=answered.id, article_id=alpha.article_id
    )
    with use_scope(alpha.scope()):
        status = (await Ticket.get(id=answered.id)).status
    if status is Status.CLOSED:
        await _assert_closed(alpha, answered, order)
    else:  # the city samples direct answers for a revisit: still open work
        assert status is Status.REVISIT

"""A lead recalls a stuck sub-dispatch (docs/tickets.md "Recalling a sub-dispatch"):
the department that sub-dispatched it (or the center) takes back a child that has not
replied; the child and what it sub-dispatched further are cancelled, their pending
extension requests withdrawn and supervision orders closed, the child's department is
told through the outbox, and the lead may reply. Anyone else — the child itself, a
co-handling bureau, another city — meets the NotFound of an assignment out of reach,
and a refused recall changes nothing."""

from __future__ import annotations

import pytest

from hotline.platform.outbox.models import OutboxMessage
from hotline.platform.tenancy import Scope, use_scope
from hotline.tenants.kernel.errors import Invalid, NotFound
from hotline.tenants.tickets import dispatch, extensions, supervision
from hotline.tenants.tickets.flow import IllegalTransition
from hotline.tenants.tickets.models import (
    Assignment,
    AssignmentStatus,
    ExtensionRequest,
    Status,
    Supervision,
    Ticket,
    TimelineEvent,
)

from .conftest import City, World


async def _sub_dispatched(city: City, *, co: bool = False) -> tuple[Ticket, Assignment, Assignment]:
    ticket = await city.ticket()
    await dispatch.dispatch_ticket(
        actor=city.agent,
        ticket_id=ticket.id,
        lead_department_id=city.district.id,
        co_department_ids=[city.bureau.id] if co else [],
    )
    with use_scope(city.scope()):
        lead = await Assignment.get(ticket_id=ticket.id, is_lead=True)
    await dispatch.sign_for_assignment(actor=city.district_handler, assignment_id=lead.id)
    child = await dispatch.sub_dispatch(
        actor=city.district_handler, assignment_id=lead.id, department_id=city.street.id
    )
    return ticket, lead, child


async def _state(city: City, ticket_id: int) -> tuple[int, int, list[AssignmentStatus]]:
    with use_scope(city.scope()):
        ticket = await Ticket.get(id=ticket_id)
        statuses = [a.status for a in await Assignment.filter(ticket_id=ticket_id).order_by("id")]
    return ticket.version, ticket.timeline_seq, statuses


async def test_the_lead_recalls_a_stuck_child_and_may_reply(world: World) -> None:
    alpha = world.alpha
    ticket, lead, child = await _sub_dispatched(alpha)
    await dispatch.sign_for_assignment(actor=alpha.street_handler, assignment_id=child.id)
    asked = await extensions.request_extension(
        actor=alpha.street_handler, assignment_id=child.id, working_days=2, reason="现场复杂"
    )
    order = await supervision.open_supervision(
        actor=alpha.supervisor, ticket_id=ticket.id, reason="街道迟迟未办", assignment_id=child.id
    )
    grandchild = await dispatch.sub_dispatch(
        actor=alpha.street_handler, assignment_id=child.id, department_id=alpha.community.id
    )

    recalled = await dispatch.recall_assignment(
        actor=alpha.district_handler, assignment_id=child.id, reason="区里直接处理"
    )

    assert recalled.status is AssignmentStatus.CANCELLED
    with use_scope(alpha.scope()):
        below = await Assignment.get(id=grandchild.id)
        request = await ExtensionRequest.get(id=asked.id)
        closed = await Supervision.get(id=order.id)
        events = await TimelineEvent.filter(ticket_id=ticket.id).order_by("seq")
    assert below.status is AssignmentStatus.CANCELLED  # nobody left to reply to
    assert (request.status, request.decision_note) == ("withdrawn", "the assignment was recalled")
    assert closed.status == "closed"
    assert closed.escalate_at is None
    actions = [e.action for e in events]
    recall = events[actions.index("recall")]
    assert (recall.assignment_id, recall.department_id) == (child.id, alpha.street.id)
    assert recall.reason == "区里直接处理"
    assert recall.actor_role == "dept_handler"
    assert recall.data["parent"] == lead.id
    shut = events[actions.index("supervision_closed")]
    assert shut.reason == "the assignment was recalled"
    assert shut.data == {"supervision": order.id, "level": 1, "automatic": True}
    assert actions.index("recall") < actions.index("extension_withdrawn")
    assert actions.index("recall") < actions.index("supervision_closed")

    # the street hears of it through the outbox
    with use_scope(Scope.platform()):
        told = await OutboxMessage.filter(
            tenant_id=alpha.id,
            payload__contains={"event": "ticket.recalled", "ticket_id": ticket.id},
        )
    assert told, "the street was not notified"

    # the lead no longer waits for the street
    await dispatch.reply_assignment(
        actor=alpha.district_handler, assignment_id=lead.id, reply="已由区里处理完毕"
    )
    with use_scope(alpha.scope()):
        assert (await Ticket.get(id=ticket.id)).status is Status.REPLIED


async def test_the_center_may_recall_an_unsigned_child(world: World) -> None:
    alpha = world.alpha
    ticket, _lead, child = await _sub_dispatched(alpha)
    await dispatch.recall_assignment(actor=alpha.dispatcher, assignment_id=child.id, reason="错派")
    with use_scope(alpha.scope()):
        event = await TimelineEvent.get(ticket_id=ticket.id, action="recall")
        assert (await Assignment.get(id=child.id)).status is AssignmentStatus.CANCELLED
    assert event.actor_role == "dispatcher"


async def test_who_may_not_recall_and_what_cannot_be_recalled(world: World) -> None:
    alpha, beta = world.alpha, world.beta
    ticket, lead, child = await _sub_dispatched(alpha, co=True)
    before = await _state(alpha, ticket.id)

    # the child itself, the co-handling bureau, another city: out of reach
    for outsider in (alpha.street_handler, alpha.bureau_handler, beta.district_handler):
        with pytest.raises(NotFound) as refused:
            await dispatch.recall_assignment(actor=outsider, assignment_id=child.id, reason="r")
        assert refused.value.params == {"what": "assignment"}
    with pytest.raises(NotFound):  # another city's center
        await dispatch.recall_assignment(actor=beta.dispatcher, assignment_id=child.id, reason="r")
    with pytest.raises(NotFound):  # does not exist
        await dispatch.recall_assignment(
            actor=alpha.district_handler, assignment_id=10**12, reason="r"
        )
    # a top-level assignment is the center's to cancel or re-dispatch
    with pytest.raises(Invalid) as top:
        await dispatch.recall_assignment(
            actor=alpha.district_handler, assignment_id=lead.id, reason="r"
        )
    assert top.value.field == "assignmentId"
    with pytest.raises(Invalid) as blank:
        await dispatch.recall_assignment(
            actor=alpha.district_handler, assignment_id=child.id, reason="  "
        )
    assert blank.value.field == "reason"
    assert await _state(alpha, ticket.id) == before

    # a child that replied has done its part: recalling it is a CONFLICT
    await dispatch.sign_for_assignment(actor=alpha.street_handler, assignment_id=child.id)
    await dispatch.reply_assignment(actor=alpha.street_handler, assignment_id=child.id, reply="ok")
    replied = await _state(alpha, ticket.id)
    with pytest.raises(IllegalTransition):
        await dispatch.recall_assignment(
            actor=alpha.district_handler, assignment_id=child.id, reason="r"
        )
    assert await _state(alpha, ticket.id) == replied

"""The whole work-order story at service level, in two cities of two provinces, with
the other city's actors trying every step on this city's ids."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from hotline.platform.crypto import decrypt
from hotline.platform.tenancy import use_scope
from hotline.tenants.kernel.errors import DomainError, Invalid, NotFound, PermissionDenied
from hotline.tenants.tickets import (
    access,
    center,
    dispatch,
    extensions,
    intake,
    review,
    supervision,
)
from hotline.tenants.tickets.flow import IllegalTransition
from hotline.tenants.tickets.geo import Datum
from hotline.tenants.tickets.models import (
    Assignment,
    AssignmentStatus,
    Channel,
    ExtensionRequest,
    Kind,
    Satisfaction,
    Status,
    Ticket,
    TimelineEvent,
)
from hotline.tenants.tickets.phones import phone_hash
from hotline.tenants.tickets.timeline import verify_chain

from .conftest import City, World


def _pair(world: World, name: str) -> tuple[City, City]:
    return (world.alpha, world.beta) if name == "alpha" else (world.beta, world.alpha)


async def _isolated(other: City, ticket: Ticket, assignment_id: int | None = None) -> None:
    """The other city's actors get NotFound for every step on this city's ids."""
    with pytest.raises(NotFound):
        await access.access_ticket(actor=other.agent, ticket_id=ticket.id)
    with pytest.raises(NotFound):
        await dispatch.dispatch_ticket(
            actor=other.agent, ticket_id=ticket.id, lead_department_id=other.district.id
        )
    with pytest.raises(NotFound):
        await review.review_reply(actor=other.dispatcher, ticket_id=ticket.id, approve=True)
    with pytest.raises(NotFound):
        await center.urge_ticket(actor=other.agent, ticket_id=ticket.id)
    with pytest.raises(NotFound):
        await supervision.open_supervision(actor=other.supervisor, ticket_id=ticket.id, reason="x")
    if assignment_id is not None:
        with pytest.raises(NotFound):
            await access.access_assignment(actor=other.agent, assignment_id=assignment_id)
        with pytest.raises(NotFound):
            await dispatch.sign_for_assignment(
                actor=other.district_handler, assignment_id=assignment_id
            )
        with pytest.raises(NotFound):
            await dispatch.reply_assignment(
                actor=other.district_handler, assignment_id=assignment_id, reply="x"
            )


async def _timeline(city: City, ticket_id: int) -> list[TimelineEvent]:
    with use_scope(city.scope()):
        return await TimelineEvent.filter(ticket_id=ticket_id).order_by("seq")


async def _assignments(city: City, ticket_id: int) -> list[Assignment]:
    with use_scope(city.scope()):
        return await Assignment.filter(ticket_id=ticket_id).order_by("id")


async def _reload(city: City, ticket_id: int) -> Ticket:
    with use_scope(city.scope()):
        return await Ticket.get(id=ticket_id)


@pytest.mark.parametrize("name", ["alpha", "beta"])
async def test_whole_story(world: World, name: str) -> None:
    city, other = _pair(world, name)

    # Intake: a phone complaint with a GCJ-02 location and a category.
    created = await intake.create_ticket(
        actor=city.agent,
        channel=Channel.PHONE,
        kind=Kind.COMPLAINT,
        content="小区门口有违建，影响通行",
        citizen_name="李四",
        citizen_phone="139-0000-5678",
        address="泉城路 1 号",
        lng=117.0286,
        lat=36.6686,
        datum=Datum.GCJ02,
        category_id=city.construction.id,
        area_id=city.street.id,
    )
    ticket = created.ticket
    assert created.created
    assert len(created.query_code) == 6
    assert created.query_code.isdigit()
    assert ticket.number.startswith(city.tenant.number_prefix)
    assert len(ticket.number) == 16
    assert ticket.status is Status.RECEIVED
    assert ticket.citizen_phone_enc
    assert "5678" not in ticket.citizen_phone_enc
    assert decrypt(ticket.citizen_phone_enc) == "+8613900005678"
    assert ticket.citizen_phone_hash == phone_hash("13900005678")
    assert ticket.lng is not None
    assert ticket.lat is not None
    assert Decimal("117.020") < ticket.lng < Decimal("117.0286")  # GCJ-02 is shifted east
    await _isolated(other, ticket)

    # Routing rules suggest the district (first rule), then the bureau.
    suggestions = await intake.suggest_departments(
        actor=city.agent,
        content=ticket.content,
        category_id=city.construction.id,
        area_id=city.street.id,
    )
    assert [s.department.id for s in suggestions] == [city.district.id, city.bureau.id]

    # Dispatch: the district leads, the bureau co-handles.
    ticket = await dispatch.dispatch_ticket(
        actor=city.agent,
        ticket_id=ticket.id,
        lead_department_id=city.district.id,
        co_department_ids=[city.bureau.id],
    )
    lead, co = await _assignments(city, ticket.id)
    assert ticket.status is Status.DISPATCHED
    assert lead.is_lead
    assert not co.is_lead
    assert ticket.reply_deadline == lead.reply_deadline
    assert ticket.dispatched_at is not None
    await _isolated(other, ticket, lead.id)
    # Department scope: the street sees nothing yet, the district and the auditor do.
    with pytest.raises(NotFound):
        await access.access_ticket(actor=city.street_handler, ticket_id=ticket.id)
    await access.access_ticket(actor=city.district_handler, ticket_id=ticket.id)
    await access.access_ticket(actor=city.auditor, ticket_id=ticket.id)
    with pytest.raises(PermissionDenied):
        await dispatch.sign_for_assignment(actor=city.auditor, assignment_id=lead.id)
    # the bureau sees the ticket, not the lead's work: to it, that assignment does not exist
    with pytest.raises(NotFound, match=r"^assignment not found$"):
        await dispatch.sign_for_assignment(actor=city.bureau_handler, assignment_id=lead.id)

    # The district signs; the co-handler too.
    await dispatch.sign_for_assignment(actor=city.district_handler, assignment_id=lead.id)
    await dispatch.sign_for_assignment(actor=city.bureau_handler, assignment_id=co.id)
    ticket = await _reload(city, ticket.id)
    assert ticket.status is Status.ACCEPTED
    assert ticket.accepted_at is not None
    await _isolated(other, ticket, lead.id)

    # Sub-dispatch to the street, due earlier; never outside the subtree or later.
    earlier = lead.reply_deadline - timedelta(days=1)
    with pytest.raises(Invalid):
        await dispatch.sub_dispatch(
            actor=city.district_handler, assignment_id=lead.id, department_id=city.bureau.id
        )
    with pytest.raises(Invalid):
        await dispatch.sub_dispatch(
            actor=city.district_handler,
            assignment_id=lead.id,
            department_id=city.street.id,
            reply_deadline=lead.reply_deadline + timedelta(hours=1),
        )
    child = await dispatch.sub_dispatch(
        actor=city.district_handler,
        assignment_id=lead.id,
        department_id=city.street.id,
        reply_deadline=earlier,
    )
    assert child.parent_id == lead.id
    assert child.reply_deadline == earlier
    await access.access_ticket(actor=city.street_handler, ticket_id=ticket.id)
    await dispatch.sign_for_assignment(actor=city.street_handler, assignment_id=child.id)
    await dispatch.reply_assignment(
        actor=city.street_handler, assignment_id=child.id, reply="已现场核实", resolved=True
    )
    await _isolated(other, ticket, child.id)

    # Extension: 5 working days, approved by a supervisor only.
    request = await extensions.request_extension(
        actor=city.district_handler, assignment_id=lead.id, working_days=5, reason="需协调拆除"
    )
    with pytest.raises(PermissionDenied):
        await extensions.decide_extension(
            actor=city.dispatcher, extension_id=request.id, approve=True
        )
    with pytest.raises(NotFound):
        await extensions.decide_extension(
            actor=other.supervisor, extension_id=request.id, approve=True
        )
    request = await extensions.decide_extension(
        actor=city.supervisor, extension_id=request.id, approve=True
    )
    assert request.status == "approved"
    assert request.new_deadline is not None
    ticket = await _reload(city, ticket.id)
    assert ticket.reply_deadline == request.new_deadline > lead.reply_deadline
    with pytest.raises(IllegalTransition):
        await extensions.decide_extension(
            actor=city.supervisor, extension_id=request.id, approve=False
        )

    # The co-handler's opinion, then the lead's reply.
    await dispatch.reply_assignment(
        actor=city.bureau_handler, assignment_id=co.id, reply="配合执法"
    )
    await dispatch.reply_assignment(
        actor=city.district_handler, assignment_id=lead.id, reply="已拆除", resolved=True
    )
    ticket = await _reload(city, ticket.id)
    assert ticket.status is Status.REPLIED
    assert ticket.public_reply == "已拆除"

    # The center rejects the reply, the district replies again, the center approves.
    with pytest.raises(Invalid):
        await review.review_reply(actor=city.dispatcher, ticket_id=ticket.id, approve=False)
    ticket = await review.review_reply(
        actor=city.dispatcher, ticket_id=ticket.id, approve=False, reason="请附整改照片"
    )
    assert ticket.status is Status.ACCEPTED
    await dispatch.reply_assignment(
        actor=city.district_handler, assignment_id=lead.id, reply="已拆除，附照片", resolved=True
    )
    ticket = await review.review_reply(actor=city.dispatcher, ticket_id=ticket.id, approve=True)
    assert ticket.status is Status.REVISIT
    assert ticket.reviewed_at is not None
    statuses = {a.status for a in await _assignments(city, ticket.id)}
    assert statuses == {AssignmentStatus.CLOSED}
    await _isolated(other, ticket, lead.id)

    # Revisit: unsatisfied reopens; re-dispatch; satisfied closes.
    ticket = await review.revisit_ticket(
        actor=city.agent,
        ticket_id=ticket.id,
        reached=True,
        grade=Satisfaction.UNSATISFIED,
        resolved=False,
    )
    assert ticket.status is Status.REOPENED
    assert ticket.reopen_count == 1
    ticket = await dispatch.dispatch_ticket(
        actor=city.dispatcher, ticket_id=ticket.id, lead_department_id=city.district.id
    )
    round2 = [a for a in await _assignments(city, ticket.id) if a.round == 2]
    assert len(round2) == 1
    assert round2[0].is_lead
    await dispatch.sign_for_assignment(actor=city.district_handler, assignment_id=round2[0].id)
    await dispatch.reply_assignment(
        actor=city.district_handler, assignment_id=round2[0].id, reply="彻底拆除", resolved=True
    )
    await review.review_reply(actor=city.dispatcher, ticket_id=ticket.id, approve=True)
    ticket = await review.revisit_ticket(
        actor=city.agent,
        ticket_id=ticket.id,
        reached=True,
        grade=Satisfaction.SATISFIED,
        resolved=True,
    )
    assert ticket.status is Status.CLOSED
    assert ticket.satisfaction is Satisfaction.SATISFIED
    assert ticket.satisfaction_source == "center"
    assert ticket.closed_at is not None
    await _isolated(other, ticket, round2[0].id)

    # The first grade wins; a closed ticket takes no more steps.
    with pytest.raises(DomainError):
        await review.rate_ticket(
            actor=city.anonymous,
            number=ticket.number,
            query_code=created.query_code,
            grade=Satisfaction.UNSATISFIED,
        )
    with pytest.raises(IllegalTransition):
        await center.urge_ticket(actor=city.agent, ticket_id=ticket.id)

    events = await _timeline(city, ticket.id)
    assert verify_chain(events)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert ticket.timeline_seq == len(events)
    assert ticket.timeline_hash == events[-1].hash
    actions = [e.action for e in events]
    for expected in ("create", "dispatch", "sign_for", "sub_dispatch", "extension_approved"):
        assert expected in actions
    assert actions[-1] == "revisit"
    assert events[-1].to_status == "closed"
    unsatisfied = next(e for e in events if e.to_status == "reopened")
    assert unsatisfied.department_id == city.district.id  # counted against the district
    with use_scope(city.scope()):
        assert await ExtensionRequest.filter(ticket_id=ticket.id).count() == 1

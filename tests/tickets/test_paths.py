"""The side paths of a work order: returns, direct answers, citizen ratings, revisit
attempts, cancel, merge, transfer, urging, refusal, reclassification, emergencies,
idempotent intake, duplicates, supervision and recomputed deadlines."""

from __future__ import annotations

from datetime import timedelta

import pytest

from hotline.platform.calendar import DayKind
from hotline.platform.tenancy import use_scope
from hotline.tenants.accounts.memberships import load_actor
from hotline.tenants.kernel.errors import Conflict, Invalid, NotFound, PermissionDenied
from hotline.tenants.provinces.calendar import DayChange, set_calendar_days, tenant_calendar
from hotline.tenants.tickets import (
    access,
    center,
    dispatch,
    extensions,
    intake,
    recompute,
    review,
    supervision,
    transfer,
)
from hotline.tenants.tickets.flow import IllegalTransition
from hotline.tenants.tickets.models import (
    Assignment,
    AssignmentStatus,
    Channel,
    Kind,
    Priority,
    Satisfaction,
    Status,
    Ticket,
    TimelineEvent,
)
from hotline.tenants.tickets.timeline import verify_chain

from .conftest import City, World


async def _assignments(city: City, ticket_id: int) -> list[Assignment]:
    with use_scope(city.scope()):
        return await Assignment.filter(ticket_id=ticket_id).order_by("id")


async def _events(city: City, ticket_id: int) -> list[TimelineEvent]:
    with use_scope(city.scope()):
        return await TimelineEvent.filter(ticket_id=ticket_id).order_by("seq")


async def _dispatched(city: City, *co: int) -> tuple[Ticket, Assignment]:
    ticket = await city.ticket()
    ticket = await dispatch.dispatch_ticket(
        actor=city.agent,
        ticket_id=ticket.id,
        lead_department_id=city.district.id,
        co_department_ids=list(co),
    )
    return ticket, (await _assignments(city, ticket.id))[0]


async def _in_revisit(city: City) -> Ticket:
    ticket, lead = await _dispatched(city)
    await dispatch.sign_for_assignment(actor=city.district_handler, assignment_id=lead.id)
    await dispatch.reply_assignment(actor=city.district_handler, assignment_id=lead.id, reply="ok")
    return await review.review_reply(actor=city.dispatcher, ticket_id=ticket.id, approve=True)


async def test_return_before_signing_goes_back_to_the_center(world: World) -> None:
    city = world.alpha
    ticket, lead = await _dispatched(city, city.bureau.id)
    with pytest.raises(Invalid):
        await dispatch.return_assignment(
            actor=city.district_handler, assignment_id=lead.id, reason=" "
        )
    with pytest.raises(NotFound):
        await dispatch.return_assignment(
            actor=world.beta.district_handler, assignment_id=lead.id, reason="not ours"
        )
    await dispatch.return_assignment(
        actor=city.district_handler, assignment_id=lead.id, reason="不属于本辖区"
    )
    with use_scope(city.scope()):
        ticket = await Ticket.get(id=ticket.id)
    assert ticket.status is Status.RETURNED
    assert ticket.reply_deadline is None
    lead, co = await _assignments(city, ticket.id)
    assert lead.status is AssignmentStatus.RETURNED
    assert lead.return_reason == "不属于本辖区"
    assert co.status is AssignmentStatus.CANCELLED  # the round ended
    ticket = await dispatch.dispatch_ticket(
        actor=city.agent, ticket_id=ticket.id, lead_department_id=city.bureau.id
    )
    assert ticket.status is Status.DISPATCHED
    assert (await _assignments(city, ticket.id))[-1].round == 2


async def test_return_after_signing_needs_a_supervisor(world: World) -> None:
    city = world.alpha
    ticket, lead = await _dispatched(city)
    await dispatch.sign_for_assignment(actor=city.district_handler, assignment_id=lead.id)
    lead = await dispatch.return_assignment(
        actor=city.district_handler, assignment_id=lead.id, reason="职责不符"
    )
    assert lead.status is AssignmentStatus.RETURN_REQUESTED
    with pytest.raises(PermissionDenied):
        await dispatch.decide_return(actor=city.dispatcher, assignment_id=lead.id, approve=True)
    with pytest.raises(NotFound):
        await dispatch.decide_return(
            actor=world.beta.supervisor, assignment_id=lead.id, approve=True
        )
    lead = await dispatch.decide_return(
        actor=city.supervisor, assignment_id=lead.id, approve=False, note="请继续办理"
    )
    assert lead.status is AssignmentStatus.SIGNED
    await dispatch.return_assignment(
        actor=city.district_handler, assignment_id=lead.id, reason="再议"
    )
    await dispatch.decide_return(actor=city.supervisor, assignment_id=lead.id, approve=True)
    with use_scope(city.scope()):
        assert (await Ticket.get(id=ticket.id)).status is Status.RETURNED


async def test_direct_answer_and_the_citizens_rating(world: World) -> None:
    city = world.beta
    created = await intake.create_ticket(
        actor=city.agent, channel=Channel.WECHAT, kind=Kind.CONSULTATION, content="社保怎么转移？"
    )
    # another city's article, or another city's ticket, is not there
    with pytest.raises(NotFound):
        await review.answer_from_article(
            actor=city.agent, ticket_id=created.ticket.id, article_id=world.alpha.article_id
        )
    with pytest.raises(NotFound):
        await review.answer_from_article(
            actor=world.alpha.agent, ticket_id=created.ticket.id, article_id=world.alpha.article_id
        )
    ticket = await review.answer_from_article(
        actor=city.agent, ticket_id=created.ticket.id, article_id=city.article_id
    )
    assert ticket.status is Status.CLOSED
    assert ticket.direct_answer
    assert ticket.article_id == city.article_id
    assert ticket.public_reply == "携带身份证到社保中心办理转移手续。"
    assert ticket.answered_at is not None
    assert ticket.closed_at is not None
    # The citizen rates with number + query code; a wrong code looks like a wrong number.
    with pytest.raises(NotFound):
        await review.rate_ticket(
            actor=city.anonymous,
            number=ticket.number,
            query_code=f"{(int(created.query_code) + 1) % 1_000_000:06d}",
            grade=Satisfaction.SATISFIED,
        )
    with pytest.raises(NotFound):  # the other city's public page does not know the number
        await review.rate_ticket(
            actor=world.alpha.anonymous,
            number=ticket.number,
            query_code=created.query_code,
            grade=Satisfaction.SATISFIED,
        )
    ticket = await review.rate_ticket(
        actor=city.anonymous,
        number=ticket.number,
        query_code=created.query_code,
        grade=Satisfaction.BASICALLY_SATISFIED,
    )
    assert ticket.satisfaction is Satisfaction.BASICALLY_SATISFIED
    assert ticket.satisfaction_source == "citizen"
    with pytest.raises(Conflict):
        await review.rate_ticket(
            actor=city.anonymous,
            number=ticket.number,
            query_code=created.query_code,
            grade=Satisfaction.UNSATISFIED,
        )


async def test_citizen_grade_first_wins_over_the_revisit(world: World) -> None:
    city = world.alpha
    created = await intake.create_ticket(
        actor=city.agent,
        channel=Channel.APP,
        kind=Kind.HELP,
        content="求助",
        idempotency_key="rate-first",
    )
    revisit = await _dispatch_to_revisit(city, created.ticket.id)
    assert revisit.status is Status.REVISIT
    rated = await review.rate_ticket(
        actor=city.anonymous,
        number=created.ticket.number,
        query_code=created.query_code,
        grade=Satisfaction.UNSATISFIED,
        resolved=False,
    )
    assert rated.status is Status.REOPENED
    assert rated.satisfaction_source == "citizen"
    with pytest.raises(IllegalTransition):
        await review.revisit_ticket(
            actor=city.agent, ticket_id=rated.id, reached=True, grade=Satisfaction.SATISFIED
        )


async def _dispatch_to_revisit(city: City, ticket_id: int) -> Ticket:
    await dispatch.dispatch_ticket(
        actor=city.agent, ticket_id=ticket_id, lead_department_id=city.district.id
    )
    lead = (await _assignments(city, ticket_id))[-1]
    await dispatch.sign_for_assignment(actor=city.district_handler, assignment_id=lead.id)
    await dispatch.reply_assignment(actor=city.district_handler, assignment_id=lead.id, reply="ok")
    return await review.review_reply(actor=city.dispatcher, ticket_id=ticket_id, approve=True)


async def test_unreachable_citizen_closes_after_the_limit(world: World) -> None:
    city = world.beta
    ticket = await _in_revisit(city)
    for attempt in (1, 2):
        ticket = await review.revisit_ticket(actor=city.agent, ticket_id=ticket.id, reached=False)
        assert ticket.status is Status.REVISIT
        assert ticket.revisit_attempts == attempt
    ticket = await review.revisit_ticket(actor=city.agent, ticket_id=ticket.id, reached=False)
    assert ticket.status is Status.CLOSED
    assert ticket.satisfaction is Satisfaction.UNREACHABLE


async def test_cancel_merge_urge_reject_reclassify(world: World) -> None:
    city, other = world.alpha, world.beta
    ticket, _lead = await _dispatched(city)
    # Urging an open ticket counts, and names the lead department.
    await center.urge_ticket(actor=city.agent, ticket_id=ticket.id, note="市民再次来电")
    ticket = await center.urge_ticket(actor=city.agent, ticket_id=ticket.id)
    assert ticket.urge_count == 2
    assert (await _events(city, ticket.id))[-1].department_id == city.district.id
    # Refusal only while the center holds it.
    with pytest.raises(IllegalTransition):
        await center.reject_ticket(actor=city.agent, ticket_id=ticket.id, reason="不属于受理范围")
    fresh = await city.ticket()
    with pytest.raises(NotFound):
        await center.reject_ticket(actor=other.agent, ticket_id=fresh.id, reason="x")
    refused = await center.reject_ticket(actor=city.agent, ticket_id=fresh.id, reason="涉诉事项")
    assert refused.status is Status.REJECTED
    assert refused.reject_reason == "涉诉事项"
    # Reclassification keeps the old values in the timeline.
    moved = await center.reclassify_ticket(
        actor=city.agent,
        ticket_id=ticket.id,
        category_id=city.urban.id,
        kind=Kind.REPORT,
        reason="分类有误",
    )
    assert moved.category_id == city.urban.id
    assert moved.kind is Kind.REPORT
    event = (await _events(city, ticket.id))[-1]
    assert event.data["old"] == {"category_id": city.construction.id, "kind": "complaint"}
    with pytest.raises(Invalid):
        await center.reclassify_ticket(actor=city.agent, ticket_id=ticket.id, kind=Kind.REPORT)
    with pytest.raises(NotFound):
        await center.reclassify_ticket(actor=other.agent, ticket_id=ticket.id, kind=Kind.HELP)
    # Merge a duplicate into the open one; cancel another.
    duplicate = await city.ticket()
    with pytest.raises(NotFound):
        await center.merge_tickets(
            actor=other.agent, ticket_id=duplicate.id, into_ticket_id=ticket.id
        )
    merged = await center.merge_tickets(
        actor=city.agent, ticket_id=duplicate.id, into_ticket_id=ticket.id, reason="重复来电"
    )
    assert merged.status is Status.MERGED
    assert merged.merged_into_id == ticket.id
    assert (await _events(city, ticket.id))[-1].action == "merged_in"
    with pytest.raises(IllegalTransition):
        await center.merge_tickets(
            actor=city.agent, ticket_id=ticket.id, into_ticket_id=duplicate.id
        )
    cancelled = await center.cancel_ticket(actor=city.agent, ticket_id=ticket.id, reason="市民撤诉")
    assert cancelled.status is Status.CANCELLED
    assert cancelled.closed_at is not None
    assert {a.status for a in await _assignments(city, ticket.id)} == {AssignmentStatus.CANCELLED}
    for t in (ticket, duplicate, fresh):
        assert verify_chain(await _events(city, t.id))


async def test_transfer_to_a_city_of_the_same_province(world: World) -> None:
    alpha, gamma, beta = world.alpha, world.gamma, world.beta
    ticket, _ = await _dispatched(alpha)
    with pytest.raises(PermissionDenied):
        await transfer.transfer_ticket(
            actor=alpha.supervisor, ticket_id=ticket.id, to_tenant_id=gamma.id, reason="x"
        )
    with pytest.raises(NotFound):  # another province's city
        await transfer.transfer_ticket(
            actor=world.province_admin, ticket_id=ticket.id, to_tenant_id=beta.id, reason="x"
        )
    beta_ticket = await beta.ticket()
    with pytest.raises(NotFound):  # another province's ticket
        await transfer.transfer_ticket(
            actor=world.province_admin, ticket_id=beta_ticket.id, to_tenant_id=gamma.id, reason="x"
        )
    moved = await transfer.transfer_ticket(
        actor=world.province_admin, ticket_id=ticket.id, to_tenant_id=gamma.id, reason="属地在德州"
    )
    assert moved.source.status is Status.TRANSFERRED
    assert moved.source.transferred_to_ticket_id == moved.target.id
    assert moved.target.tenant_id == gamma.id
    assert moved.target.number.startswith("GA")
    assert moved.target.transferred_from_ticket_id == ticket.id
    assert moved.target.citizen_phone_hash == ticket.citizen_phone_hash
    # Each city sees its own side only.
    target = await access.access_ticket(actor=gamma.agent, ticket_id=moved.target.id)
    assert target.status is Status.RECEIVED
    with pytest.raises(NotFound):
        await access.access_ticket(actor=gamma.agent, ticket_id=ticket.id)
    with pytest.raises(NotFound):
        await access.access_ticket(actor=alpha.agent, ticket_id=moved.target.id)
    assert {a.status for a in await _assignments(alpha, ticket.id)} == {AssignmentStatus.CANCELLED}
    assert verify_chain(await _events(alpha, ticket.id))
    assert verify_chain(await _events(gamma, moved.target.id))
    with pytest.raises(IllegalTransition):
        await transfer.transfer_ticket(
            actor=world.province_admin, ticket_id=ticket.id, to_tenant_id=gamma.id, reason="again"
        )


async def test_emergency_goes_to_the_duty_room_on_the_wall_clock(world: World) -> None:
    city = world.beta
    ticket = await city.ticket("燃气泄漏，有味道", priority=Priority.EMERGENCY)
    assert ticket.status is Status.DISPATCHED
    (lead,) = await _assignments(city, ticket.id)
    assert lead.department_id == city.duty_room.id
    assert lead.sign_deadline is not None
    assert lead.sign_deadline - ticket.received_at == timedelta(minutes=30)
    assert ticket.sign_deadline == lead.sign_deadline
    await dispatch.sign_for_assignment(actor=city.duty_handler, assignment_id=lead.id)


async def test_idempotent_intake_and_duplicates(world: World) -> None:
    city = world.alpha
    first = await intake.create_ticket(
        actor=city.agent,
        channel=Channel.OPEN311,
        kind=Kind.REPORT,
        content="井盖缺失",
        citizen_phone="13700001111",
        idempotency_key="gw-1",
    )
    again = await intake.create_ticket(
        actor=city.agent,
        channel=Channel.OPEN311,
        kind=Kind.REPORT,
        content="井盖缺失",
        citizen_phone="13700001111",
        idempotency_key="gw-1",
    )
    assert not again.created
    assert again.ticket.id == first.ticket.id
    assert again.query_code == first.query_code
    # The same key in another city is another ticket.
    beta = await intake.create_ticket(
        actor=world.beta.agent,
        channel=Channel.OPEN311,
        kind=Kind.REPORT,
        content="井盖缺失",
        idempotency_key="gw-1",
    )
    assert beta.created
    assert beta.ticket.id != first.ticket.id
    later = await intake.create_ticket(
        actor=city.agent,
        channel=Channel.PHONE,
        kind=Kind.REPORT,
        content="又一个井盖",
        citizen_phone="137-0000-1111",
    )
    found = await intake.duplicate_candidates(actor=city.agent, ticket_id=later.ticket.id)
    assert first.ticket.id in [t.id for t in found]
    with pytest.raises(NotFound):
        await intake.duplicate_candidates(actor=world.beta.agent, ticket_id=later.ticket.id)


async def test_supervision_orders(world: World) -> None:
    city = world.beta
    ticket, _lead = await _dispatched(city)
    with pytest.raises(PermissionDenied):
        await supervision.open_supervision(actor=city.agent, ticket_id=ticket.id, reason="超期")
    order = await supervision.open_supervision(
        actor=city.supervisor, ticket_id=ticket.id, reason="超期"
    )
    assert order.level == 1
    assert order.department_id == city.district.id
    with pytest.raises(Conflict):
        await supervision.open_supervision(
            actor=city.supervisor, ticket_id=ticket.id, reason="again"
        )
    with pytest.raises(NotFound):
        await supervision.escalate_supervision(
            actor=world.alpha.supervisor, supervision_id=order.id
        )
    order = await supervision.escalate_supervision(actor=city.supervisor, supervision_id=order.id)
    assert order.level == 2
    with pytest.raises(Conflict):
        await supervision.escalate_supervision(actor=city.supervisor, supervision_id=order.id)
    order = await supervision.comment_supervision(
        actor=city.district_handler, supervision_id=order.id, text="正在处理"
    )
    with pytest.raises(NotFound):  # the street is not assigned
        await supervision.comment_supervision(
            actor=city.street_handler, supervision_id=order.id, text="x"
        )
    await supervision.comment_supervision(actor=city.leader, supervision_id=order.id, text="加快")
    order = await supervision.close_supervision(actor=city.supervisor, supervision_id=order.id)
    assert order.status == "closed"
    assert len(order.comments) == 2
    with pytest.raises(IllegalTransition):
        await supervision.close_supervision(actor=city.supervisor, supervision_id=order.id)
    actions = [e.action for e in await _events(city, ticket.id)]
    assert actions[-5:] == [
        "supervision_opened",
        "supervision_escalated",
        "supervision_comment",
        "supervision_comment",
        "supervision_closed",
    ]


async def test_recompute_deadlines_after_a_city_holiday(world: World) -> None:
    city = world.gamma
    ticket, lead = await _dispatched(city)
    calendar = await tenant_calendar(city.tenant)
    local_day = calendar.next_working_day(lead.created_at.astimezone(calendar.zone).date())
    with pytest.raises(PermissionDenied):
        await recompute.recompute_deadlines(actor=city.agent)
    # A local holiday inside the reply window: the deadline stays until recomputed.
    admin = await load_actor(
        user_id=int(world.province_admin.user_id or 0),
        tenant_id=city.id,
        province_id=city.tenant.province_id,
    )
    with use_scope(city.scope()):
        await set_calendar_days(
            actor=admin, days=[DayChange(day=local_day, kind=DayKind.HOLIDAY, name="local")]
        )
    assert (await _assignments(city, ticket.id))[0].reply_deadline == lead.reply_deadline
    assert await recompute.recompute_deadlines(actor=city.supervisor) >= 1
    (after,) = await _assignments(city, ticket.id)
    assert after.reply_deadline > lead.reply_deadline
    with use_scope(city.scope()):
        assert (await Ticket.get(id=ticket.id)).reply_deadline == after.reply_deadline
    assert (await _events(city, ticket.id))[-1].action == "deadlines_recomputed"


async def test_extension_cap_at_service_level(world: World) -> None:
    city = world.alpha
    _, lead = await _dispatched(city)
    await dispatch.sign_for_assignment(actor=city.district_handler, assignment_id=lead.id)
    with pytest.raises(Invalid, match="30 working days"):
        await extensions.request_extension(
            actor=city.district_handler, assignment_id=lead.id, working_days=24, reason="太多"
        )
    first = await extensions.request_extension(
        actor=city.district_handler, assignment_id=lead.id, working_days=20, reason="协调"
    )
    with pytest.raises(Conflict):  # one pending request at a time
        await extensions.request_extension(
            actor=city.district_handler, assignment_id=lead.id, working_days=1, reason="再延"
        )
    await extensions.decide_extension(actor=city.supervisor, extension_id=first.id, approve=True)
    with pytest.raises(Invalid):  # 7 + 20 + 4 > 30
        await extensions.request_extension(
            actor=city.district_handler, assignment_id=lead.id, working_days=4, reason="再延"
        )
    last = await extensions.request_extension(
        actor=city.district_handler, assignment_id=lead.id, working_days=3, reason="最后"
    )
    last = await extensions.decide_extension(
        actor=city.supervisor, extension_id=last.id, approve=True
    )
    (after,) = await _assignments(city, lead.ticket_id)
    assert after.extended_days == 23
    assert last.new_deadline == after.reply_deadline


async def test_every_write_is_not_found_from_the_other_city(world: World) -> None:
    city, other = world.alpha, world.beta
    ticket, lead = await _dispatched(city, city.bureau.id)
    await dispatch.sign_for_assignment(actor=city.district_handler, assignment_id=lead.id)
    request = await extensions.request_extension(
        actor=city.district_handler, assignment_id=lead.id, working_days=2, reason="r"
    )
    order = await supervision.open_supervision(
        actor=city.supervisor, ticket_id=ticket.id, reason="r"
    )
    before = await _events(city, ticket.id)
    calls = [
        center.cancel_ticket(actor=other.agent, ticket_id=ticket.id, reason="r"),
        dispatch.return_assignment(actor=other.district_handler, assignment_id=lead.id, reason="r"),
        dispatch.sub_dispatch(
            actor=other.district_handler, assignment_id=lead.id, department_id=other.street.id
        ),
        extensions.request_extension(
            actor=other.district_handler, assignment_id=lead.id, working_days=1, reason="r"
        ),
        extensions.decide_extension(actor=other.supervisor, extension_id=request.id, approve=True),
        review.revisit_ticket(actor=other.agent, ticket_id=ticket.id, reached=False),
        supervision.comment_supervision(actor=other.supervisor, supervision_id=order.id, text="x"),
        supervision.close_supervision(actor=other.supervisor, supervision_id=order.id),
        supervision.escalate_supervision(actor=other.supervisor, supervision_id=order.id),
        review.answer_from_article(
            actor=other.agent, ticket_id=ticket.id, article_id=other.article_id
        ),
        access.access_assignment(actor=other.auditor, assignment_id=lead.id),
        intake.duplicate_candidates(actor=other.agent, ticket_id=ticket.id),
    ]
    for call in calls:
        with pytest.raises(NotFound):
            await call
    assert await recompute.recompute_deadlines(actor=other.supervisor) == 0
    assert [e.hash for e in await _events(city, ticket.id)] == [e.hash for e in before]

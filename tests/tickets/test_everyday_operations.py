"""Operations a center does every day: suspending a work order (its clocks stand still
and run again with the working time it had left), the citizen adding information, and
tickets leaving the work (cancelled, merged) keeping no deadline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from hotline.platform import clock
from hotline.platform.calendar import WorkCalendar
from hotline.platform.outbox.models import OutboxMessage
from hotline.platform.tenancy import Scope, use_scope
from hotline.tenants.kernel.errors import Conflict, NotFound
from hotline.tenants.provinces.calendar import tenant_calendar
from hotline.tenants.tickets import center, dispatch, lists, pages, supplements, suspension
from hotline.tenants.tickets.flow import IllegalTransition
from hotline.tenants.tickets.models import (
    Assignment,
    Status,
    SuspensionCause,
    SuspensionStatus,
    Ticket,
    TimelineEvent,
)
from hotline.tenants.tickets.sweep import sweep_deadlines

if TYPE_CHECKING:
    from tests.tickets.conftest import City, World


async def _signed(city: City, content: str = "小区门口占道经营") -> tuple[Ticket, Assignment]:
    ticket = await city.ticket(content)
    await dispatch.dispatch_ticket(
        actor=city.dispatcher, ticket_id=ticket.id, lead_department_id=city.district.id
    )
    lead = await Assignment.get(ticket_id=ticket.id, is_lead=True)
    await dispatch.sign_for_assignment(actor=city.district_handler, assignment_id=lead.id)
    return await Ticket.get(id=ticket.id), await Assignment.get(id=lead.id)


def test_a_resumed_deadline_keeps_the_working_time_it_had_left() -> None:
    calendar = WorkCalendar.from_entries([])  # plain weekends, 9:00-17:00 style hours
    paused = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # Mon 10:00 Shanghai
    deadline = calendar.add_working_days(paused, 2)
    resumed = datetime(2026, 3, 9, 2, 0, tzinfo=UTC)  # a week later, same time
    moved = suspension.moved_deadline(calendar, deadline, paused, resumed)
    assert moved == calendar.add_working_hours(
        resumed, calendar.working_time_between(paused, deadline)
    )
    assert moved is not None
    assert moved > deadline
    # a deadline already passed when the clocks stopped stays where it was
    late = paused - timedelta(hours=1)
    assert suspension.moved_deadline(calendar, late, paused, resumed) == late


async def test_suspend_pause_and_resume(world: World) -> None:
    city = world.alpha
    with use_scope(city.scope()):
        ticket, lead = await _signed(city)
        asked = await suspension.request_suspension(
            actor=city.district_handler,
            assignment_id=lead.id,
            cause=SuspensionCause.COURT,
            reason="等待法院判决",
        )
        assert asked.status == SuspensionStatus.REQUESTED
        queue = await lists.center_queue(
            actor=city.supervisor, queue=lists.CenterQueue.SUSPENSION_REQUESTED
        )
        assert [t.id for t in queue] == [ticket.id]
        # one open suspension per ticket
        with pytest.raises(Conflict):
            await suspension.suspend_ticket(
                actor=city.supervisor, ticket_id=ticket.id, cause=SuspensionCause.OTHER, reason="x"
            )
        # only the center decides
        with pytest.raises(Exception, match="not allowed"):
            await suspension.decide_suspension(
                actor=city.district_handler, suspension_id=asked.id, approve=True
            )
        before = await Assignment.get(id=lead.id)
        active = await suspension.decide_suspension(
            actor=city.supervisor, suspension_id=asked.id, approve=True, note="同意"
        )
        assert active.status == SuspensionStatus.ACTIVE
        paused = await Ticket.get(id=ticket.id)
        assert paused.suspended_at is not None
        assert paused.reply_deadline is None
        assert (await Assignment.get(id=lead.id)).paused_at is not None
        inbox = await pages.department_inbox(
            actor=city.district_handler,
            department_id=city.district.id,
            box=lists.InboxBox.SUSPENDED,
        )
        assert [a.id for a in inbox.rows] == [lead.id]
        # long past the old deadline, nothing is overdue while suspended
        later = before.reply_deadline + timedelta(days=20)
        report = await sweep_deadlines(now=later)
        assert report.overdue == 0
        calendar = await tenant_calendar(city.tenant)
        with clock.travel(later):
            overdue = await pages.department_inbox(
                actor=city.district_handler,
                department_id=city.district.id,
                box=lists.InboxBox.OVERDUE,
            )
            assert overdue.rows == []
            # the department that asked resumes; its clocks run again
            ended = await suspension.resume_ticket(
                actor=city.district_handler, suspension_id=asked.id, note="判决已出"
            )
        assert ended.status == SuspensionStatus.ENDED
        assert ended.paused_seconds > 0
        resumed = await Assignment.get(id=lead.id)
        assert resumed.paused_at is None
        assert resumed.reply_deadline == suspension.moved_deadline(
            calendar, before.reply_deadline, before_pause(active), later
        )
        ticket = await Ticket.get(id=ticket.id)
        assert ticket.suspended_at is None
        assert ticket.reply_deadline == resumed.reply_deadline
        actions = [
            e.action for e in await TimelineEvent.filter(ticket_id=ticket.id).order_by("seq")
        ]
        assert actions[-3:] == ["suspension_requested", "suspend", "resume"]
        with pytest.raises(IllegalTransition):
            await suspension.resume_ticket(actor=city.supervisor, suspension_id=asked.id)


def before_pause(active: object) -> datetime:
    started = getattr(active, "started_at", None)
    assert isinstance(started, datetime)
    return started


async def test_suspensions_are_not_found_across_cities_and_departments(world: World) -> None:
    city, other = world.alpha, world.beta
    with use_scope(city.scope()):
        ticket, lead = await _signed(city, "噪音扰民待执法")
        asked = await suspension.request_suspension(
            actor=city.district_handler,
            assignment_id=lead.id,
            cause=SuspensionCause.CITIZEN,
            reason="等待市民提供材料",
        )
        # another department of the same city: as if it did not exist
        with pytest.raises(NotFound):
            await suspension.request_suspension(
                actor=city.bureau_handler,
                assignment_id=lead.id,
                cause=SuspensionCause.OTHER,
                reason="x",
            )
    with use_scope(other.scope()):
        with pytest.raises(NotFound):
            await suspension.decide_suspension(
                actor=other.supervisor, suspension_id=asked.id, approve=True
            )
        with pytest.raises(NotFound):
            await suspension.suspend_ticket(
                actor=other.supervisor, ticket_id=ticket.id, cause=SuspensionCause.OTHER, reason="x"
            )
        with pytest.raises(NotFound):
            await suspension.resume_ticket(actor=other.supervisor, suspension_id=asked.id)
    with use_scope(city.scope()):
        assert (
            await suspension.decide_suspension(
                actor=city.supervisor, suspension_id=asked.id, approve=False, note="材料已齐"
            )
        ).status == SuspensionStatus.REJECTED


async def test_the_citizen_adds_information(world: World) -> None:
    city, other = world.alpha, world.beta
    with use_scope(city.scope()):
        created_ticket, _lead = await _signed(city, "路灯不亮")
        await supplements.add_supplement(
            actor=city.agent, ticket_id=created_ticket.id, text="市民补充：东侧三盏也不亮"
        )
        event = await TimelineEvent.filter(ticket_id=created_ticket.id).order_by("-seq").first()
        assert event is not None
        assert event.action == "supplement"
        assert event.reason == "市民补充：东侧三盏也不亮"
    with use_scope(Scope.platform()):
        told = await OutboxMessage.filter(
            tenant_id=city.id, payload__contains={"event": "ticket.supplemented"}
        )
    # the handling department hears of it
    assert told, "the department was not notified"
    with use_scope(other.scope()), pytest.raises(NotFound):
        await supplements.add_supplement(actor=other.agent, ticket_id=created_ticket.id, text="x")


async def test_the_citizen_adds_by_number_and_code(world: World) -> None:
    from hotline.tenants.tickets import intake
    from hotline.tenants.tickets.models import Channel, Kind

    city = world.alpha
    with use_scope(city.scope()):
        made = await intake.create_ticket(
            actor=city.agent, channel=Channel.PHONE, kind=Kind.HELP, content="楼道积水"
        )
        number = made.ticket.number
        await supplements.citizen_supplement(
            actor=city.anonymous, number=number, query_code=made.query_code, text="已漏到二楼"
        )
        wrong = f"{(int(made.query_code) + 1) % 1_000_000:06d}"
        with pytest.raises(NotFound):
            await supplements.citizen_supplement(
                actor=city.anonymous, number=number, query_code=wrong, text="x"
            )
        await center.cancel_ticket(actor=city.agent, ticket_id=made.ticket.id, reason="重复来电")
        with pytest.raises(IllegalTransition):
            await supplements.citizen_supplement(
                actor=city.anonymous, number=number, query_code=made.query_code, text="x"
            )


async def test_tickets_leaving_the_work_keep_no_deadline(world: World) -> None:
    city = world.alpha
    with use_scope(city.scope()):
        kept, _ = await _signed(city, "井盖缺失，位于文化路")
        duplicate, _ = await _signed(city, "文化路井盖丢了")
        merged = await center.merge_tickets(
            actor=city.agent, ticket_id=duplicate.id, into_ticket_id=kept.id, reason="同一事项"
        )
        assert merged.status is Status.MERGED
        assert (merged.reply_deadline, merged.sign_deadline, merged.due_soon_at) == (None,) * 3
        cancelled = await center.cancel_ticket(actor=city.agent, ticket_id=kept.id, reason="撤诉")
        assert (cancelled.reply_deadline, cancelled.due_soon_at) == (None, None)


async def test_the_escalation_schedule_is_a_typed_city_setting(world: World) -> None:
    from hotline.tenants.kernel.errors import Invalid
    from hotline.tenants.provinces.models import Tenant as TenantRow
    from hotline.tenants.provinces.settings import city_settings, update_city_settings
    from hotline.tenants.tickets import supervision

    city = world.gamma
    with use_scope(Scope.platform()):
        with pytest.raises(Invalid):
            await update_city_settings(
                actor=world.province_admin,
                tenant_id=city.id,
                changes={"supervision_escalation_hours": [0]},
            )
        with pytest.raises(Invalid):
            await update_city_settings(
                actor=world.province_admin, tenant_id=city.id, changes={"no_such": 1}
            )
        saved = await update_city_settings(
            actor=world.province_admin,
            tenant_id=city.id,
            changes={"supervision_escalation_hours": [4, 8]},
        )
        assert saved.supervision_escalation_hours == (4.0, 8.0)
        tenant = await TenantRow.get(id=city.id)
    assert city_settings(tenant).revisit_sampling is False  # untouched settings keep defaults
    with use_scope(city.scope()):
        ticket, _ = await _signed(city, "河道垃圾堆积")
        order = await supervision.open_supervision(
            actor=city.supervisor, ticket_id=ticket.id, reason="群众反映强烈"
        )
        calendar = await tenant_calendar(tenant)
        # level 1 waits the city's 4 working hours; a third level exists (two steps)
        assert order.escalate_at is not None
        expected = calendar.add_working_hours(order.created_at, 4)
        assert abs(order.escalate_at - expected) < timedelta(seconds=5)
        raised = await supervision.escalate_supervision(
            actor=city.supervisor, supervision_id=order.id
        )
        assert raised.level == 2
        assert raised.escalate_at is not None
        top = await supervision.escalate_supervision(actor=city.supervisor, supervision_id=order.id)
        assert top.level == 3
        assert top.escalate_at is None

"""A sweep batch sends the same statements however many rows it holds: the timeline
events, the tickets' chain heads, the supervision orders, the outbox rows and the
statistics marks of a whole batch are one statement each (no per-ticket round trips)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import pytest

from hotline.platform.tenancy import Scope, use_scope
from hotline.tenants.provinces.calendar import seed_official_calendar
from hotline.tenants.tickets.models import AssignmentStatus, Supervision, Ticket, TimelineEvent
from hotline.tenants.tickets.sweep import sweep_deadlines
from hotline.tenants.tickets.timeline import verify_chain
from tests.statements import counting

if TYPE_CHECKING:
    from tests.workers.conftest import World

TZ = ZoneInfo("Asia/Shanghai")


async def test_a_sweep_batch_costs_the_same_statements_at_any_size(
    world: World, new_ticket: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    alpha = world.alpha
    with use_scope(Scope.province(alpha.tenant.province_id)):
        await seed_official_calendar(province_id=alpha.tenant.province_id, since_year=2026)
    base = datetime(2026, 3, 10, 9, tzinfo=TZ)
    counts = []
    for size, hours in ((2, 1), (9, 2)):
        with use_scope(alpha.scope()):
            for i in range(size):
                await new_ticket(
                    alpha,
                    assignment_status=AssignmentStatus.SIGNED,
                    reply_deadline=base + timedelta(hours=hours - 1, minutes=i + 1),
                )
        now = base + timedelta(hours=hours)
        with counting(monkeypatch) as sent, use_scope(alpha.scope()):
            report = await sweep_deadlines(now=now, batch_size=size)
        assert report.supervisions_opened == size
        counts.append(len(sent))
    assert counts[0] == counts[1], counts
    with use_scope(alpha.scope()):
        orders = await Supervision.all()
        assert len(orders) == 11
        for order in orders:  # each ticket's chain still verifies, its head matches
            events = await TimelineEvent.filter(ticket_id=order.ticket_id).order_by("seq")
            ticket = await Ticket.get(id=order.ticket_id)
            assert verify_chain(events)
            assert (ticket.timeline_seq, ticket.timeline_hash) == (events[-1].seq, events[-1].hash)
            assert events[-1].action == "supervision_opened"

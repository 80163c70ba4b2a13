"""The worker's job: a ticket change marks its day dirty (in the change's transaction);
the job, run in the city's scope by ``tenant_job``, recomputes the day once it has
ended — and only then — and a second run finds nothing to do."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from hotline.platform.clock import travel
from hotline.platform.tenancy import use_scope
from hotline.tenants.statistics.models import DailyStat, DirtyDay, TicketDays
from hotline.tenants.tickets.models import Assignment, Priority, Status
from hotline.workers.statistics import refresh_statistics
from tests.statistics.conftest import StatsWorld

SH = ZoneInfo("Asia/Shanghai")


async def test_a_change_reaches_the_aggregates_through_the_job(stats_world: StatsWorld) -> None:
    alpha, beta = stats_world.alpha.city, stats_world.beta.city
    with travel(datetime(2026, 5, 6, 10, tzinfo=SH)):
        ticket = await alpha.ticket()
        with use_scope(alpha.scope()):
            assert await DirtyDay.filter(day=date(2026, 5, 6)).exists()
        # the day has not ended: nothing is stored yet
        assert await refresh_statistics({}, tenant_id=alpha.id) == 0
    with travel(datetime(2026, 5, 7, 0, 5, tzinfo=SH)):
        assert await refresh_statistics({}, tenant_id=alpha.id) == 1
        assert await refresh_statistics({}, tenant_id=alpha.id) == 0
        assert await refresh_statistics({}, tenant_id=beta.id) == 0
    with use_scope(alpha.scope()):
        rows = await DailyStat.filter(day=date(2026, 5, 6)).values("received", "category_id")
        assert rows == [{"received": 1, "category_id": ticket.category_id}]
        assert not await DirtyDay.all().exists()
    with use_scope(beta.scope()):
        assert not await DailyStat.all().exists()


async def test_a_creation_marks_its_local_day_of_receipt(stats_world: StatsWorld) -> None:
    """A new ticket counts on the city-local day it was received (its own short marking,
    :data:`~hotline.tenants.statistics.aggregates._MARK_NEW`): 00:10 on the 7th in
    Shanghai is 16:10 UTC on the 6th, and the day is the 7th. An emergency — created and
    dispatched in one change — takes the full marking and counts on the same day."""
    alpha, beta = stats_world.alpha.city, stats_world.beta.city
    with travel(datetime(2026, 5, 7, 0, 10, tzinfo=SH)):
        plain = await alpha.ticket()
        urgent = await alpha.ticket(content="燃气泄漏，味道很大", priority=Priority.EMERGENCY)
    with use_scope(alpha.scope()):
        dirty = {d.day for d in await DirtyDay.all()}
        stored = {
            t.ticket_id: t.days
            for t in await TicketDays.filter(ticket_id__in=[plain.id, urgent.id])
        }
        deadline = await Assignment.get(ticket_id=urgent.id)
    assert urgent.status is not Status.RECEIVED  # it went to the duty room in that change
    due = deadline.reply_deadline.astimezone(SH).date()  # the full marking counts it too
    assert {date(2026, 5, 7), due} <= dirty
    assert date(2026, 5, 6) not in dirty
    assert stored == {plain.id: ["2026-05-07"], urgent.id: ["2026-05-07", due.isoformat()]}
    with use_scope(beta.scope()):  # another city sees none of it
        assert not await TicketDays.filter(ticket_id__in=[plain.id, urgent.id]).exists()
        assert not await DirtyDay.filter(day=date(2026, 5, 7)).exists()

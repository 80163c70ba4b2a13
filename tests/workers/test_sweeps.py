"""Deadline sweeps on the real 2026 arrangement: Spring Festival holidays Sun 15 – Mon 23
Feb, make-up workdays Sat 14 and Sat 28 Feb (docs/calendar.md's worked example)."""

from __future__ import annotations

import asyncio
import os
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import asyncpg
import pytest_asyncio

from hotline.platform.jobs import pool, queue_name
from hotline.platform.outbox import OutboxMessage
from hotline.platform.tenancy import Scope, use_scope
from hotline.tenants.provinces.calendar import seed_official_calendar, tenant_calendar
from hotline.tenants.sla.rules import SlaPolicy
from hotline.tenants.tickets import deadlines
from hotline.tenants.tickets.models import Assignment, AssignmentStatus, Status, Supervision
from hotline.tenants.tickets.sweep import SweepReport, rewind, sweep_deadlines
from hotline.workers.sweeps import sweep_all

if TYPE_CHECKING:
    from tests.workers.conftest import City, World

TZ = ZoneInfo("Asia/Shanghai")


def at(day: int, hour: int, minute: int = 0, month: int = 2) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=TZ)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def calendar_world(world: World) -> World:
    for city in (world.alpha, world.beta):
        with use_scope(Scope.province(city.tenant.province_id)):
            await seed_official_calendar(province_id=city.tenant.province_id, since_year=2026)
    return world


async def _messages(city: City) -> list[OutboxMessage]:
    with use_scope(Scope.platform()):
        return await OutboxMessage.filter(tenant_id=city.id).order_by("id")


async def _sweep(city: City, now: datetime) -> SweepReport:
    with use_scope(city.scope()):
        return await sweep_deadlines(now=now, batch_size=2)


async def test_due_soon_overdue_and_escalation_across_the_spring_festival(
    calendar_world: World, new_ticket: Any
) -> None:
    alpha = calendar_world.alpha
    with use_scope(alpha.scope()):
        calendar = await tenant_calendar(alpha.tenant)
        times = deadlines.for_dispatch(calendar, SlaPolicy(), at(12, 10))
        assert times.reply == at(28, 17)  # the make-up Saturday is the 7th working day
        assert times.sign == at(12, 12)
        assert times.due_soon == at(27, 12)  # 80 % of 55 working hours: 44 h
        ticket, assignment = await new_ticket(
            alpha,
            sign_deadline=times.sign,
            reply_deadline=times.reply,
            due_soon_at=times.due_soon,
        )
        # a ticket of the other city with the same deadlines is never touched by alpha's sweep
    with use_scope(calendar_world.beta.scope()):
        await new_ticket(
            calendar_world.beta,
            sign_deadline=times.sign,
            reply_deadline=times.reply,
            due_soon_at=times.due_soon,
        )

    assert await _sweep(alpha, at(12, 11)) == SweepReport()
    report = await _sweep(alpha, at(12, 13, 30))
    assert report.sign_overdue == 1
    center = {m.payload.get("user_id") or m.payload.get("to") for m in await _messages(alpha)}
    assert center == {alpha.users["dispatcher"].id, "dispatcher@alpha.example"}

    with use_scope(alpha.scope()):
        await Assignment.filter(id=assignment.id).update(status=AssignmentStatus.SIGNED)
    assert (await _sweep(alpha, at(20, 10))).due_soon == 0  # in the holiday: nothing due yet
    report = await _sweep(alpha, at(27, 12, 30))
    assert report.due_soon == 1
    assert report.overdue == 0
    assert (await _sweep(alpha, at(28, 16, 59))) == SweepReport()  # still in time on Saturday

    report = await _sweep(alpha, at(28, 17, 1))
    assert report.overdue == 1
    assert report.supervisions_opened == 1
    with use_scope(alpha.scope()):
        [supervision] = await Supervision.filter(ticket_id=ticket.id)
    assert supervision.automatic
    assert supervision.level == 1
    assert supervision.assignment_id == assignment.id
    # 16 working hours after Sat 28 17:00: Mon 2 Mar (7 h), Tue 3 (7 h), Wed 4 until 11:00
    assert supervision.escalate_at == at(4, 11, month=3)
    sent = len(await _messages(alpha))
    assert sent > 0

    # running again opens nothing and writes no message twice
    assert await _sweep(alpha, at(28, 17, 1)) == SweepReport()
    assert len(await _messages(alpha)) == sent

    report = await _sweep(alpha, at(4, 11, 30, month=3))
    assert report.escalated == 1
    with use_scope(alpha.scope()):
        await supervision.refresh_from_db()
    assert supervision.level == 2
    assert supervision.escalate_at is None  # the last level: city leadership
    leader = alpha.users["leader"].id
    assert any(m.payload.get("user_id") == leader for m in await _messages(alpha))
    assert await _sweep(alpha, at(4, 12, month=3)) == SweepReport()
    with use_scope(calendar_world.beta.scope()):
        assert not await Supervision.all()


async def test_two_concurrent_sweeps_open_each_supervision_once(
    calendar_world: World, new_ticket: Any
) -> None:
    beta = calendar_world.beta
    with use_scope(beta.scope()):
        created = [
            await new_ticket(
                beta,
                assignment_status=AssignmentStatus.SIGNED,
                reply_deadline=at(9, 17, month=3) + timedelta(minutes=i),
            )
            for i in range(7)
        ]
    reports = await asyncio.gather(*[_sweep(beta, at(10, 9, month=3)) for _ in range(3)])
    with use_scope(beta.scope()):
        everything = await Supervision.all()
        rows = await Supervision.filter(ticket_id__in=[t.id for t, _ in created])
    # beta's first sweep also finds the first test's overdue ticket: 8 in all, each once
    assert sum(r.supervisions_opened for r in reports) == len(everything) == 8
    assert sorted(r.assignment_id for r in rows) == sorted(a.id for _, a in created)
    keys = [m.send_key for m in await _messages(beta)]
    assert len(keys) == len(set(keys))


async def test_the_cron_fans_out_one_job_per_city_and_minute(
    calendar_world: World, burst: Any
) -> None:
    redis = await pool()
    before = await redis.zcard(queue_name())
    assert await sweep_all({}) == 2
    assert await sweep_all({}) == 2  # a second scheduler in the same minute
    assert await redis.zcard(queue_name()) == before + 2
    worker = await burst(max_jobs=10)
    assert worker.jobs_complete == 2
    assert worker.jobs_failed == 0


async def test_work_reopened_past_its_deadline_is_swept_again(
    calendar_world: World, new_ticket: Any
) -> None:
    """A reply rejected after its deadline puts the work back behind the sweep's marks;
    rewinding them makes the next sweep see it overdue (a review finding)."""
    alpha = calendar_world.alpha
    deadline = at(10, 17, month=3)
    with use_scope(alpha.scope()):
        ticket, assignment = await new_ticket(
            alpha,
            status=Status.REPLIED,
            assignment_status=AssignmentStatus.REPLIED,
            reply_deadline=deadline,
            due_soon_at=at(9, 12, month=3),
        )
    # replied in time: the deadline passes while nothing is open
    assert (await _sweep(alpha, at(10, 18, month=3))).overdue == 0
    with use_scope(alpha.scope()):
        await Assignment.filter(id=assignment.id).update(status=AssignmentStatus.SIGNED)
        await rewind(deadlines=[deadline], now=at(11, 9, month=3))
    report = await _sweep(alpha, at(11, 9, 5, month=3))
    assert report.overdue == 1
    with use_scope(alpha.scope()):
        assert await Supervision.filter(ticket_id=ticket.id, automatic=True).count() == 1


async def _waiting_on_a_lock(holder: asyncpg.Connection) -> None:
    """Until another session waits for a lock ``holder`` holds (polled: the sweep reached
    the lock; nothing here depends on how long that takes)."""
    blocked = (
        "SELECT count(*) FROM pg_stat_activity WHERE pg_backend_pid() = ANY(pg_blocking_pids(pid))"
    )
    while not await holder.fetchval(blocked):  # noqa: ASYNC110 — no event to wait on
        await asyncio.sleep(0.01)


async def test_an_assignment_ended_while_the_sweep_waits_gets_no_order(
    calendar_world: World, new_ticket: Any
) -> None:
    """A return in flight holds the ticket; the sweep that found the assignment overdue
    waits for it and then sees the assignment ended: no automatic order is opened on
    work nobody does any more (one was, and escalated until the ticket ended)."""
    alpha = calendar_world.alpha
    with use_scope(alpha.scope()):
        ticket, assignment = await new_ticket(
            alpha,
            status=Status.ACCEPTED,
            assignment_status=AssignmentStatus.SIGNED,
            reply_deadline=at(19, 17, month=3),
        )
    # the owner's own session, outside the app's pool (the superuser passes RLS)
    holder = await asyncpg.connect(os.environ["HOTLINE_DATABASE_URL"])
    try:
        async with holder.transaction():
            # what a change ending the assignment does: the ticket first, then its work
            await holder.execute("SELECT id FROM tickets WHERE id = $1 FOR UPDATE", ticket.id)
            await holder.execute(
                "UPDATE assignments SET status = 'returned' WHERE id = $1", assignment.id
            )
            sweep = asyncio.create_task(_sweep(alpha, at(20, 9, month=3)))
            await _waiting_on_a_lock(holder)
    finally:
        await holder.close()
    report = await sweep
    assert report.overdue >= 1  # it was read as overdue …
    with use_scope(alpha.scope()):  # … but got no order
        assert not await Supervision.filter(ticket_id=ticket.id).exists()

"""Two people acting on the same thing at the same moment: exactly one wins, the other
gets a typed error, and the timeline stays one unbroken chain."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import pytest
from tortoise.transactions import in_transaction

from hotline.platform.clock import travel
from hotline.platform.tenancy import use_scope
from hotline.tenants.tickets import center, dispatch, intake
from hotline.tenants.tickets.flow import IllegalTransition
from hotline.tenants.tickets.models import Assignment, Channel, Kind, Status, Ticket, TimelineEvent
from hotline.tenants.tickets.timeline import verify_chain

from .conftest import City, World

T = TypeVar("T")


async def _race(*calls: Awaitable[T]) -> tuple[list[T], list[BaseException]]:
    results = await asyncio.gather(*calls, return_exceptions=True)
    won = [r for r in results if not isinstance(r, BaseException)]
    lost = [r for r in results if isinstance(r, BaseException)]
    return won, lost


async def _chain_ok(city: City, ticket_id: int) -> bool:
    with use_scope(city.scope()):
        events = await TimelineEvent.filter(ticket_id=ticket_id).order_by("seq")
    return verify_chain(events)


async def _lead(city: City, ticket_id: int) -> Assignment:
    with use_scope(city.scope()):
        return await Assignment.get(ticket_id=ticket_id, is_lead=True)


async def test_two_handlers_sign_for_at_once(world: World) -> None:
    city = world.alpha
    ticket = await city.ticket()
    await dispatch.dispatch_ticket(
        actor=city.agent, ticket_id=ticket.id, lead_department_id=city.district.id
    )
    lead = await _lead(city, ticket.id)
    # Two handlers of the district (the same actor twice is two people in a call center).
    won, lost = await _race(
        dispatch.sign_for_assignment(actor=city.district_handler, assignment_id=lead.id),
        dispatch.sign_for_assignment(actor=city.district_handler, assignment_id=lead.id),
    )
    assert len(won) == 1
    assert len(lost) == 1
    assert isinstance(lost[0], IllegalTransition)
    assert await _chain_ok(city, ticket.id)


async def test_two_replies_at_once(world: World) -> None:
    city = world.beta
    ticket = await city.ticket()
    await dispatch.dispatch_ticket(
        actor=city.agent, ticket_id=ticket.id, lead_department_id=city.district.id
    )
    lead = await _lead(city, ticket.id)
    await dispatch.sign_for_assignment(actor=city.district_handler, assignment_id=lead.id)
    won, lost = await _race(
        *[
            dispatch.reply_assignment(
                actor=city.district_handler, assignment_id=lead.id, reply=f"reply {i}"
            )
            for i in range(3)
        ]
    )
    assert len(won) == 1
    assert len(lost) == 2
    assert all(isinstance(e, IllegalTransition) for e in lost)
    with use_scope(city.scope()):
        assert (await Ticket.get(id=ticket.id)).public_reply == won[0].reply
    assert await _chain_ok(city, ticket.id)


async def test_same_idempotency_key_concurrently_is_one_ticket(world: World) -> None:
    city = world.alpha
    won, lost = await _race(
        *[
            intake.create_ticket(
                actor=city.agent,
                channel=Channel.OPEN311,
                kind=Kind.REPORT,
                content="路面塌陷",
                idempotency_key="race-1",
            )
            for _ in range(4)
        ]
    )
    assert lost == []
    assert len({r.ticket.id for r in won}) == 1
    assert sum(r.created for r in won) == 1
    assert len({r.query_code for r in won}) == 1
    with use_scope(city.scope()):
        assert await Ticket.filter(idempotency_key="race-1").count() == 1


async def test_concurrent_intake_gets_distinct_numbers(world: World) -> None:
    city = world.beta
    won, lost = await _race(
        *[
            intake.create_ticket(
                actor=city.agent, channel=Channel.WEB, kind=Kind.HELP, content=f"求助 {i}"
            )
            for i in range(8)
        ]
    )
    assert lost == []
    numbers = sorted(r.ticket.number for r in won)
    assert len(set(numbers)) == 8
    serials = [int(n[-6:]) for n in numbers]
    assert serials == list(range(serials[0], serials[0] + 8))


async def test_conflicting_center_actions_at_once(world: World) -> None:
    city = world.alpha
    ticket = await city.ticket()
    won, lost = await _race(
        center.cancel_ticket(actor=city.agent, ticket_id=ticket.id, reason="撤销"),
        dispatch.dispatch_ticket(
            actor=city.dispatcher, ticket_id=ticket.id, lead_department_id=city.district.id
        ),
        center.reject_ticket(actor=city.agent, ticket_id=ticket.id, reason="不予受理"),
    )
    # They serialise on the ticket's lock; each sees the state the one before left.
    # Cancelling a dispatched ticket is legal, so "dispatch, then cancel" may both win;
    # refusing (不予受理) only while the center holds it, so it never follows a dispatch.
    assert all(isinstance(e, IllegalTransition) for e in lost)
    with use_scope(city.scope()):
        final = await Ticket.get(id=ticket.id)
        actions = [
            e.action for e in await TimelineEvent.filter(ticket_id=ticket.id).order_by("seq")
        ][1:]
    assert actions in (["cancel"], ["reject"], ["dispatch", "cancel"]), actions
    assert len(won) == len(actions)
    assert final.status is (Status.REJECTED if actions == ["reject"] else Status.CANCELLED)
    assert await _chain_ok(city, ticket.id)


async def test_a_creation_held_open_does_not_hold_up_the_next_in_its_city(world: World) -> None:
    """The province load run: creations in one city queued on the day's counter row until
    each committed. The first creation stays open (its ``within`` waits on an event); the
    second, on its own connection, must commit meanwhile. Ordering by events, no clocks:
    had the second waited on the first's counter lock, ``first`` would never be released
    and the statement timeout would fail the second."""
    city = world.alpha
    inside, release = asyncio.Event(), asyncio.Event()

    async def hold_open(_c: object, _t: Ticket, _earlier: object) -> None:
        inside.set()
        await release.wait()

    async def create(content: str, within: Any = None) -> intake.CreatedTicket:
        return await intake.create_ticket(
            actor=city.agent,
            channel=Channel.PHONE,
            kind=Kind.REPORT,
            content=content,
            within=within,
        )

    first = asyncio.create_task(create("路灯不亮", hold_open))
    await inside.wait()  # the first creation's transaction is open, its number taken
    second = await create("井盖缺失")  # completes while the first is still open
    assert not first.done()
    release.set()
    held = await first
    assert held.created
    assert second.created
    assert held.ticket.number != second.ticket.number
    with use_scope(city.scope()):  # both committed, each with its own number
        stored = await Ticket.filter(id__in=[held.ticket.id, second.ticket.id])
    assert {t.number for t in stored} == {held.ticket.number, second.ticket.number}


async def test_the_openings_unflushed_commit_stays_its_own(world: World) -> None:
    """The opening commits without waiting for the WAL flush (the ticket's commit flushes
    it), a setting local to its own statement's transaction. Run inside a caller's
    transaction, the opening must not set it: it would last until that commit."""
    city = world.beta
    with use_scope(city.scope()):
        async with in_transaction("default") as conn:
            made = await intake.create_ticket(
                actor=city.agent, channel=Channel.WEB, kind=Kind.HELP, content="求助 外层事务"
            )
            shown = await conn.execute_query_dict("SHOW synchronous_commit")
    assert made.created
    assert shown == [{"synchronous_commit": "on"}]


async def test_a_creation_that_fails_after_its_opening_leaves_a_gap(world: World) -> None:
    """The opening commits on its own before the ticket's transaction (docs/tickets.md
    "Numbers"): a creation that fails afterwards has used its number, and nothing else
    of it is kept."""
    city = world.alpha

    async def create(content: str, within: Any = None) -> intake.CreatedTicket:
        return await intake.create_ticket(
            actor=city.agent, channel=Channel.PHONE, kind=Kind.REPORT, content=content,
            within=within,
        )  # fmt: skip

    async def fail(*_: Any) -> None:
        raise RuntimeError("the intake pipeline's record failed")

    with travel(datetime(2026, 6, 1, 10, tzinfo=ZoneInfo("Asia/Shanghai"))):  # one day
        before = await create("井盖缺失 之前")
        with use_scope(city.scope()):
            count = await Ticket.all().count()
        with pytest.raises(RuntimeError, match="record failed"):
            await create("井盖缺失 失败", fail)
        after = await create("井盖缺失 之后")
    with use_scope(city.scope()):
        assert await Ticket.all().count() == count + 1  # the failed one left no ticket
    assert int(after.ticket.number[-6:]) == int(before.ticket.number[-6:]) + 2

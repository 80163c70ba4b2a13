"""Department scope holds through relations and role combinations (found in review)."""

from __future__ import annotations

import pytest

from hotline.platform import ratelimit
from hotline.platform.crypto import keyed_hash
from hotline.platform.redis import key as redis_key
from hotline.platform.redis import redis_client
from hotline.platform.tenancy import use_scope
from hotline.tenants.kernel.access import Actor
from hotline.tenants.kernel.errors import NotFound, RateLimited
from hotline.tenants.kernel.roles import Role
from hotline.tenants.tickets import (
    access,
    center,
    citizen,
    dispatch,
    intake,
    personal,
    reads,
    review,
)
from hotline.tenants.tickets.models import Assignment, Channel, Kind, Satisfaction

from .conftest import World


async def test_a_merge_target_outside_the_subtree_reads_as_missing(world: World) -> None:
    city = world.alpha
    with use_scope(city.scope()):
        street_ticket = await city.ticket("路灯不亮")
        bureau_ticket = await city.ticket("夜间施工噪音")
        await dispatch.dispatch_ticket(
            actor=city.dispatcher, ticket_id=street_ticket.id, lead_department_id=city.street.id
        )
        await dispatch.dispatch_ticket(
            actor=city.dispatcher, ticket_id=bureau_ticket.id, lead_department_id=city.bureau.id
        )
        await center.merge_tickets(
            actor=city.dispatcher, ticket_id=street_ticket.id, into_ticket_id=bureau_ticket.id
        )
        handler = city.street_handler
        seen = await access.access_ticket(actor=handler, ticket_id=street_ticket.id)
        assert seen.merged_into_id == bureau_ticket.id
        assert await reads.tickets_by_ids(actor=handler, ids=[bureau_ticket.id]) == [None]
        # the center sees both
        found = await reads.tickets_by_ids(actor=city.agent, ids=[bureau_ticket.id])
        assert [t.id for t in found if t] == [bureau_ticket.id]


async def test_a_center_role_does_not_widen_department_handling(world: World) -> None:
    city = world.alpha
    with use_scope(city.scope()):
        ticket = await city.ticket("路面塌陷")
        await dispatch.dispatch_ticket(
            actor=city.dispatcher, ticket_id=ticket.id, lead_department_id=city.bureau.id
        )
        lead = await Assignment.get(ticket_id=ticket.id, is_lead=True)
        # an auditor who also handles for the street may read the bureau's work, not do
        # it: to its handling, another department's assignment does not exist
        both = Actor(
            user_id=city.auditor.user_id,
            tenant_id=city.id,
            province_id=city.tenant.province_id,
            roles=frozenset({Role.AUDITOR, Role.DEPT_HANDLER}),
            department_ids=frozenset({city.street.id}),
        )
        with pytest.raises(NotFound, match=r"^assignment not found$"):
            await dispatch.sign_for_assignment(actor=both, assignment_id=lead.id)
        await dispatch.sign_for_assignment(actor=city.bureau_handler, assignment_id=lead.id)
        with pytest.raises(NotFound, match=r"^assignment not found$"):
            await dispatch.reply_assignment(actor=both, assignment_id=lead.id, reply="not mine")


async def test_wrong_query_codes_exhaust_the_rating_too(world: World) -> None:
    city = world.alpha
    with use_scope(city.scope()):
        created = await intake.create_ticket(
            actor=city.agent, channel=Channel.WEB, kind=Kind.COMPLAINT, content="井盖缺失"
        )
        number = created.ticket.number
        wrong = f"{(int(created.query_code) + 1) % 1_000_000:06d}"
        for _ in range(citizen.FAILURES_PER_CLIENT):
            with pytest.raises(NotFound):
                await review.rate_ticket(
                    actor=city.anonymous,
                    number=number,
                    query_code=wrong,
                    grade=Satisfaction.SATISFIED,
                )
        # from this client the right code no longer tells anything apart
        with pytest.raises(RateLimited):
            await review.rate_ticket(
                actor=city.anonymous,
                number=number,
                query_code=created.query_code,
                grade=Satisfaction.SATISFIED,
            )
        # but the citizen, elsewhere, is not locked out of their own ticket
        found = await personal.public_ticket(
            actor=city.anonymous,
            number=number,
            query_code=created.query_code,
            ip="198.51.100.7",
        )
        assert found.number == number


async def test_wrong_codes_from_many_clients_slow_the_number_down(world: World) -> None:
    """A guesser spread over many addresses meets a growing delay per number; the citizen
    waits seconds at worst, never an hour."""
    city = world.alpha
    with use_scope(city.scope()):
        created = await intake.create_ticket(
            actor=city.agent, channel=Channel.WEB, kind=Kind.COMPLAINT, content="路灯不亮"
        )
        number = created.ticket.number
        wrong = f"{(int(created.query_code) + 1) % 1_000_000:06d}"

        async def lookup(code: str, ip: str) -> personal.PublicTicket:
            return await personal.public_ticket(
                actor=city.anonymous, number=number, query_code=code, ip=ip
            )

        for i in range(citizen.FAILURES_PER_NUMBER):
            with pytest.raises(NotFound):
                await lookup(wrong, f"203.0.113.{i}")
        with pytest.raises(RateLimited) as slowed:
            await lookup(created.query_code, "198.51.100.8")
        assert slowed.value.params == {"seconds": 1}
        per_number = f"citizen-proof:{city.id}:{keyed_hash(number, 'citizen-proof')}"
        await _delay_passed(per_number)
        assert (await lookup(created.query_code, "198.51.100.8")).number == number
        # each further wrong code doubles the delay
        with pytest.raises(NotFound):
            await lookup(wrong, "203.0.113.50")
        with pytest.raises(RateLimited) as slower:
            await lookup(created.query_code, "198.51.100.8")
        assert slower.value.params == {"seconds": 2}


async def _delay_passed(key: str) -> None:
    name = redis_key("backoff", key, "until")
    ratelimit._delays.clear(name)
    await redis_client().delete(name)

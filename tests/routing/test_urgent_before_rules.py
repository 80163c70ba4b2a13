"""An urgent matter goes to the duty room before any routing rule is tried: the demo
cities' keyword rule "燃气" (→ the gas company) must not capture a gas leak
(docs/routing.md "Decision for a new ticket"). A gas matter that is not urgent is
still the rule's."""

from __future__ import annotations

from hotline.platform.tenancy import use_scope
from hotline.tenants.kernel.access import Actor
from hotline.tenants.routing.models import RoutingRule
from hotline.tenants.tickets import intake
from hotline.tenants.tickets.autodispatch import route_new_ticket
from hotline.tenants.tickets.models import Assignment, Channel, Kind, Status, Ticket, TimelineEvent
from tests.world import City, World

LEAKS = (
    "小区楼道里燃气泄漏了，味道很大，请赶紧来人",
    "家门口闻到很浓的煤气味",
    "德城区新华街道某小区楼道里有很大的燃气泄漏味道",
)


async def _gas_rule(city: City) -> None:
    with use_scope(city.scope()):
        await RoutingRule.create(
            name="燃气（关键词）",
            priority=1,  # before every other rule of the world
            keywords=["燃气", "煤气"],
            department=city.bureau,
        )


async def _new(actor: Actor, content: str) -> Ticket:
    created = await intake.create_ticket(
        actor=actor, channel=Channel.PHONE, kind=Kind.HELP, content=content
    )
    return created.ticket


async def test_a_gas_leak_goes_to_the_duty_room_although_a_keyword_rule_matches(
    world: World,
) -> None:
    alpha = world.alpha
    await _gas_rule(alpha)
    for content in LEAKS:
        ticket = await _new(alpha.agent, content)
        with use_scope(alpha.scope()):
            routed = await route_new_ticket(ticket_id=ticket.id)
            assert routed.source == "urgent", content
            after = await Ticket.get(id=ticket.id)
            lead = await Assignment.get(ticket_id=ticket.id, is_lead=True)
            event = await TimelineEvent.get(ticket_id=ticket.id, action="dispatch")
        assert routed.department_id == alpha.duty_room.id
        assert routed.suggestions[0]["department_id"] == alpha.duty_room.id
        assert after.status is Status.DISPATCHED  # at once, no threshold set
        assert lead.department_id == alpha.duty_room.id
        assert "urgent" in event.reason
    # a gas matter that is no emergency is still the rule's, and only suggested
    bill = await _new(alpha.agent, "燃气费怎么在网上交，营业厅在哪里")
    with use_scope(alpha.scope()):
        routed = await route_new_ticket(ticket_id=bill.id)
        after = await Ticket.get(id=bill.id)
    assert routed.source == "rule"
    assert routed.department_id == alpha.bureau.id
    assert after.status is Status.RECEIVED

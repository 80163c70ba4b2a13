"""Through the API: a gas leak taken by ``createTicket`` is routed to the duty room and
dispatched there at once, although the city's keyword rule "燃气" names the gas company
(urgent detection comes before rules, docs/routing.md) — and ``createTicket``'s immediate
``suggestedDepartments`` already names the duty room first, as the stored suggestion does
(one check, ``routing.urgent_duty_room``); ``routingSuggestion`` of another city's ticket
is NOT_FOUND like every ticket read."""

from __future__ import annotations

from strawberry import relay

from hotline.platform.outbox.models import OutboxMessage
from hotline.platform.tenancy import Scope, use_scope
from hotline.tenants.notifications.delivery import deliver_outbox
from hotline.tenants.routing.models import RoutingRule
from hotline.tenants.tickets import intake
from tests.tickets_api.conftest import World

CREATE = """mutation($c: String!) { createTicket(input: {channel: PHONE, kind: HELP,
    content: $c}) { ticket { id status suggestedDepartments { department { name } ruleName } }
    errors { code } } }"""
ROUTED = """query($id: ID!) { ticket(id: $id) { status assignments { department { name } } }
    routingSuggestion(ticketId: $id) { source suggestions { department { name } } } }"""
SUGGESTION = "query($id: ID!) { routingSuggestion(ticketId: $id) { source } }"


async def test_a_gas_leak_is_dispatched_to_the_duty_room_despite_a_keyword_rule(
    world: World,
) -> None:
    alpha = world.alpha
    with use_scope(alpha.scope()):
        await RoutingRule.create(
            name="燃气（关键词）", priority=1, keywords=["燃气"], department=alpha.bureau
        )
    leak = "小区楼道里燃气泄漏了，味道很大，请赶紧来人"
    body = await world.gql(alpha, "agent", CREATE, {"c": leak})
    created = body["data"]["createTicket"]
    assert created["errors"] == []
    suggested = created["ticket"]["suggestedDepartments"]
    assert suggested[0] == {"department": {"name": "Duty room"}, "ruleName": "urgent: gas_leak"}
    # the keyword rule's department comes only after it
    assert [s["department"]["name"] for s in suggested[1:]] == [alpha.bureau.name]
    gid = created["ticket"]["id"]
    ticket_id = int(relay.GlobalID.from_id(gid).node_id)
    with use_scope(Scope.platform()):
        message = await OutboxMessage.get(
            kind=intake.ROUTE_KIND, tenant_id=alpha.tenant.id, payload={"ticket_id": ticket_id}
        )
    with use_scope(alpha.scope()):
        assert await deliver_outbox(outbox_id=message.id) == "sent"
    routed = (await world.gql(alpha, "dispatcher", ROUTED, {"id": gid}))["data"]
    assert routed["routingSuggestion"]["source"] == "urgent"
    assert routed["routingSuggestion"]["suggestions"][0]["department"]["name"] == "Duty room"
    assert suggested[0]["department"] == routed["routingSuggestion"]["suggestions"][0]["department"]
    assert routed["ticket"]["status"] == "DISPATCHED"
    assert [a["department"]["name"] for a in routed["ticket"]["assignments"]] == ["Duty room"]

    # another city's ticket: NOT_FOUND, as for a ticket that does not exist
    other = await world.gql(world.beta, "dispatcher", SUGGESTION, {"id": gid})
    missing = await world.gql(
        world.beta, "dispatcher", SUGGESTION, {"id": str(relay.GlobalID("Ticket", "999999"))}
    )
    assert world.codes(other) == world.codes(missing) == ["NOT_FOUND"]
    assert other["data"] is None or other["data"]["routingSuggestion"] is None

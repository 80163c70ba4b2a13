"""Live views over graphql-transport-ws against a real uvicorn server: a ticket's
timeline and a department's inbox, authenticated by the connection_init payload."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from hotline.platform import pubsub
from hotline.platform.tenancy import use_scope
from hotline.schema.ids import encode_id
from hotline.tenants.accounts.models import Membership
from hotline.tenants.kernel.roles import Role
from hotline.tenants.tickets import reads
from hotline.tenants.tickets.models import AssignmentStatus, Status
from hotline.tenants.tickets.sweep import sweep_deadlines
from tests import isolation_registry

from .conftest import add_person

if TYPE_CHECKING:
    from tests.tickets_api.conftest import City, World

PROTOCOL = "graphql-transport-ws"


# The query of each subscription id, so answers can be told to the isolation registry.
_QUERIES: dict[str, str] = {}


async def receive(ws: ClientConnection) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), timeout=5))
    if message.get("type") == "next" and message.get("id") in _QUERIES:
        isolation_registry.record(_QUERIES[message["id"]], message["payload"])
    return message


async def start(ws: ClientConnection, city: City, who: str) -> None:
    init = {"authorization": f"Bearer {city.tokens[who]}", "tenant": city.slug}
    await ws.send(json.dumps({"type": "connection_init", "payload": init}))
    assert (await receive(ws))["type"] == "connection_ack"


async def subscribe(ws: ClientConnection, op: str, query: str, **variables: Any) -> None:
    payload = {"query": query, "variables": variables}
    _QUERIES[op] = query
    await ws.send(json.dumps({"id": op, "type": "subscribe", "payload": payload}))
    await asyncio.sleep(0.2)  # let the resolver subscribe to its channel


async def test_ticket_timeline_and_department_inbox_live(world: World, server_url: str) -> None:
    a = world.alpha
    made = await world.ticket(
        a, status=Status.DISPATCHED, departments=[(a.district, AssignmentStatus.PENDING_SIGN)]
    )
    ticket_id = str(encode_id("Ticket", made.ticket.id))
    async with connect(server_url, subprotocols=[PROTOCOL]) as ws:  # type: ignore[list-item]
        await start(ws, a, "district")
        await subscribe(
            ws,
            "t",
            "subscription($t: ID!) { ticketTimeline(ticketId: $t) { seq action reason at } }",
            t=ticket_id,
        )
        await subscribe(
            ws,
            "i",
            "subscription($d: ID!) { departmentInbox(departmentId: $d) "
            "{ status ticket { number status } } }",
            d=str(encode_id("Department", a.district.id)),
        )
        # the district signs for its assignment through the HTTP API…
        body = await world.gql(
            a,
            "district",
            "mutation($a: ID!) { signForAssignment(assignmentId: $a) "
            "{ assignment { status } errors { code message } } }",
            {"a": str(encode_id("Assignment", made.assignments[0].id))},
        )
        assert body["data"]["signForAssignment"]["errors"] == [], body
        # …and both live views hear of it
        seen: dict[str, list[dict[str, Any]]] = {"t": [], "i": []}
        while not (seen["t"] and seen["i"]):
            message = await receive(ws)
            assert message["type"] == "next", message
            seen[message["id"]].append(message["payload"]["data"])
        (event,) = seen["t"]
        assert event["ticketTimeline"]["action"] == "sign_for"
        assert event["ticketTimeline"]["at"].endswith("+08:00")  # the city's zone, live too
        inbox = seen["i"][0]["departmentInbox"]
        assert inbox["status"] == "SIGNED"
        assert inbox["ticket"] == {"number": made.ticket.number, "status": "ACCEPTED"}


async def test_other_city_and_bad_tokens_are_refused(world: World, server_url: str) -> None:
    a, b = world.alpha, world.beta
    made = await world.ticket(a)
    async with connect(server_url, subprotocols=[PROTOCOL]) as ws:  # type: ignore[list-item]
        await start(ws, b, "agent")
        await subscribe(
            ws,
            "t",
            "subscription($t: ID!) { ticketTimeline(ticketId: $t) { seq } }",
            t=str(encode_id("Ticket", made.ticket.id)),
        )
        message = await receive(ws)
        assert message["type"] == "next"
        assert message["payload"]["errors"][0]["extensions"]["code"] == "NOT_FOUND"
        await subscribe(
            ws,
            "i",
            "subscription($d: ID!) { departmentInbox(departmentId: $d) { status } }",
            d=str(encode_id("Department", a.district.id)),
        )
        message = await receive(ws)
        while message.get("id") != "i":  # the refused timeline's own "complete"
            message = await receive(ws)
        assert message["type"] == "next"
        assert message["payload"]["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    # a token of alpha's agent naming beta as its city: refused at connection_init
    async with connect(server_url, subprotocols=[PROTOCOL]) as ws:  # type: ignore[list-item]
        init = {"authorization": f"Bearer {a.tokens['agent']}", "tenant": b.slug}
        await ws.send(json.dumps({"type": "connection_init", "payload": init}))
        try:
            await receive(ws)
            closed_code = None
        except ConnectionClosed as exc:
            closed_code = exc.rcvd.code if exc.rcvd else None
        assert closed_code == 4403


async def test_a_revoked_membership_ends_the_live_view(world: World, server_url: str) -> None:
    """Checked at connect AND before each event: revoking the handler's membership ends
    its inbox subscription at the next change instead of when the socket closes."""
    a = world.alpha
    await add_person(a, "leaver", Role.DEPT_HANDLER, a.district)
    made = await world.ticket(
        a, status=Status.DISPATCHED, departments=[(a.district, AssignmentStatus.PENDING_SIGN)]
    )
    async with connect(server_url, subprotocols=[PROTOCOL]) as ws:  # type: ignore[list-item]
        await start(ws, a, "leaver")
        await subscribe(
            ws,
            "i",
            "subscription($d: ID!) { departmentInbox(departmentId: $d) { status } }",
            d=str(encode_id("Department", a.district.id)),
        )
        with use_scope(a.scope()):
            await Membership.filter(user_id=a.users["leaver"]).update(is_active=False)
        await pubsub.publish(
            reads.inbox_channel(a.tenant.id, a.district.id), {"ticket_id": made.ticket.id}
        )
        message = await receive(ws)
        assert message == {"id": "i", "type": "complete"}


async def test_a_workers_change_reaches_the_live_view_through_the_domain_events(
    world: World, server_url: str
) -> None:
    """No resolver announces it: the deadline sweep (a worker's job) opens an automatic
    supervision order, its domain event reaches the after-commit live push."""
    a = world.alpha
    overdue = datetime.now(UTC) - timedelta(hours=1)
    made = await world.ticket(
        a,
        status=Status.DISPATCHED,
        departments=[(a.district, AssignmentStatus.PENDING_SIGN)],
        reply_deadline=overdue,
    )
    async with connect(server_url, subprotocols=[PROTOCOL]) as ws:  # type: ignore[list-item]
        await start(ws, a, "supervisor")
        await subscribe(
            ws,
            "t",
            "subscription($t: ID!) { ticketTimeline(ticketId: $t) { action actorRole } }",
            t=str(encode_id("Ticket", made.ticket.id)),
        )
        with use_scope(a.scope()):
            report = await sweep_deadlines()
        assert report.supervisions_opened >= 1
        message = await receive(ws)
        assert message["type"] == "next", message
        event = message["payload"]["data"]["ticketTimeline"]
        assert event == {"action": "supervision_opened", "actorRole": "system"}

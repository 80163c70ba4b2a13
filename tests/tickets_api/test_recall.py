"""``recallAssignment`` through GraphQL: the district takes back its stuck sub-dispatch to
the street; another city's people, the street itself and the co-handling bureau get the
NOT_FOUND of an assignment out of reach (the same answer as an id that does not exist),
and nothing changes until the district asks."""

from __future__ import annotations

from typing import Any

from hotline.platform.tenancy import use_scope
from hotline.schema.ids import encode_id
from hotline.tenants.tickets import dispatch
from hotline.tenants.tickets.models import Assignment, AssignmentStatus
from tests import world as shared
from tests.tickets_api.conftest import World

RECALL = """mutation($a: ID!, $r: String!) { recallAssignment(assignmentId: $a, reason: $r) {
    assignment { id status } errors { field code message } } }"""


TIMELINE = """query($t: ID!) { node(id: $t) { ... on Ticket {
    timeline { action reason data department { name } } } } }"""


def _codes(body: dict[str, Any]) -> list[str]:
    return [e["code"] for e in body["data"]["recallAssignment"]["errors"]]


async def test_the_district_recalls_its_sub_dispatch(
    world: World, shared_world: shared.World
) -> None:
    city = shared_world.alpha
    ticket = await city.ticket()
    await dispatch.dispatch_ticket(
        actor=city.agent,
        ticket_id=ticket.id,
        lead_department_id=city.district.id,
        co_department_ids=[city.bureau.id],
    )
    with use_scope(city.scope()):
        lead = await Assignment.get(ticket_id=ticket.id, is_lead=True)
    await dispatch.sign_for_assignment(actor=city.district_handler, assignment_id=lead.id)
    child = await dispatch.sub_dispatch(
        actor=city.district_handler, assignment_id=lead.id, department_id=city.street.id
    )
    child_id = str(encode_id("Assignment", child.id))
    missing_id = str(encode_id("Assignment", 10**12))

    # another city: NOT_FOUND, as for an assignment that does not exist
    for who in ("district", "dispatcher"):
        other = await world.gql(world.beta, who, RECALL, {"a": child_id, "r": "x"})
        missing = await world.gql(world.beta, who, RECALL, {"a": missing_id, "r": "x"})
        assert _codes(other) == _codes(missing) == ["NOT_FOUND"]
        assert other["data"]["recallAssignment"]["assignment"] is None
    # this city's street (the child itself) and bureau (a co-handler): out of their reach
    for who in ("street", "bureau"):
        body = await world.gql(world.alpha, who, RECALL, {"a": child_id, "r": "x"})
        assert _codes(body) == ["NOT_FOUND"]
    # the lead's own assignment is not a sub-dispatch
    top = await world.gql(
        world.alpha, "district", RECALL, {"a": str(encode_id("Assignment", lead.id)), "r": "x"}
    )
    assert [(e["field"], e["code"]) for e in top["data"]["recallAssignment"]["errors"]] == [
        ("assignmentId", "INVALID")
    ]
    with use_scope(city.scope()):
        assert (await Assignment.get(id=child.id)).status is AssignmentStatus.PENDING_SIGN

    done = await world.gql(world.alpha, "district", RECALL, {"a": child_id, "r": "区里自办"})
    assert done["data"]["recallAssignment"] == {
        "assignment": {"id": child_id, "status": "CANCELLED"},
        "errors": [],
    }
    again = await world.gql(world.alpha, "district", RECALL, {"a": child_id, "r": "x"})
    assert _codes(again) == ["CONFLICT"]

    # the timeline names the parent as every event names objects: by global id
    read = await world.gql(
        world.alpha,
        "district",
        TIMELINE,
        {"t": str(encode_id("Ticket", ticket.id))},
    )
    [recall] = [e for e in read["data"]["node"]["timeline"] if e["action"] == "recall"]
    assert recall["reason"] == "区里自办"
    assert recall["department"] == {"name": city.street.name}
    assert recall["data"] == {
        "parent": str(encode_id("Assignment", lead.id)),
        "parent_department": str(encode_id("Department", city.district.id)),
    }

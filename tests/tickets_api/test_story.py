"""The work-order story through GraphQL only, in both cities, with the other city's
people trying every mutation on this city's ids (always NOT_FOUND)."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

import pytest

from hotline.schema.ids import encode_id

if TYPE_CHECKING:
    from tests.tickets_api.conftest import City, World

ERR = "errors { field code message }"


def gid(kind: str, key: int) -> str:
    return str(encode_id(kind, key))


async def ok(world: World, city: City, who: str | None, query: str, **variables: Any) -> Any:
    """Run ``query`` (its ``ERRORS`` stands for the payload's error fields); no errors."""
    body = await world.gql(city, who, query.replace("ERRORS", ERR), variables)
    assert "errors" not in body, body
    (payload,) = body["data"].values()
    if isinstance(payload, dict) and "errors" in payload:
        assert payload["errors"] == [], payload
    return payload


MUTATIONS: list[tuple[str | None, str]] = [
    # (who in the other city, the mutation on this city's ids)
    ("agent", 'createTicket(input: {channel: PHONE, kind: HELP, content: "x", categoryId: $g})'),
    (None, 'rateTicket(input: {number: $n, queryCode: "000000", grade: SATISFIED})'),
    ("dispatcher", "dispatchTicket(input: {ticketId: $t, leadDepartmentId: $d})"),
    ("district", "signForAssignment(assignmentId: $a)"),
    ("district", 'returnAssignment(assignmentId: $a, reason: "x")'),
    ("supervisor", "decideReturn(assignmentId: $a, approve: true)"),
    ("district", "subDispatch(input: {assignmentId: $a, departmentId: $d})"),
    ("district", 'requestExtension(assignmentId: $a, workingDays: 5, reason: "x")'),
    ("supervisor", "decideExtension(extensionId: $e, approve: true)"),
    ("district", 'replyAssignment(input: {assignmentId: $a, reply: "x"})'),
    ("agent", "reviewReply(ticketId: $t, approve: true)"),
    ("agent", "revisitTicket(input: {ticketId: $t, reached: true, grade: SATISFIED})"),
    ("agent", 'cancelTicket(ticketId: $t, reason: "x")'),
    ("agent", 'rejectTicket(ticketId: $t, reason: "x")'),
    ("agent", "urgeTicket(ticketId: $t)"),
    ("agent", 'reclassifyTicket(input: {ticketId: $t, kind: HELP, reason: "x"})'),
    ("agent", "mergeTickets(ticketId: $t, intoTicketId: $x)"),
    ("supervisor", 'openSupervision(ticketId: $t, reason: "x")'),
    ("supervisor", "escalateSupervision(supervisionId: $s)"),
    ("supervisor", 'commentSupervision(supervisionId: $s, text: "x")'),
    ("supervisor", "closeSupervision(supervisionId: $s)"),
    ("district", 'requestSuspension(assignmentId: $a, cause: OTHER, reason: "x")'),
    ("supervisor", 'suspendTicket(ticketId: $t, cause: OTHER, reason: "x")'),
    ("supervisor", "decideSuspension(suspensionId: $u, approve: true)"),
    ("supervisor", "resumeTicket(suspensionId: $u)"),
    ("agent", 'addSupplement(ticketId: $t, text: "x")'),
    (None, 'supplementTicket(number: $n, queryCode: "000000", text: "x")'),
    ("agent", 'answerFromArticle(ticketId: $t, articleId: $k, answer: "x")'),
    ("province", 'transferTicket(ticketId: $t, toTenantId: $c, reason: "x")'),
]


async def isolated(
    world: World, city: City, other: City, ids: dict[str, int], number: str = "X"
) -> None:
    """Every mutation, by the other city's people, on this city's ids: NOT_FOUND."""
    variables = {
        "t": gid("Ticket", ids.get("t", 10**9)),
        "a": gid("Assignment", ids.get("a", 10**9)),
        "e": gid("ExtensionRequest", ids.get("e", 10**9)),
        "s": gid("Supervision", ids.get("s", 10**9)),
        "u": gid("Suspension", ids.get("u", 10**9)),
        "d": gid("Department", other.district.id),
        "k": gid("Article", 10**9),
        "c": gid("Tenant", other.tenant.id),
        "x": gid("Ticket", 10**9 + 1),
        "g": gid("Category", city.category.id),
        "n": number,
    }
    for who, call in MUTATIONS:
        used = {k: v for k, v in variables.items() if f"${k}" in call}
        declared = ", ".join(f"${k}: {'String' if k == 'n' else 'ID'}!" for k in used)
        mutation = f"mutation({declared}) {{ {call} {{ {ERR} }} }}"
        body = await world.gql(other, who, mutation, used)
        assert "errors" not in body, body
        (payload,) = body["data"].values()
        # the citizen's wrong query codes run out their budget (RATE_LIMITED, which tells
        # nothing either); the first ones answer NOT_FOUND like a made-up number
        expected = [["NOT_FOUND"], ["RATE_LIMITED"]] if who is None else [["NOT_FOUND"]]
        assert [e["code"] for e in payload["errors"]] in expected, (mutation, payload)


@pytest.mark.parametrize("name", ["alpha", "beta"])
async def test_story_through_graphql(world: World, name: str) -> None:
    city, other = (world.alpha, world.beta) if name == "alpha" else (world.beta, world.alpha)

    rule = await ok(
        world,
        city,
        "dispatcher",
        # priority 1: ahead of the world's own rules (tests/world.py), so the suggestion
        # below is this rule's
        'mutation($d: ID!, $c: ID!) { createRoutingRule(input: {name: "违建", priority: 1, '
        'departmentId: $d, categoryId: $c, keywords: ["违建"]}) { routingRule { id } ERRORS } }',
        d=gid("Department", city.district.id),
        c=gid("Category", city.category.id),
    )
    assert rule["routingRule"]["id"]

    created = await ok(
        world,
        city,
        "agent",
        """mutation($c: ID!, $a: ID!) { createTicket(input: {
          channel: PHONE, kind: COMPLAINT, content: "小区门口有违建，影响通行",
          citizenName: "李四", citizenPhone: "13900005678", address: "泉城路 1 号",
          location: {lng: "117.0286", lat: "36.6686", datum: GCJ02},
          categoryId: $c, areaId: $a, idempotencyKey: "call-1"}) {
            ticket { id number status citizen { name phone }
              suggestedDepartments { department { name } ruleName } }
            queryCode created ERRORS } }""",
        c=gid("Category", city.subcategory.id),
        a=gid("Department", city.street.id),
    )
    ticket = created["ticket"]
    assert created["created"] is True
    assert ticket["status"] == "RECEIVED"
    assert ticket["citizen"] == {"name": "李*", "phone": "139****5678"}
    assert ticket["suggestedDepartments"][0] == {
        "department": {"name": city.district.name},
        "ruleName": "违建",
    }
    tid = ticket["id"]
    ids = {"t": int(id_key(tid))}
    await isolated(world, city, other, ids, ticket["number"])

    await ok(
        world,
        city,
        "dispatcher",
        "mutation($t: ID!, $l: ID!, $c: ID!) { dispatchTicket(input: {ticketId: $t, "
        "leadDepartmentId: $l, coDepartmentIds: [$c]}) { ticket { status } ERRORS } }",
        t=tid,
        l=gid("Department", city.district.id),
        c=gid("Department", city.bureau.id),
    )

    # the district's inbox shows it to sign
    inbox = await ok(
        world,
        city,
        "district",
        "query($d: ID!) { inbox(departmentId: $d, box: TO_SIGN) { nodes { id isLead "
        "ticket { number } } } }",
        d=gid("Department", city.district.id),
    )
    (lead,) = [n for n in inbox["nodes"] if n["ticket"]["number"] == ticket["number"]]
    ids["a"] = int(id_key(lead["id"]))
    await isolated(world, city, other, ids, ticket["number"])

    await ok(
        world,
        city,
        "district",
        "mutation($a: ID!) { signForAssignment(assignmentId: $a) "
        "{ assignment { status } ERRORS } }",
        a=lead["id"],
    )
    child = await ok(
        world,
        city,
        "district",
        "mutation($a: ID!, $d: ID!) { subDispatch(input: {assignmentId: $a, departmentId: $d}) "
        "{ assignment { id status department { name } } ERRORS } }",
        a=lead["id"],
        d=gid("Department", city.street.id),
    )
    assert child["assignment"]["department"]["name"] == city.street.name
    ext = await ok(
        world,
        city,
        "district",
        'mutation($a: ID!) { requestExtension(assignmentId: $a, workingDays: 5, reason: "需协调") '
        "{ extension { id status } ERRORS } }",
        a=lead["id"],
    )
    ids["e"] = int(id_key(ext["extension"]["id"]))
    await isolated(world, city, other, ids, ticket["number"])
    decided = await ok(
        world,
        city,
        "supervisor",
        "mutation($e: ID!) { decideExtension(extensionId: $e, approve: true) "
        "{ extension { status newDeadline } ERRORS } }",
        e=ext["extension"]["id"],
    )
    assert decided["extension"]["status"] == "APPROVED"

    # supervision on the open work
    sup = await ok(
        world,
        city,
        "supervisor",
        'mutation($t: ID!) { openSupervision(ticketId: $t, reason: "请加快") '
        "{ supervision { id level status } ERRORS } }",
        t=tid,
    )
    ids["s"] = int(id_key(sup["supervision"]["id"]))
    await isolated(world, city, other, ids, ticket["number"])
    escalated = await ok(
        world,
        city,
        "supervisor",
        "mutation($s: ID!) { escalateSupervision(supervisionId: $s) "
        "{ supervision { level } ERRORS } }",
        s=sup["supervision"]["id"],
    )
    assert escalated["supervision"]["level"] == 2

    # a suspension: the other city's supervisor tries its REAL id while it is requested,
    # and again once it is approved (resumeTicket then has something to resume)
    asked = await ok(
        world,
        city,
        "district",
        "mutation($a: ID!) { requestSuspension(assignmentId: $a, cause: OTHER, "
        'reason: "等待产权单位回复") { suspension { id status } ERRORS } }',
        a=lead["id"],
    )
    assert asked["suspension"]["status"] == "REQUESTED"
    ids["u"] = int(id_key(asked["suspension"]["id"]))
    await isolated(world, city, other, ids, ticket["number"])
    approved = await ok(
        world,
        city,
        "supervisor",
        "mutation($u: ID!) { decideSuspension(suspensionId: $u, approve: true) "
        "{ suspension { status } ERRORS } }",
        u=asked["suspension"]["id"],
    )
    assert approved["suspension"]["status"] == "ACTIVE"
    await isolated(world, city, other, ids, ticket["number"])
    resumed = await ok(
        world,
        city,
        "supervisor",
        "mutation($u: ID!) { resumeTicket(suspensionId: $u) { suspension { status } ERRORS } }",
        u=asked["suspension"]["id"],
    )
    assert resumed["suspension"]["status"] == "ENDED"

    # the district answers for what it sub-dispatched: refused until the street replied
    early = await world.gql(
        city,
        "district",
        'mutation($a: ID!) { replyAssignment(input: {assignmentId: $a, reply: "已拆除"}) '
        "{ assignment { status } ERRORS } }".replace("ERRORS", "errors { field code message }"),
        {"a": lead["id"]},
    )
    refused = early["data"]["replyAssignment"]["errors"]
    assert [(e["field"], e["code"]) for e in refused] == [("assignmentId", "CONFLICT")]
    assert city.street.name in refused[0]["message"]
    for mutation in (
        "mutation($a: ID!) { signForAssignment(assignmentId: $a) "
        "{ assignment { status } ERRORS } }",
        'mutation($a: ID!) { replyAssignment(input: {assignmentId: $a, reply: "已现场核实"}) '
        "{ assignment { status } ERRORS } }",
    ):
        await ok(world, city, "street", mutation, a=child["assignment"]["id"])
    await ok(
        world,
        city,
        "district",
        'mutation($a: ID!) { replyAssignment(input: {assignmentId: $a, reply: "已拆除", '
        'resolved: true, publicReply: "违建已拆除"}) { assignment { status } ERRORS } }',
        a=lead["id"],
    )
    await ok(
        world,
        city,
        "agent",
        "mutation($t: ID!) { reviewReply(ticketId: $t, approve: true) "
        "{ ticket { status } ERRORS } }",
        t=tid,
    )
    closed = await ok(
        world,
        city,
        "agent",
        "mutation($t: ID!) { revisitTicket(input: {ticketId: $t, reached: true, "
        "grade: SATISFIED, resolved: true}) { ticket { status } ERRORS } }",
        t=tid,
    )
    assert closed["ticket"]["status"] == "CLOSED"
    await isolated(world, city, other, ids, ticket["number"])

    # the citizen's view: progress, the public reply, nothing personal
    public = await ok(
        world,
        city,
        None,
        "query($n: String!, $c: String!) { publicTicket(number: $n, queryCode: $c) "
        "{ status publicReply closedAt } }",
        n=ticket["number"],
        c=created["queryCode"],
    )
    assert public["status"] == "CLOSED"
    assert public["publicReply"] == "违建已拆除"

    detail = await ok(
        world,
        city,
        "supervisor",
        "query($t: ID!) { ticket(id: $t) { status timeline { seq action } "
        "assignments { isLead children { department { name } } } "
        "supervisions { level status } extensions { status } revisits { grade } } }",
        t=tid,
    )
    assert [e["seq"] for e in detail["timeline"]] == list(range(1, len(detail["timeline"]) + 1))
    lead_row = next(a for a in detail["assignments"] if a["isLead"])
    assert lead_row["children"] == [{"department": {"name": city.street.name}}]
    assert detail["revisits"] == [{"grade": "SATISFIED"}]
    # the closed ticket keeps no open supervision (closed with it, on the timeline)
    assert detail["supervisions"] == [{"level": 2, "status": "CLOSED"}]
    assert "supervision_closed" in [e["action"] for e in detail["timeline"]]


def id_key(global_id: str) -> str:
    return base64.b64decode(global_id).decode().split(":", 1)[1]


async def test_a_timeline_reads_as_people_and_ids_a_frontend_can_follow(world: World) -> None:
    city = world.alpha
    created = await ok(
        world,
        city,
        "agent",
        'mutation { createTicket(input: {channel: PHONE, kind: HELP, content: "路灯不亮"}) '
        "{ ticket { id } ERRORS } }",
    )
    tid = created["ticket"]["id"]
    await ok(
        world,
        city,
        "dispatcher",
        "mutation($t: ID!, $d: ID!) { dispatchTicket(input: {ticketId: $t, "
        "leadDepartmentId: $d}) { ticket { id } ERRORS } }",
        t=tid,
        d=gid("Department", city.district.id),
    )
    body = await world.gql(
        city,
        "dispatcher",
        "query($t: ID!) { ticket(id: $t) { timeline { action actorName actorRole data } } }",
        {"t": tid},
    )
    create, dispatch = body["data"]["ticket"]["timeline"]
    assert create["action"] == "create"
    assert create["actorName"]  # a person's name, not a raw id
    assert dispatch["data"]["lead"] == gid("Department", city.district.id)
    assert dispatch["data"]["reply_deadline"].endswith("+08:00")
    assert dispatch["data"]["sign_deadline"].endswith("+08:00")

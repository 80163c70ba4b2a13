"""Reading tickets through GraphQL: detail, search, inboxes, queues, and isolation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from hotline.schema.ids import encode_id
from hotline.tenants.tickets.models import AssignmentStatus, Status

if TYPE_CHECKING:
    from tests.tickets_api.conftest import World

DETAIL = """
query($id: ID!) { ticket(id: $id) {
  id number status kind channel content location { lng lat }
  citizen { name phone anonymous }
  category { name parent { name } } area { name }
  stages { receivedAt dispatchedAt closedAt }
  overdue dueSoon
  assignments { isLead status department { name } replyDeadline overdue children { id } }
  timeline { seq action toStatus }
  supervisions { id } extensions { id } revisits { attempt }
} }
"""


async def test_ticket_detail_masks_the_citizen(world: World) -> None:
    a = world.alpha
    made = await world.ticket(
        a,
        status=Status.DISPATCHED,
        departments=[
            (a.district, AssignmentStatus.PENDING_SIGN),
            (a.bureau, AssignmentStatus.SIGNED),
        ],
    )
    body = await world.gql(a, "agent", DETAIL, {"id": str(encode_id("Ticket", made.ticket.id))})
    assert "errors" not in body, body
    t = body["data"]["ticket"]
    assert t["number"] == made.ticket.number
    assert t["citizen"] == {"name": "张*", "phone": "138****5678", "anonymous": False}
    assert t["category"] == {"name": "illegal construction", "parent": {"name": "urban management"}}
    assert [x["department"]["name"] for x in t["assignments"]] == [a.district.name, a.bureau.name]
    assert t["assignments"][0]["isLead"] is True
    assert t["timeline"] == [{"seq": 1, "action": "create", "toStatus": "received"}]
    assert t["location"] == {"lng": 117.0, "lat": 36.65}


async def test_every_query_is_isolated_between_cities(world: World) -> None:
    a, b = world.alpha, world.beta
    made = await world.ticket(
        a, status=Status.DISPATCHED, departments=[(a.district, AssignmentStatus.PENDING_SIGN)]
    )
    tid = str(encode_id("Ticket", made.ticket.id))
    checks = [
        (DETAIL, {"id": tid}),
        ("query($n: String!) { ticketByNumber(number: $n) { id } }", {"n": made.ticket.number}),
        (
            "query($d: ID!) { inbox(departmentId: $d, box: TO_SIGN) { nodes { id } } }",
            {"d": str(encode_id("Department", a.district.id))},
        ),
        (
            "query($c: ID!) { tickets(filter: { categoryId: $c }) { nodes { id } } }",
            {"c": str(encode_id("Category", a.category.id))},
        ),
        (
            "query($c: ID!) { tickets(filter: { areaId: $c }) { nodes { id } } }",
            {"c": str(encode_id("Department", a.district.id))},
        ),
    ]
    for query, variables in checks:
        # beta's people (center and department) against alpha's ids: NOT_FOUND, like a made-up id
        for who in ("agent", "district"):
            body = await world.gql(b, who, query, variables)
            assert world.codes(body) == ["NOT_FOUND"], (query, who, body)
    # lists that take no id show none of alpha's rows to beta
    body = await world.gql(b, "agent", "{ tickets { nodes { number } } }")
    assert made.ticket.number not in str(body)
    for queue in ("UNASSIGNED", "REVIEW", "REVISIT", "SUPERVISION", "DUE_SOON", "OVERDUE"):
        body = await world.gql(
            b, "agent", f"{{ centerQueue(queue: {queue}) {{ nodes {{ number }} }} }}"
        )
        assert "errors" not in body
        assert made.ticket.number not in str(body)
    body = await world.gql(b, "agent", '{ citizenHistory(phone: "13812345678") { number } }')
    assert made.ticket.number not in str(body)
    body = await world.gql(
        b,
        None,
        "query($n: String!, $c: String!) { publicTicket(number: $n, queryCode: $c) { status } }",
        {"n": made.ticket.number, "c": made.query_code},
    )
    assert world.codes(body) == ["NOT_FOUND"]
    # a made-up id answers the same
    body = await world.gql(a, "agent", DETAIL, {"id": str(encode_id("Ticket", 10**9))})
    assert world.codes(body) == ["NOT_FOUND"]


async def test_department_handlers_see_their_subtree_only(world: World) -> None:
    a = world.alpha
    street_work = await world.ticket(
        a, status=Status.DISPATCHED, departments=[(a.street, AssignmentStatus.PENDING_SIGN)]
    )
    bureau_work = await world.ticket(
        a, status=Status.DISPATCHED, departments=[(a.bureau, AssignmentStatus.PENDING_SIGN)]
    )
    inbox = """query($d: ID!) { inbox(departmentId: $d, box: TO_SIGN) {
      nodes { ticket { number } department { name } } } }"""
    street_id = str(encode_id("Department", a.street.id))
    district_id = str(encode_id("Department", a.district.id))
    # the street handler sees its own inbox…
    body = await world.gql(a, "street", inbox, {"d": street_id})
    assert street_work.ticket.number in str(body)
    # …the district handler sees the street's (below it)…
    body = await world.gql(a, "district", inbox, {"d": street_id})
    assert street_work.ticket.number in str(body)
    # …but the street may not look up at the district, nor sideways at the bureau
    assert world.codes(await world.gql(a, "street", inbox, {"d": district_id})) == ["NOT_FOUND"]
    bureau_ticket = str(encode_id("Ticket", bureau_work.ticket.id))
    assert world.codes(await world.gql(a, "street", DETAIL, {"id": bureau_ticket})) == ["NOT_FOUND"]
    # search is limited the same way
    body = await world.gql(a, "street", "{ tickets(first: 100) { nodes { number } } }")
    assert street_work.ticket.number in str(body)
    assert bureau_work.ticket.number not in str(body)
    # and departments have no center queues
    body = await world.gql(a, "street", "{ centerQueue(queue: UNASSIGNED) { nodes { id } } }")
    assert world.codes(body) == ["PERMISSION_DENIED"]


async def test_boxes_and_queues(world: World) -> None:
    a = world.alpha
    now = datetime.now(UTC)
    late = await world.ticket(
        a,
        status=Status.ACCEPTED,
        departments=[(a.bureau, AssignmentStatus.SIGNED)],
        reply_deadline=now - timedelta(hours=1),
        due_soon_at=now - timedelta(days=1),
    )
    soon = await world.ticket(
        a,
        status=Status.ACCEPTED,
        departments=[(a.bureau, AssignmentStatus.SIGNED)],
        reply_deadline=now + timedelta(hours=5),
        due_soon_at=now - timedelta(hours=1),
    )
    review = await world.ticket(a, status=Status.REPLIED)
    bureau = str(encode_id("Department", a.bureau.id))
    q = """query($d: ID!, $b: InboxBox!) { inbox(departmentId: $d, box: $b) {
      nodes { overdue dueSoon ticket { number overdue dueSoon } } } }"""

    async def numbers(box: str) -> str:
        body = await world.gql(a, "bureau", q, {"d": bureau, "b": box})
        assert "errors" not in body, body
        return str(body)

    overdue = await numbers("OVERDUE")
    assert late.ticket.number in overdue
    assert soon.ticket.number not in overdue
    due_soon = await numbers("DUE_SOON")
    assert soon.ticket.number in due_soon
    assert late.ticket.number not in due_soon
    assert late.ticket.number in await numbers("IN_PROGRESS")

    async def queue(name: str) -> str:
        body = await world.gql(
            a,
            "supervisor",
            f"{{ centerQueue(queue: {name}, first: 100) {{ nodes {{ number }} }} }}",
        )
        assert "errors" not in body, body
        return str(body)

    assert late.ticket.number in await queue("OVERDUE")
    assert soon.ticket.number in await queue("DUE_SOON")
    assert review.ticket.number in await queue("REVIEW")
    assert review.ticket.number not in await queue("UNASSIGNED")


async def test_search_filters_and_keyset_pages(world: World) -> None:
    b = world.beta
    base = datetime(2026, 3, 2, 9, tzinfo=UTC)
    made = [
        await world.ticket(b, received_at=base + timedelta(minutes=i), content=f"噪音扰民 {i}")
        for i in range(7)
    ]
    q = """query($after: String, $f: TicketFilter) {
      tickets(first: 3, after: $after, filter: $f) {
        edges { cursor node { number } } pageInfo { hasNextPage endCursor } } }"""
    seen: list[str] = []
    after = None
    flt = {"keyword": "噪音扰民", "receivedFrom": base.isoformat()}
    while True:
        body = await world.gql(b, "agent", q, {"after": after, "f": flt})
        page = body["data"]["tickets"]
        seen += [e["node"]["number"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == [m.ticket.number for m in reversed(made)]
    body = await world.gql(b, "agent", q, {"f": {"keyword": made[2].ticket.number}})
    assert [e["node"]["number"] for e in body["data"]["tickets"]["edges"]] == [
        made[2].ticket.number
    ]
    body = await world.gql(b, "agent", q, {"f": {"status": ["CLOSED"], "keyword": "噪音扰民"}})
    assert body["data"]["tickets"]["edges"] == []
    # a keyword longer than a ticket number is text, not an error
    long = "噪音扰民" + "夜间施工声音很大影响休息" * 3
    body = await world.gql(b, "agent", q, {"f": {"keyword": long}})
    assert "errors" not in body, body
    assert body["data"]["tickets"]["edges"] == []
    body = await world.gql(b, "agent", q, {"after": "garbage"})
    assert world.codes(body) == ["INVALID"]


PUBLIC = """query($n: String!, $c: String!) {
  publicTicket(number: $n, queryCode: $c) { number status } }"""


async def test_public_ticket_needs_no_city(world: World) -> None:
    """The citizen has the number and the query code only: the number's prefix names the
    city. A wrong code, another city's number and an unknown prefix answer alike."""
    made = await world.ticket(world.alpha, status=Status.RECEIVED)
    other = await world.ticket(world.beta, status=Status.RECEIVED)
    assert made.ticket.number.startswith(world.alpha.tenant.number_prefix)

    async def no_city(number: str, code: str) -> dict[str, Any]:
        response = await world.client.post(
            "/graphql", json={"query": PUBLIC, "variables": {"n": number, "c": code}}
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    body = await no_city(made.ticket.number.lower(), made.query_code)
    assert body["data"]["publicTicket"] == {"number": made.ticket.number, "status": "RECEIVED"}
    body = await no_city(other.ticket.number, other.query_code)
    assert body["data"]["publicTicket"]["number"] == other.ticket.number
    wrong_code = "000000" if made.query_code != "000000" else "111111"
    refusals = [
        await no_city(made.ticket.number, wrong_code),
        await no_city(made.ticket.number, other.query_code),
        await no_city("ZZ" + made.ticket.number[2:], made.query_code),
        await no_city("12345", made.query_code),
        # with the city selected, as before
        await world.gql(world.alpha, None, PUBLIC, {"n": made.ticket.number, "c": wrong_code}),
    ]
    for body in refusals:
        assert body["data"] is None
        assert [(e["message"], e["extensions"]) for e in body["errors"]] == [
            (refusals[0]["errors"][0]["message"], refusals[0]["errors"][0]["extensions"])
        ], body
        assert world.codes(body) == ["NOT_FOUND"]

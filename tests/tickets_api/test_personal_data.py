"""The citizen's personal data: masked everywhere, unmasked only with the right role and
audited; the public lookup shows no personal data and is rate-limited."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hotline.platform.tenancy import use_scope
from hotline.schema.ids import encode_id
from hotline.tenants.kernel.audit import AuditEvent
from hotline.tenants.tickets.models import AssignmentStatus, Status

if TYPE_CHECKING:
    from tests.tickets_api.conftest import World

CONTACT = "query($id: ID!) { ticket(id: $id) { citizen { name phone } contact { name phone } } }"
PUBLIC = """query($n: String!, $c: String!) { publicTicket(number: $n, queryCode: $c) {
  number status kind categoryName receivedAt dispatchedAt closedAt publicReply rated } }"""


async def test_unmasking_needs_the_role_and_is_audited(world: World) -> None:
    a = world.alpha
    made = await world.ticket(
        a, status=Status.DISPATCHED, departments=[(a.district, AssignmentStatus.PENDING_SIGN)]
    )
    variables = {"id": str(encode_id("Ticket", made.ticket.id))}
    body = await world.gql(a, "agent", CONTACT, variables)
    assert "errors" not in body, body
    assert body["data"]["ticket"]["citizen"] == {"name": "张*", "phone": "138****5678"}
    assert body["data"]["ticket"]["contact"] == {"name": "张三", "phone": "13812345678"}
    with use_scope(a.scope()):
        audits = await AuditEvent.filter(action="citizen.reveal", target=f"ticket:{made.ticket.id}")
    assert [e.actor_id for e in audits] == [a.users["agent"]]
    # beta's agent: the ticket does not exist for it
    body = await world.gql(world.beta, "agent", CONTACT, variables)
    assert world.codes(body) == ["NOT_FOUND"]
    with use_scope(a.scope()):
        assert await AuditEvent.filter(action="citizen.reveal").count() == 1


async def test_the_handling_department_may_call_the_citizen(world: World) -> None:
    """先行联系: a department holding an assignment sees the contact, audited."""
    a = world.alpha
    made = await world.ticket(
        a, status=Status.DISPATCHED, departments=[(a.district, AssignmentStatus.SIGNED)]
    )
    variables = {"id": str(encode_id("Ticket", made.ticket.id))}
    body = await world.gql(a, "district", CONTACT, variables)
    assert "errors" not in body, body
    assert body["data"]["ticket"]["contact"] == {"name": "张三", "phone": "13812345678"}
    with use_scope(a.scope()):
        audits = await AuditEvent.filter(action="citizen.reveal", target=f"ticket:{made.ticket.id}")
    assert [e.actor_id for e in audits] == [a.users["district"]]
    # another department of the same city: the ticket is not theirs to see at all
    body = await world.gql(a, "bureau", CONTACT, variables)
    assert world.codes(body) == ["NOT_FOUND"]
    assert "13812345678" not in str(body)
    # the same role in another city: not found either
    for who in ("district", "bureau"):
        body = await world.gql(world.beta, who, CONTACT, variables)
        assert world.codes(body) == ["NOT_FOUND"]
        assert "13812345678" not in str(body)
    with use_scope(a.scope()):
        count = await AuditEvent.filter(
            action="citizen.reveal", target=f"ticket:{made.ticket.id}"
        ).count()
    assert count == 1


async def test_a_department_that_gave_the_ticket_back_no_longer_sees_the_contact(
    world: World,
) -> None:
    a = world.alpha
    made = await world.ticket(
        a,
        status=Status.DISPATCHED,
        departments=[
            (a.bureau, AssignmentStatus.SIGNED),
            (a.district, AssignmentStatus.RETURNED),
        ],
    )
    variables = {"id": str(encode_id("Ticket", made.ticket.id))}
    body = await world.gql(a, "district", CONTACT, variables)
    assert world.codes(body) == ["PERMISSION_DENIED"]
    assert "13812345678" not in str(body)
    body = await world.gql(a, "bureau", CONTACT, variables)
    assert body["data"]["ticket"]["contact"]["phone"] == "13812345678"


async def test_a_confidential_contact_stays_with_the_center(world: World) -> None:
    a = world.alpha
    made = await world.ticket(
        a,
        status=Status.DISPATCHED,
        departments=[(a.district, AssignmentStatus.SIGNED)],
        confidential=True,
    )
    variables = {"id": str(encode_id("Ticket", made.ticket.id))}
    for who, code in (("district", "PERMISSION_DENIED"), ("street", "NOT_FOUND")):
        body = await world.gql(a, who, CONTACT, variables)
        assert world.codes(body) == [code], body
        assert "13812345678" not in str(body)
    # the masked form is still there for the handler
    body = await world.gql(
        a, "district", "query($id: ID!) { ticket(id: $id) { citizen { phone } } }", variables
    )
    assert body["data"]["ticket"]["citizen"]["phone"] == "138****5678"
    body = await world.gql(a, "supervisor", CONTACT, variables)
    assert body["data"]["ticket"]["contact"]["phone"] == "13812345678"


async def test_confidential_contact_only_for_supervisors(world: World) -> None:
    a = world.alpha
    made = await world.ticket(a, confidential=True)
    variables = {"id": str(encode_id("Ticket", made.ticket.id))}
    assert world.codes(await world.gql(a, "agent", CONTACT, variables)) == ["PERMISSION_DENIED"]
    body = await world.gql(a, "supervisor", CONTACT, variables)
    assert body["data"]["ticket"]["contact"]["phone"] == "13812345678"


async def test_citizen_history_is_audited(world: World) -> None:
    a = world.alpha
    made = await world.ticket(a, phone="13900001111")
    body = await world.gql(a, "agent", '{ citizenHistory(phone: "139-0000-1111") { number } }')
    assert body["data"]["citizenHistory"] == [{"number": made.ticket.number}]
    with use_scope(a.scope()):
        assert await AuditEvent.filter(action="citizen.history").count() >= 1
    body = await world.gql(a, "district", '{ citizenHistory(phone: "13900001111") { number } }')
    assert world.codes(body) == ["PERMISSION_DENIED"]


async def test_public_lookup_shows_progress_without_personal_data(world: World) -> None:
    b = world.beta
    made = await world.ticket(b, status=Status.CLOSED, name="李四", phone="13700002222")
    body = await world.gql(b, None, PUBLIC, {"n": made.ticket.number, "c": made.query_code})
    assert "errors" not in body, body
    view = body["data"]["publicTicket"]
    assert view["status"] == "CLOSED"
    assert view["publicReply"] == "已处理完毕"
    assert view["categoryName"] == "illegal construction"
    text = str(body)
    for secret in ("李", "13700002222", "2222", made.ticket.content, made.ticket.address):
        assert secret not in text
    # a wrong code and an unknown number look the same
    wrong = await world.gql(b, None, PUBLIC, {"n": made.ticket.number, "c": "000000x"})
    unknown = await world.gql(b, None, PUBLIC, {"n": "BE20990101000001", "c": made.query_code})
    assert world.codes(wrong) == world.codes(unknown) == ["NOT_FOUND"]


async def test_public_lookup_is_rate_limited_per_number(world: World) -> None:
    b = world.beta
    made = await world.ticket(b)
    codes: list[str] = []
    for _ in range(12):
        body = await world.gql(b, None, PUBLIC, {"n": made.ticket.number, "c": "123456"})
        codes += world.codes(body)
    # five wrong codes per (number, client) an hour (tickets.citizen)
    assert codes[:5] == ["NOT_FOUND"] * 5
    assert codes[5:] == ["RATE_LIMITED"] * 7
    # even the right code is refused from this client while the window lasts
    body = await world.gql(b, None, PUBLIC, {"n": made.ticket.number, "c": made.query_code})
    assert world.codes(body) == ["RATE_LIMITED"]

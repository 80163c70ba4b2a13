"""Legal services: law firms and legal-aid centers are departments of those functions; a
legal request is dispatched to one through the ordinary dispatch, and the provider signs
for and replies on the assignment like any department. Other topics and departments
that are not legal providers are refused, and nothing changes."""

from __future__ import annotations

from typing import Any

from hotline.platform.tenancy import use_scope
from hotline.schema.ids import encode_id
from hotline.tenants.tickets.models import Assignment, Ticket
from tests.business.conftest import BizWorld

SUBMIT = """mutation($topic: BusinessRequestTopic!) {
  submitBusinessRequest(topic: $topic, title: "劳动合同纠纷", content: "员工离职竞业限制") {
    request { id number } errors { code }
  }
}"""
PROVIDERS = "query { legalServiceProviders { id name kind } }"
SEND = """mutation($id: ID!, $p: ID!) {
  dispatchLegalRequest(id: $id, providerId: $p, reason: "请律所对接") {
    request { status respondedAt } errors { code field }
  }
}"""
SIGN = """mutation($a: ID!) { signForAssignment(assignmentId: $a) { errors { code } } }"""
REPLY = """mutation($a: ID!) {
  replyAssignment(input: {assignmentId: $a, reply: "已出具法律意见书", resolved: true}) {
    errors { code }
  }
}"""


async def _submit(biz: BizWorld, topic: str) -> dict[str, Any]:
    body = await biz.world.gql(biz.alpha.city, "acme-user", SUBMIT, {"topic": topic})
    request: dict[str, Any] = body["data"]["submitBusinessRequest"]["request"]
    return request


async def test_a_legal_request_goes_to_a_law_firm_like_any_dispatch(biz: BizWorld) -> None:
    world, city = biz.world, biz.alpha.city
    law_firm = biz.alpha.providers["law_firm"]
    listed = (await world.gql(city, "acme-user", PROVIDERS))["data"]["legalServiceProviders"]
    assert [(p["name"], p["kind"]) for p in listed] == [
        ("alpha legal aid", "LEGAL_AID"),
        ("alpha law firm", "LAW_FIRM"),
    ]
    request = await _submit(biz, "LEGAL")
    firm = str(encode_id("Department", law_firm.id))
    sent = await world.gql(city, "supervisor", SEND, {"id": request["id"], "p": firm})
    payload = sent["data"]["dispatchLegalRequest"]
    assert payload["errors"] == []
    assert payload["request"]["status"] == "dispatched"
    assert payload["request"]["respondedAt"] is not None
    with use_scope(city.scope()):
        ticket = await Ticket.get(number=request["number"])
        assignment = await Assignment.get(ticket_id=ticket.id)
    assert assignment.department_id == law_firm.id
    assert assignment.is_lead
    assert assignment.reply_deadline is not None
    a = str(encode_id("Assignment", assignment.id))
    signed = await world.gql(city, "lawyer", SIGN, {"a": a})
    assert signed["data"]["signForAssignment"]["errors"] == []
    replied = await world.gql(city, "lawyer", REPLY, {"a": a})
    assert replied["data"]["replyAssignment"]["errors"] == []
    # another department's person does not see the law firm's assignment
    other = await world.gql(city, "district", SIGN, {"a": a})
    assert other["data"]["signForAssignment"]["errors"][0]["code"] == "NOT_FOUND"


async def test_refused_topics_and_providers_change_nothing(biz: BizWorld) -> None:
    world, city = biz.world, biz.alpha.city
    policy = await _submit(biz, "POLICY")
    legal = await _submit(biz, "LEGAL")
    firm = str(encode_id("Department", biz.alpha.providers["law_firm"].id))
    bank = str(encode_id("Department", biz.alpha.providers["bank"].id))
    beta_firm = str(encode_id("Department", biz.beta.providers["law_firm"].id))
    cases = [
        ({"id": policy["id"], "p": firm}, ("INVALID", "id")),
        ({"id": legal["id"], "p": bank}, ("NOT_FOUND", "providerId")),
        ({"id": legal["id"], "p": beta_firm}, ("NOT_FOUND", "providerId")),
    ]
    for variables, expected in cases:
        body = await world.gql(city, "supervisor", SEND, variables)
        errors = body["data"]["dispatchLegalRequest"]["errors"]
        assert [(e["code"], e["field"]) for e in errors] == [expected], variables
    with use_scope(city.scope()):
        for request in (policy, legal):
            ticket = await Ticket.get(number=request["number"])
            assert str(ticket.status) == "received"
            assert not await Assignment.exists(ticket_id=ticket.id)

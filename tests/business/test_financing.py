"""Financing through GraphQL: a bank registers products; an enterprise's financing need
is matched to them (ranked, with why and why not in the policies' words); the enterprise
applies, the bank decides, the enterprise withdraws another; the figures count them.
Bad input is a typed error and writes nothing."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from strawberry import relay

from hotline.platform import clock
from hotline.platform.outbox.models import OutboxMessage
from hotline.platform.tenancy import Scope, use_scope
from hotline.schema.ids import decode_id, encode_id
from hotline.tenants.accounts.memberships import load_actor
from hotline.tenants.business.models import (
    BusinessRequest,
    FinancingApplication,
    FinancingNeed,
    FinancingProduct,
)
from hotline.tenants.seed.business_demo import _products
from hotline.tenants.tickets.models import Ticket, TimelineEvent
from hotline.tenants.tickets.timeline import verify_chain
from tests.business.conftest import BizWorld

CREATE = """mutation($input: CreateFinancingProductInput!) {
  createFinancingProduct(input: $input) {
    product { id name industries sizeClasses collateral minRate status }
    errors { code field message }
  }
}"""
NEED = """mutation($input: SubmitFinancingNeedInput!) {
  submitFinancingNeed(input: $input) {
    request { id topic status }
    need { amount termMonths collateral }
    errors { code field }
  }
}"""
MATCHES = """query($r: ID!) {
  financingMatches(requestId: $r) {
    product { id name } eligible reasons { met text textZh } whyNot { text textZh }
  }
}"""
APPLY = """mutation($r: ID!, $p: ID!, $amount: Decimal) {
  applyForFinancing(requestId: $r, productId: $p, amount: $amount) {
    application { id status amount } errors { code field }
  }
}"""
DECIDE = """mutation($id: ID!, $ok: Boolean!, $amount: Decimal, $note: String!) {
  decideFinancingApplication(id: $id, approved: $ok, approvedAmount: $amount, note: $note) {
    application { status approvedAmount note } errors { code field }
  }
}"""
WITHDRAW = """mutation($id: ID!) {
  withdrawFinancingApplication(id: $id) { application { status } errors { code field } }
}"""
FIGURES = """query($from: Date!, $to: Date!) {
  businessFigures(by: MANAGER, from: $from, to: $to) {
    key financingApplications financingApproved financingRejected financingWithdrawn
    financingApprovedAmount
  }
}"""


def product(bank: str, name: str, **extra: Any) -> dict[str, Any]:
    return {
        "bankId": bank,
        "name": name,
        "minAmount": "100000",
        "maxAmount": "3000000",
        "minRate": "3.45",
        "maxRate": "4.35",
        "minTermMonths": 6,
        "maxTermMonths": 36,
        "collateral": ["CREDIT"],
        **extra,
    }


def pk(gid: str, type_name: str) -> int:
    return decode_id(relay.GlobalID.from_id(gid), type_name, field="id")


def ok(body: dict[str, Any], field: str) -> dict[str, Any]:
    payload: dict[str, Any] = body["data"][field]
    assert payload["errors"] == [], payload
    return payload


async def test_a_need_matched_applied_for_decided_and_counted(biz: BizWorld) -> None:
    world, city = biz.world, biz.alpha.city
    bank = str(encode_id("Department", biz.alpha.providers["bank"].id))
    # acme: division 65 (software, section I), no size class, no capital
    credit = ok(
        await world.gql(
            city, "banker", CREATE, {"input": product(bank, "科技贷", industries=["I"])}
        ),
        "createFinancingProduct",
    )["product"]
    assert credit["industries"] == ["I"]
    assert credit["collateral"] == ["CREDIT"]
    cheap = ok(
        await world.gql(
            city,
            "banker",
            CREATE,
            {
                "input": product(
                    bank,
                    "抵押经营贷",
                    minRate="2.9",
                    maxRate="3.2",
                    collateral=["MORTGAGE"],
                )
            },
        ),
        "createFinancingProduct",
    )["product"]
    small = ok(
        await world.gql(
            city,
            "admin",
            CREATE,
            {"input": product(bank, "小微快贷", sizeClasses=["SMALL", "MICRO"], minRate="2.5")},
        ),
        "createFinancingProduct",
    )["product"]

    listing = "query { financingProducts { nodes { name } } }"
    for who in ("banker", "acme-user"):
        names = (await world.gql(city, who, listing))["data"]["financingProducts"]["nodes"]
        assert [n["name"] for n in names] == ["小微快贷", "抵押经营贷", "科技贷"], who
    asked = ok(
        await world.gql(
            city,
            "acme-user",
            NEED,
            {
                "input": {
                    "title": "流动资金贷款",
                    "content": "扩大生产需要 200 万元周转",
                    "amount": "2000000",
                    "termMonths": 12,
                    "collateral": ["GUARANTEE"],
                }
            },
        ),
        "submitFinancingNeed",
    )
    request = asked["request"]["id"]
    assert asked["request"]["topic"] == "FINANCING"
    assert asked["need"] == {"amount": "2000000.00", "termMonths": 12, "collateral": ["GUARANTEE"]}

    body = await world.gql(city, "acme-user", MATCHES, {"r": request})
    ranked = body["data"]["financingMatches"]
    assert [m["product"]["id"] for m in ranked] == [credit["id"], small["id"], cheap["id"]]
    assert [m["eligible"] for m in ranked] == [True, False, False]
    assert ranked[0]["whyNot"] == []
    assert [w["textZh"] for w in ranked[1]["whyNot"]] == ["企业规模unknown不符合（micro, small）"]
    assert [w["text"] for w in ranked[2]["whyNot"]] == ["needs collateral of mortgage"]
    # the city's staff see the same matches; a manager who does not serve acme: nothing
    assert (await world.gql(city, "manager2", MATCHES, {"r": request}))["data"] is None
    assert (await world.gql(city, "admin", MATCHES, {"r": request}))["data"][
        "financingMatches"
    ] == ranked

    applied = ok(
        await world.gql(city, "acme-user", APPLY, {"r": request, "p": credit["id"]}),
        "applyForFinancing",
    )["application"]
    assert applied["status"] == "APPLIED"
    assert applied["amount"] == "2000000.00"
    again = await world.gql(city, "acme-user", APPLY, {"r": request, "p": credit["id"]})
    assert again["data"]["applyForFinancing"]["errors"][0]["code"] == "CONFLICT"
    too_much = await world.gql(
        city, "acme-user", APPLY, {"r": request, "p": small["id"], "amount": "9000000"}
    )
    assert too_much["data"]["applyForFinancing"]["errors"] == [
        {"code": "INVALID", "field": "amount"}
    ]
    other = ok(
        await world.gql(
            city, "acme-admin", APPLY, {"r": request, "p": small["id"], "amount": "500000"}
        ),
        "applyForFinancing",
    )["application"]

    approved = ok(
        await world.gql(
            city,
            "bank-clerk",
            DECIDE,
            {"id": applied["id"], "ok": True, "amount": "1500000", "note": "授信 150 万"},
        ),
        "decideFinancingApplication",
    )["application"]
    assert approved == {"status": "APPROVED", "approvedAmount": "1500000.00", "note": "授信 150 万"}
    # the enterprise's people are told, once each (in the decision's transaction)
    with use_scope(Scope.platform()):
        told = [
            m.payload
            for m in await OutboxMessage.filter(send_key__startswith=f"financing:{city.tenant.id}:")
        ]
    assert sorted(p["user_id"] for p in told) == sorted(
        [city.users["acme-admin"], city.users["acme-user"]]
    )
    assert {p["body"] for p in told} == {"您申请的「科技贷」已批准，额度1,500,000元。"}
    twice = await world.gql(
        city, "bank-clerk", DECIDE, {"id": applied["id"], "ok": False, "note": "x"}
    )
    assert twice["data"]["decideFinancingApplication"]["errors"][0]["code"] == "INVALID"
    withdrawn = ok(
        await world.gql(city, "acme-user", WITHDRAW, {"id": other["id"]}),
        "withdrawFinancingApplication",
    )["application"]
    assert withdrawn["status"] == "WITHDRAWN"
    refused = ok(
        await world.gql(
            city, "acme-user", APPLY, {"r": request, "p": cheap["id"], "amount": "500000"}
        ),
        "applyForFinancing",
    )["application"]
    rejected = ok(
        await world.gql(
            city, "bank-clerk", DECIDE, {"id": refused["id"], "ok": False, "note": "抵押物不足"}
        ),
        "decideFinancingApplication",
    )["application"]
    assert rejected["status"] == "REJECTED"

    # every state change is an entry of the request's ticket timeline, in the change's own
    # transaction (the refused attempts above left none), and the hash chain holds
    with use_scope(city.scope()):
        found = await BusinessRequest.get(id=pk(request, "BusinessRequest"))
        events = await TimelineEvent.filter(ticket_id=found.ticket_id).order_by("seq")
        ticket = await Ticket.get(id=found.ticket_id)
    assert verify_chain(events)
    assert ticket.timeline_seq == events[-1].seq
    financing = [e for e in events if e.action.startswith("financing_")]
    ids = {a["id"]: pk(a["id"], "FinancingApplication") for a in (applied, other, refused)}
    assert [(e.action, e.data["financing_application"]) for e in financing] == [
        ("financing_applied", ids[applied["id"]]),
        ("financing_applied", ids[other["id"]]),
        ("financing_approved", ids[applied["id"]]),
        ("financing_withdrawn", ids[other["id"]]),
        ("financing_applied", ids[refused["id"]]),
        ("financing_rejected", ids[refused["id"]]),
    ]
    approval = financing[2]
    assert approval.data["approved_amount"] == "1500000.00"
    assert approval.data["product_name"] == "科技贷"
    assert approval.reason == "授信 150 万"
    assert approval.actor_id == city.users["bank-clerk"]
    assert financing[5].reason == "抵押物不足"
    assert financing[0].actor_id == city.users["acme-user"]
    assert financing[0].actor_role == "enterprise_user"
    assert {e.to_status for e in financing} == {"received"}  # the ticket's state is its own

    today = clock.now().date()
    span = {"from": str(today - timedelta(days=1)), "to": str(today + timedelta(days=1))}
    figures = (await world.gql(city, "admin", FIGURES, span))["data"]["businessFigures"]
    assert sum(f["financingApplications"] for f in figures) == 3
    assert sum(f["financingApproved"] for f in figures) == 1
    assert sum(f["financingWithdrawn"] for f in figures) == 1
    assert sum(f["financingRejected"] for f in figures) == 1
    assert sum(Decimal(f["financingApprovedAmount"]) for f in figures) == Decimal("1500000")


async def test_bad_input_is_a_typed_error_and_writes_nothing(biz: BizWorld) -> None:
    world, city = biz.world, biz.alpha.city
    bank = str(encode_id("Department", biz.alpha.providers["bank"].id))
    not_a_bank = str(encode_id("Department", biz.alpha.providers["law_firm"].id))
    with use_scope(city.scope()):
        before = (
            await FinancingProduct.all().count(),
            await BusinessRequest.all().count(),
            await FinancingNeed.all().count(),
            await FinancingApplication.all().count(),
        )
    cases = [
        (product(bank, "x", minAmount="5000000"), "maxAmount"),
        (product(bank, "x", minRate="0"), "minRate"),
        (product(bank, "x", minRate="NaN"), "minRate"),
        (product(bank, "x", maxRate="1e400"), "minRate"),
        (product(bank, "x", minAmount="Infinity"), "minAmount"),
        (product(bank, "x", maxAmount="1e400"), "maxAmount"),
        (product(bank, "x", maxTermMonths=999), "minTermMonths"),
        (product(bank, "x", collateral=[]), "collateral"),
        (product(bank, "x", industries=["99"]), "industries"),
        (product(bank, "", industries=["65"]), "name"),
        (product(bank, "x", rules={"op": "all", "conditions": [{"nope": 1}]}), "rules"),
    ]
    for values, field in cases:
        body = await world.gql(city, "banker", CREATE, {"input": values})
        errors = body["data"]["createFinancingProduct"]["errors"]
        assert [(e["code"], e["field"]) for e in errors] == [("INVALID", field)], (field, body)
    # not a bank, or a bank outside the manager's own subtree: NOT_FOUND
    body = await world.gql(city, "banker", CREATE, {"input": product(not_a_bank, "x")})
    assert body["data"]["createFinancingProduct"]["errors"][0]["code"] == "NOT_FOUND"
    cases_need = (("0", 12), ("-5", 12), ("NaN", 12), ("1e400", 12), ("100", 0), ("100", 400))
    for amount, term in cases_need:
        body = await world.gql(
            city,
            "acme-user",
            NEED,
            {"input": {"title": "t", "content": "c", "amount": amount, "termMonths": term}},
        )
        assert body["data"]["submitFinancingNeed"]["errors"][0]["code"] == "INVALID"
    with use_scope(city.scope()):
        after = (
            await FinancingProduct.all().count(),
            await BusinessRequest.all().count(),
            await FinancingNeed.all().count(),
            await FinancingApplication.all().count(),
        )
    assert after == before


async def test_a_request_without_a_financing_need_has_no_matches(biz: BizWorld) -> None:
    world, city = biz.world, biz.alpha.city
    body = await world.gql(
        city,
        "acme-user",
        """mutation { submitBusinessRequest(topic: POLICY, title: "t", content: "c") {
             request { id } } }""",
    )
    request = body["data"]["submitBusinessRequest"]["request"]["id"]
    body = await world.gql(city, "acme-user", MATCHES, {"r": request})
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_the_demo_products_pass_the_products_checks(biz: BizWorld) -> None:
    city = biz.beta.city
    actor = await load_actor(
        user_id=city.users["banker"], tenant_id=city.tenant.id, province_id=city.tenant.province_id
    )
    with use_scope(city.scope()):
        before = await FinancingProduct.all().count()
    assert await _products(actor, biz.beta.providers["bank"]) == 3
    with use_scope(city.scope()):
        assert await FinancingProduct.all().count() == before + 3

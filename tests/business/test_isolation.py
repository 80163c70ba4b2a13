"""The enterprise is a third wall after city and department: every enterprise-facing
operation taking ids answers NOT_FOUND for another enterprise of the same city and for
one of another city — the same answer as for an id that does not exist. The list of
operations is checked against the schema, so a new enterprise-facing field without its
case fails here. Staff operations with ids refuse another city's ids the same way."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest_asyncio
from graphql import GraphQLInputObjectType, get_named_type
from strawberry.relay import GlobalID

from hotline.platform import clock
from hotline.platform.tenancy import use_scope
from hotline.schema.ids import decode_id, encode_id
from hotline.schema.schema import Mutation, Query, build_schema
from hotline.tenants.accounts.memberships import load_actor
from hotline.tenants.business.financing import submit_need
from hotline.tenants.business.models import (
    ApplicationStatus,
    BusinessRequest,
    Collateral,
    FinancingApplication,
    FinancingProduct,
    ImportStatus,
    ManagerRule,
    Policy,
    PolicyStatus,
    RegistryImport,
    RuleKind,
)
from hotline.tenants.evidence.models import Evidence, Purpose
from hotline.tenants.evidence.models import Kind as EvidenceKind
from hotline.tenants.kernel.access import CITY_TABLE, ENTERPRISE_ROLES, Action
from tests.business.conftest import BizWorld
from tests.tickets_api.conftest import City

Vars = Callable[[dict[str, str]], dict[str, Any]]

# Every enterprise-facing operation with ids: (document, variables from the target's ids).
ENTERPRISE_OPS: dict[str, tuple[str, Vars]] = {
    "enterprise": (
        "query($id: ID!) { enterprise(id: $id) { id } }",
        lambda t: {"id": t["enterprise"]},
    ),
    "enterpriseMembers": (
        "query($id: ID!) { enterpriseMembers(enterpriseId: $id) { username } }",
        lambda t: {"id": t["enterprise"]},
    ),
    "enterpriseManager": (
        "query($id: ID!) { enterpriseManager(enterpriseId: $id) }",
        lambda t: {"id": t["enterprise"]},
    ),
    "inviteEnterpriseMember": (
        """mutation($id: ID!) { inviteEnterpriseMember(input: {enterpriseId: $id,
             username: "intruder", displayName: "x", password: "Correct-Horse-Battery-9",
             role: "enterprise_user"}) { errors { code } } }""",
        lambda t: {"id": t["enterprise"]},
    ),
    "businessRequests": (
        "query($id: ID!) { businessRequests(enterpriseId: $id) { nodes { id } } }",
        lambda t: {"id": t["enterprise"]},
    ),
    "businessRequest": (
        "query($id: ID!) { businessRequest(id: $id) { id } }",
        lambda t: {"id": t["request"]},
    ),
    "rateBusinessRequest": (
        """mutation($id: ID!) { rateBusinessRequest(id: $id, rating: USEFUL) {
             errors { code } } }""",
        lambda t: {"id": t["request"]},
    ),
    "policiesForEnterprise": (
        "query($id: ID!) { policiesForEnterprise(enterpriseId: $id) { policy { id } } }",
        lambda t: {"id": t["enterprise"]},
    ),
    "policyEligibility": (
        """query($p: ID!, $e: ID!) {
             policyEligibility(policyId: $p, enterpriseId: $e) { eligible } }""",
        lambda t: {"p": t["own_policy"], "e": t["enterprise"]},
    ),
    "policy": ("query($id: ID!) { policy(id: $id) { id } }", lambda t: {"id": t["policy"]}),
    "enterprises": (
        "query($a: ID!) { enterprises(areaId: $a) { nodes { id } } }",
        lambda t: {"a": t["department"]},
    ),
    "financingProducts": (
        "query($b: ID!) { financingProducts(bankId: $b) { nodes { id } } }",
        lambda t: {"b": t["bank"]},
    ),
    "financingNeed": (
        "query($r: ID!) { financingNeed(requestId: $r) { amount } }",
        lambda t: {"r": t["request"]},
    ),
    "financingMatches": (
        "query($r: ID!) { financingMatches(requestId: $r) { eligible } }",
        lambda t: {"r": t["request"]},
    ),
    "financingApplications": (
        "query($r: ID!) { financingApplications(requestId: $r) { id } }",
        lambda t: {"r": t["request"]},
    ),
    "applyForFinancing": (
        """mutation($r: ID!, $p: ID!) { applyForFinancing(requestId: $r, productId: $p) {
             errors { code } } }""",
        lambda t: {"r": t["request"], "p": t["product"]},
    ),
    "withdrawFinancingApplication": (
        """mutation($id: ID!) { withdrawFinancingApplication(id: $id) { errors { code } } }""",
        lambda t: {"id": t["application"]},
    ),
    "businessRequestAttachments": (
        "query($r: ID!) { businessRequestAttachments(requestId: $r) { id } }",
        lambda t: {"r": t["request"]},
    ),
    "requestBusinessAttachmentUpload": (
        """mutation($r: ID!) { requestBusinessAttachmentUpload(input: {requestId: $r,
             fileName: "a.jpg", contentType: "image/jpeg", size: 10,
             sha256: "0000000000000000000000000000000000000000000000000000000000000000"}) {
             errors { code } } }""",
        lambda t: {"r": t["request"]},
    ),
    "finalizeBusinessAttachment": (
        "mutation($id: ID!) { finalizeBusinessAttachment(id: $id) { errors { code } } }",
        lambda t: {"id": t["attachment"]},
    ),
}
# Ids that are not an enterprise's own: a published policy, a financing product's bank
# and the departments of its own city are the city's, readable by its enterprises;
# other cities' are NOT_FOUND.
CITY_LEVEL = frozenset({"policy", "enterprises", "financingProducts"})
BUSINESS_ACTIONS = frozenset(
    a for a in Action if a.value.split(".")[0] in ("business", "enterprise", "policy")
)

# Staff operations with ids: another city's ids (and for the last, a missing one).
STAFF_OPS: dict[str, tuple[str, str, Vars]] = {
    "enterpriseImport": (
        "admin",
        "query($id: ID!) { enterpriseImport(id: $id) { status } }",
        lambda t: {"id": t["import"]},
    ),
    "startEnterpriseImport": (
        "admin",
        "mutation($id: ID!) { startEnterpriseImport(id: $id) { errors { code } } }",
        lambda t: {"id": t["import"]},
    ),
    "revealLegalRepresentative": (
        "admin",
        "mutation($id: ID!) { revealLegalRepresentative(enterpriseId: $id) { errors { code } } }",
        lambda t: {"id": t["enterprise"]},
    ),
    "registerEnterprise": (
        "admin",
        """mutation($a: ID!) { registerEnterprise(input: {uscc: "91110000600037341L",
             name: "x", industry: "65", areaId: $a}) { errors { code } } }""",
        lambda t: {"a": t["department"]},
    ),
    "enterprises": (
        "manager",
        "query($a: ID!) { enterprises(areaId: $a) { nodes { id } } }",
        lambda t: {"a": t["department"]},
    ),
    "assignServiceManager": (
        "admin",
        """mutation($m: ID!, $e: ID!) { assignServiceManager(input: {managerId: $m,
             enterpriseId: $e}) { errors { code } } }""",
        lambda t: {"m": t["own_manager"], "e": t["enterprise"]},
    ),
    "removePortfolioRule": (
        "admin",
        "mutation($id: ID!) { removePortfolioRule(id: $id) { errors { code } } }",
        lambda t: {"id": t["rule"]},
    ),
    "movePortfolio": (
        "admin",
        """mutation($f: ID!, $t: ID!) {
             movePortfolio(fromManagerId: $f, toManagerId: $t) { errors { code } } }""",
        lambda t: {"f": t["manager"], "t": t["own_manager"]},
    ),
    "portfolioRules": (
        "manager",
        "query($m: ID!) { portfolioRules(managerId: $m) { id } }",
        lambda t: {"m": t["manager"]},
    ),
    "managerPortfolio": (
        "manager",
        "query($m: ID!) { managerPortfolio(managerId: $m) { nodes { id } } }",
        lambda t: {"m": t["manager"]},
    ),
    "answerBusinessRequest": (
        "manager",
        'mutation($id: ID!) { answerBusinessRequest(id: $id, answer: "x") { errors { code } } }',
        lambda t: {"id": t["request"]},
    ),
    "dispatchBusinessRequest": (
        "supervisor",
        """mutation($id: ID!, $d: ID!) { dispatchBusinessRequest(id: $id,
             leadDepartmentId: $d) { errors { code } } }""",
        lambda t: {"id": t["request"], "d": t["own_department"]},
    ),
    "policyEligibleCount": (
        "manager",
        "query($p: ID!) { policyEligibleCount(policyId: $p) }",
        lambda t: {"p": t["policy"]},
    ),
    "policyEligibleEnterprises": (
        "manager",
        "query($p: ID!) { policyEligibleEnterprises(policyId: $p) { nodes { id } } }",
        lambda t: {"p": t["policy"]},
    ),
    "createPolicy": (
        "admin",
        """mutation($d: ID!) { createPolicy(input: {title: "x", body: "x", departmentId: $d,
             rules: {op: "all", conditions: []}}) { errors { code } } }""",
        lambda t: {"d": t["department"]},
    ),
    "publishPolicy": (
        "admin",
        "mutation($id: ID!) { publishPolicy(id: $id) { errors { code } } }",
        lambda t: {"id": t["policy"]},
    ),
    "withdrawPolicy": (
        "admin",
        "mutation($id: ID!) { withdrawPolicy(id: $id) { errors { code } } }",
        lambda t: {"id": t["policy"]},
    ),
    "dispatchLegalRequest": (
        "supervisor",
        """mutation($id: ID!, $p: ID!) { dispatchLegalRequest(id: $id, providerId: $p) {
             errors { code } } }""",
        lambda t: {"id": t["request"], "p": t["bank"]},
    ),
    "createFinancingProduct": (
        "admin",
        """mutation($b: ID!) { createFinancingProduct(input: {bankId: $b, name: "x",
             minAmount: "1", maxAmount: "2", minRate: "3", maxRate: "4", minTermMonths: 1,
             maxTermMonths: 2, collateral: [CREDIT]}) { errors { code } } }""",
        lambda t: {"b": t["bank"]},
    ),
    "withdrawFinancingProduct": (
        "admin",
        "mutation($id: ID!) { withdrawFinancingProduct(id: $id) { errors { code } } }",
        lambda t: {"id": t["product"]},
    ),
    "decideFinancingApplication": (
        "admin",
        """mutation($id: ID!) { decideFinancingApplication(id: $id, approved: false) {
             errors { code } } }""",
        lambda t: {"id": t["application"]},
    ),
    "financingProductApplications": (
        "admin",
        "query($p: ID!) { financingProductApplications(productId: $p) { id } }",
        lambda t: {"p": t["product"]},
    ),
}


def _takes_ids(field: Any) -> bool:
    def has_id(type_: Any, seen: set[str]) -> bool:
        named = get_named_type(type_)
        if named.name == "ID":
            return True
        if isinstance(named, GraphQLInputObjectType) and named.name not in seen:
            seen.add(named.name)
            return any(has_id(f.type, seen) for f in named.fields.values())
        return False

    return any(has_id(arg.type, set()) for arg in field.args.values())


def test_the_list_names_every_enterprise_facing_operation_with_ids() -> None:
    schema = build_schema()
    graphql = schema._schema
    facing = set()
    for root, gql_root in ((Query, graphql.query_type), (Mutation, graphql.mutation_type)):
        for field in root.__strawberry_definition__.fields:  # type: ignore[attr-defined]
            actions = [
                Action[p.__name__.removeprefix("Can_")]
                for p in field.permission_classes
                if p.__name__.startswith("Can_")
            ]
            if any(
                a in BUSINESS_ACTIONS and CITY_TABLE.get(a, frozenset()) & ENTERPRISE_ROLES
                for a in actions
            ):
                assert gql_root is not None
                if _takes_ids(gql_root.fields[field.graphql_name or _camel(field.python_name)]):
                    facing.add(field.graphql_name or _camel(field.python_name))
    assert facing == set(ENTERPRISE_OPS)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


Targets = tuple[dict[str, str], dict[str, str], dict[str, str]]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def targets(biz: BizWorld) -> Targets:
    """The ids of alpha's other enterprise, of beta's acme, and ids that do not exist."""
    alpha, beta = biz.alpha.city, biz.beta.city
    own_policy = await _policy(alpha)
    own_product = await _product(biz, "alpha")
    common = {
        "own_policy": own_policy,
        "own_manager": str(encode_id("User", alpha.users["manager"])),
        "own_department": str(encode_id("Department", alpha.district.id)),
    }
    same_city = {
        **common,
        "enterprise": str(encode_id("Enterprise", biz.alpha.enterprises["other"].id)),
        "request": await _request(alpha, "other-user"),
        "product": own_product,
    }
    same_city["application"] = await _application(alpha, same_city["request"], own_product)
    same_city["attachment"] = await _attachment(alpha, same_city["request"])
    other_city = {
        **common,
        "enterprise": str(encode_id("Enterprise", biz.beta.enterprises["acme"].id)),
        "request": await _request(beta, "acme-user"),
        "policy": await _policy(beta),
        "import": await _import(beta),
        "department": str(encode_id("Department", beta.district.id)),
        "manager": str(encode_id("User", beta.users["manager"])),
        "rule": await _rule(beta),
        "bank": str(encode_id("Department", biz.beta.providers["bank"].id)),
        "product": await _product(biz, "beta"),
    }
    other_city["application"] = await _application(
        beta, other_city["request"], other_city["product"]
    )
    other_city["attachment"] = await _attachment(beta, other_city["request"])
    missing = {k: str(encode_id(_type(k), 987654321)) for k in other_city}
    return same_city, other_city, {**missing, **common}


def _type(key: str) -> str:
    return {
        "enterprise": "Enterprise",
        "request": "BusinessRequest",
        "policy": "Policy",
        "import": "EnterpriseImport",
        "department": "Department",
        "manager": "User",
        "rule": "PortfolioRule",
        "bank": "Department",
        "product": "FinancingProduct",
        "application": "FinancingApplication",
        "attachment": "Evidence",
    }.get(key, "X")


async def _request(city: City, who: str) -> str:
    """A financing request (with its need) of ``who``'s enterprise."""
    actor = await load_actor(
        user_id=city.users[who], tenant_id=city.tenant.id, province_id=city.tenant.province_id
    )
    got, _ = await submit_need(
        actor=actor,
        title="t",
        content="c",
        amount=Decimal("100000"),
        term_months=12,
        collateral=[Collateral.CREDIT],
    )
    return str(encode_id("BusinessRequest", got.request.id))


async def _product(biz: BizWorld, which: str) -> str:
    bc = biz.alpha if which == "alpha" else biz.beta
    with use_scope(bc.city.scope()):
        row = await FinancingProduct.create(
            bank_id=bc.providers["bank"].id,
            name="p",
            min_amount=Decimal(1),
            max_amount=Decimal(10_000_000),
            min_rate=Decimal(3),
            max_rate=Decimal(4),
            min_term_months=1,
            max_term_months=60,
            collateral=["credit"],
            rules={"op": "all", "conditions": []},
        )
    return str(encode_id("FinancingProduct", row.id))


async def _application(city: City, request: str, product: str) -> str:
    with use_scope(city.scope()):
        found = await BusinessRequest.get(
            id=decode_id(GlobalID.from_id(request), "BusinessRequest", field="id")
        )
        row = await FinancingApplication.create(
            request_id=found.id,
            product_id=decode_id(GlobalID.from_id(product), "FinancingProduct", field="id"),
            enterprise_id=found.enterprise_id,
            amount=Decimal(100000),
            status=ApplicationStatus.APPLIED,
        )
    return str(encode_id("FinancingApplication", row.id))


async def _attachment(city: City, request: str) -> str:
    """A pending file on the request, uploaded by its enterprise's user."""
    with use_scope(city.scope()):
        request_id = decode_id(GlobalID.from_id(request), "BusinessRequest", field="id")
        found = await BusinessRequest.get(id=request_id)
        row = await Evidence.create(
            ticket_id=found.ticket_id,
            purpose=Purpose.CITIZEN,
            kind=EvidenceKind.PHOTO,
            file_name="a.jpg",
            declared_type="image/jpeg",
            size=10,
            sha256="0" * 64,
            object_key=f"t/{request_id}",
            uploaded_by_id=found.submitted_by_id,
            upload_expires_at=clock.now() + timedelta(hours=1),
        )
    return str(encode_id("Evidence", row.id))


async def _policy(city: City) -> str:
    with use_scope(city.scope()):
        row = await Policy.create(
            title="p",
            body="b",
            department_id=city.bureau.id,
            rules={"op": "all", "conditions": []},
            status=PolicyStatus.PUBLISHED,
        )
    return str(encode_id("Policy", row.id))


async def _import(city: City) -> str:
    with use_scope(city.scope()):
        row = await RegistryImport.create(
            file_name="r.csv", object_key="t/x", status=ImportStatus.AWAITING_UPLOAD
        )
    return str(encode_id("EnterpriseImport", row.id))


async def _rule(city: City) -> str:
    with use_scope(city.scope()):
        row = await ManagerRule.create(
            manager_id=city.users["manager"], kind=RuleKind.INDUSTRY, industry="39"
        )
    return str(encode_id("PortfolioRule", row.id))


def _codes(body: dict[str, Any], name: str) -> list[str]:
    codes = [e.get("extensions", {}).get("code") for e in body.get("errors") or []]
    value = (body.get("data") or {}).get(name)
    if isinstance(value, dict) and "errors" in value:
        codes += [e["code"] for e in value["errors"]]
    return codes


async def test_enterprise_operations_refuse_other_enterprises(
    biz: BizWorld, targets: Targets
) -> None:
    world, alpha = biz.world, biz.alpha.city
    same_city, other_city, _ = targets
    for name, (query, variables) in ENTERPRISE_OPS.items():
        for who in ("acme-admin", "acme-user"):
            if name == "inviteEnterpriseMember" and who == "acme-user":
                continue  # not its action at all (PERMISSION_DENIED before any id)
            for label, target in (("same city", same_city), ("other city", other_city)):
                if name in CITY_LEVEL and label == "same city":
                    continue
                body = await world.gql(alpha, who, query, variables(target))
                assert _codes(body, name) == ["NOT_FOUND"], (name, who, label, body)


async def test_an_enterprise_lists_only_its_own(biz: BizWorld) -> None:
    world, alpha = biz.world, biz.alpha.city
    body = await world.gql(alpha, "acme-user", "query { enterprises { nodes { id } } }")
    assert [n["id"] for n in body["data"]["enterprises"]["nodes"]] == [
        str(encode_id("Enterprise", biz.alpha.enterprises["acme"].id))
    ]


async def test_staff_operations_refuse_another_citys_ids(biz: BizWorld, targets: Targets) -> None:
    world, alpha = biz.world, biz.alpha.city
    _, other_city, missing = targets
    for name, (who, query, variables) in STAFF_OPS.items():
        foreign = await world.gql(alpha, who, query, variables(other_city))
        absent = await world.gql(alpha, who, query, variables(missing))
        assert _codes(foreign, name) == ["NOT_FOUND"], (name, foreign)
        assert _codes(absent, name) == ["NOT_FOUND"], (name, absent)

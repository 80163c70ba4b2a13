"""The registry and the service managers' portfolios through GraphQL: the province admin
turns the extension on, the city registers enterprises and makes their admins, who
invite colleagues; managers get portfolios by area, industry and named enterprise, the
most specific rule wins, a whole portfolio moves in one step, the unassigned are listed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hotline.schema.ids import encode_id
from hotline.tenants.accounts import sessions
from hotline.tenants.business.rules import make_uscc
from tests.business.conftest import BizWorld, add_enterprise
from tests.tickets_api.conftest import City

FLAG = """mutation($t: ID!, $on: Boolean!) {
  updateTenant(input: {tenantId: $t, features: {business: $on}}) { errors { code } }
}"""
REGISTER = """mutation($input: RegisterEnterpriseInput!) {
  registerEnterprise(input: $input) {
    enterprise { id uscc name legalRepresentative industry section sizeClass areaId
                 registeredCapital foundedOn status tags }
    errors { code field message }
  }
}"""
REVEAL = """mutation($id: ID!) {
  revealLegalRepresentative(enterpriseId: $id) { legalRepresentative errors { code } }
}"""
INVITE = """mutation($input: InviteEnterpriseMemberInput!) {
  inviteEnterpriseMember(input: $input) {
    member { userId username role verified } errors { code field message }
  }
}"""
MEMBERS = """query($id: ID!) { enterpriseMembers(enterpriseId: $id) { username role verified } }"""
ENTERPRISES = """query($search: String, $area: ID) {
  enterprises(search: $search, areaId: $area, first: 100) { nodes { id name } }
}"""
ASSIGN = """mutation($input: AssignServiceManagerInput!) {
  assignServiceManager(input: $input) { rule { id kind industry } errors { code field } }
}"""
MANAGER = """query($id: ID!) { enterpriseManager(enterpriseId: $id) }"""
UNASSIGNED = """query { unassignedEnterprises(first: 100) { nodes { id } } }"""
PORTFOLIO = """query($m: ID!) { managerPortfolio(managerId: $m, first: 100) { nodes { id } } }"""
MOVE = """mutation($from: ID!, $to: ID!) {
  movePortfolio(fromManagerId: $from, toManagerId: $to) { moved errors { code } }
}"""
RULES = """query($m: ID) { portfolioRules(managerId: $m) { id kind } }"""


def user(city: City, name: str) -> str:
    return str(encode_id("User", city.users[name]))


def ent(pk: int) -> str:
    return str(encode_id("Enterprise", pk))


def errors(body: dict[str, Any], field: str) -> list[str]:
    return [e["code"] for e in body["data"][field]["errors"]]


async def test_flag_registry_members_and_portfolios(biz: BizWorld) -> None:
    world, city = biz.world, biz.beta.city
    tenant = str(encode_id("Tenant", city.tenant.id))
    new: dict[str, Any] = {
        "uscc": make_uscc("91320100MA9000001"),
        "name": "金陵软件有限公司",
        "industry": "65",
        "legalRepresentative": "张三",
        "employees": 120,
        "revenue": "30000000",
        "areaId": str(encode_id("Department", city.street.id)),
        "registeredCapital": "5000000",
        "foundedOn": "2016-04-01",
        "tags": ["高新技术"],
    }
    # off: nothing of the extension answers
    assert (
        errors(await world.gql(city, "province", FLAG, {"t": tenant, "on": False}), "updateTenant")
        == []
    )
    off = await world.gql(city, "admin", REGISTER, {"input": new})
    assert errors(off, "registerEnterprise") == ["PERMISSION_DENIED"]
    assert (
        errors(await world.gql(city, "province", FLAG, {"t": tenant, "on": True}), "updateTenant")
        == []
    )

    body = await world.gql(city, "admin", REGISTER, {"input": new})
    enterprise = body["data"]["registerEnterprise"]["enterprise"]
    assert enterprise["legalRepresentative"] == "张*"
    assert (enterprise["sizeClass"], enterprise["section"]) == ("MEDIUM", "I")
    assert enterprise["registeredCapital"] == "5000000.00"
    again = await world.gql(city, "admin", REGISTER, {"input": new})
    assert errors(again, "registerEnterprise") == ["CONFLICT"]
    bad = await world.gql(
        city, "admin", REGISTER, {"input": {**new, "uscc": new["uscc"][:-1] + "0"}}
    )
    assert errors(bad, "registerEnterprise") == ["INVALID"]
    revealed = await world.gql(city, "admin", REVEAL, {"id": enterprise["id"]})
    assert revealed["data"]["revealLegalRepresentative"]["legalRepresentative"] == "张三"
    assert world.codes(await world.gql(city, "manager", REVEAL, {"id": enterprise["id"]})) == [
        "PERMISSION_DENIED"
    ]

    # the service manager makes (and so verifies) the enterprise admin
    invite = {
        "enterpriseId": enterprise["id"],
        "username": "jinling-boss",
        "displayName": "Boss",
        "password": "Correct-Horse-Battery-9",
        "role": "enterprise_admin",
    }
    made = await world.gql(city, "manager", INVITE, {"input": invite})
    member = made["data"]["inviteEnterpriseMember"]["member"]
    assert (member["username"], member["verified"]) == ("jinling-boss@beta", True)
    city.tokens["boss"] = await sessions.issue_token_for(
        username="jinling-boss@beta", ttl=timedelta(hours=1)
    )
    colleague = {**invite, "username": "jinling-clerk", "role": "enterprise_user"}
    made = await world.gql(city, "boss", INVITE, {"input": colleague})
    assert made["data"]["inviteEnterpriseMember"]["member"]["verified"] is False
    promoted = await world.gql(city, "boss", INVITE, {"input": {**invite, "username": "x-admin"}})
    assert errors(promoted, "inviteEnterpriseMember") == ["PERMISSION_DENIED"]
    people = await world.gql(city, "boss", MEMBERS, {"id": enterprise["id"]})
    assert [p["username"] for p in people["data"]["enterpriseMembers"]] == [
        "jinling-boss@beta",
        "jinling-clerk@beta",
    ]
    # an enterprise admin sees its own enterprise only
    listed = await world.gql(city, "boss", ENTERPRISES, {})
    assert [n["id"] for n in listed["data"]["enterprises"]["nodes"]] == [enterprise["id"]]
    staff = await world.gql(
        city, "manager", ENTERPRISES, {"area": str(encode_id("Department", city.district.id))}
    )
    assert enterprise["id"] in [n["id"] for n in staff["data"]["enterprises"]["nodes"]]


async def test_portfolio_precedence_move_and_unassigned(biz: BizWorld) -> None:
    world, city = biz.world, biz.alpha.city
    acme, other = biz.alpha.enterprises["acme"], biz.alpha.enterprises["other"]
    farm = await add_enterprise(
        city, "farm", 50, industry="01", section="A", area_id=city.bureau.id
    )
    street_firm = await add_enterprise(
        city, "street", 51, industry="52", section="F", area_id=city.street.id
    )
    district = str(encode_id("Department", city.district.id))
    street = str(encode_id("Department", city.street.id))
    m1, m2 = user(city, "manager"), user(city, "manager2")

    async def assign(**input: Any) -> dict[str, Any]:
        body = await world.gql(city, "admin", ASSIGN, {"input": input})
        payload: dict[str, Any] = body["data"]["assignServiceManager"]
        return payload

    assert (await assign(managerId=m1, areaId=district))["errors"] == []
    assert (await assign(managerId=m2, industry="65"))["errors"] == []
    assert (await assign(managerId=m2, areaId=street))["errors"] == []
    assert (await assign(managerId=m1, enterpriseId=ent(other.id)))["errors"] == []
    assert [
        e["code"] for e in (await assign(managerId=user(city, "agent"), industry="65"))["errors"]
    ] == ["NOT_FOUND"]
    assert [e["field"] for e in (await assign(managerId=m1, industry="99"))["errors"]] == [
        "industry"
    ]

    async def manager(pk: int) -> str | None:
        body = await world.gql(city, "admin", MANAGER, {"id": ent(pk)})
        return body["data"]["enterpriseManager"]  # type: ignore[no-any-return]

    assert await manager(acme.id) == m2  # industry 65 beats the district area
    assert await manager(other.id) == m1  # named
    assert await manager(street_firm.id) == m2  # the street is deeper than the district
    assert await manager(farm.id) is None
    unassigned = await world.gql(city, "supervisor", UNASSIGNED)
    ids = [n["id"] for n in unassigned["data"]["unassignedEnterprises"]["nodes"]]
    assert ent(farm.id) in ids
    assert ent(acme.id) not in ids
    # the acme user asks who its manager is: its own enterprise only
    own = await world.gql(city, "acme-user", MANAGER, {"id": ent(acme.id)})
    assert own["data"]["enterpriseManager"] == m2

    moved = await world.gql(city, "admin", MOVE, {"from": m2, "to": m1})
    assert moved["data"]["movePortfolio"] == {"moved": 2, "errors": []}
    assert await manager(acme.id) == m1
    rules = await world.gql(city, "manager", RULES, {"m": m2})
    assert rules["data"]["portfolioRules"] == []
    served = await world.gql(city, "manager", PORTFOLIO, {"m": m1})
    served_ids = {n["id"] for n in served["data"]["managerPortfolio"]["nodes"]}
    assert {ent(acme.id), ent(other.id), ent(street_firm.id)} <= served_ids
    assert ent(farm.id) not in served_ids

"""Categories and routing rules over GraphQL: small CRUD, validated, city-isolated."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hotline.schema.ids import encode_id

if TYPE_CHECKING:
    from tests.tickets_api.conftest import World

ERR = "errors { field code message }"
CREATE_CATEGORY = f"""mutation($p: ID, $s: JSON) {{ createCategory(input: {{
  name: "噪音扰民", parentId: $p, slaOverrides: $s }}) {{ category {{ id name depth
  parent {{ name }} slaOverrides }} {ERR} }} }}"""
UPDATE_CATEGORY = f"""mutation($c: ID!) {{ updateCategory(input: {{ categoryId: $c,
  name: "夜间噪音", isActive: false }}) {{ category {{ name isActive }} {ERR} }} }}"""
CREATE_RULE = f"""mutation($d: ID!, $a: ID, $c: ID) {{ createRoutingRule(input: {{
  name: "噪音", departmentId: $d, areaId: $a, categoryId: $c, keywords: ["噪音", " 噪音 "],
  priority: 5 }}) {{ routingRule {{ id name keywords department {{ name }} area {{ name }}
  category {{ name }} }} {ERR} }} }}"""
UPDATE_RULE = f"""mutation($r: ID!) {{ updateRoutingRule(input: {{ ruleId: $r, priority: 1,
  clearArea: true }}) {{ routingRule {{ priority area {{ name }} }} {ERR} }} }}"""


def codes(payload: dict[str, Any]) -> list[str]:
    return [e["code"] for e in payload["errors"]]


async def test_categories_and_rules_crud_and_isolation(world: World) -> None:
    a, b = world.alpha, world.beta
    root = str(encode_id("Category", a.category.id))
    body = await world.gql(a, "admin", CREATE_CATEGORY, {"p": root, "s": {"reply_working_days": 5}})
    made = body["data"]["createCategory"]
    assert made["errors"] == []
    assert made["category"]["depth"] == 1
    assert made["category"]["parent"] == {"name": "urban management"}
    assert made["category"]["slaOverrides"] == {"reply_working_days": 5}
    cid = made["category"]["id"]
    # validation, permission
    bad = await world.gql(a, "admin", CREATE_CATEGORY, {"s": {"reply_working_days": 99}})
    assert codes(bad["data"]["createCategory"]) == ["INVALID"]
    denied = await world.gql(a, "agent", CREATE_CATEGORY, {})
    assert codes(denied["data"]["createCategory"]) == ["PERMISSION_DENIED"]
    # reads
    body = await world.gql(
        a, "agent", "query($p: ID!) { categories(parentId: $p) { name } }", {"p": root}
    )
    assert {"name": "噪音扰民"} in body["data"]["categories"]
    # beta against alpha's ids
    other = await world.gql(b, "admin", CREATE_CATEGORY, {"p": root})
    assert codes(other["data"]["createCategory"]) == ["NOT_FOUND"]
    other = await world.gql(b, "admin", UPDATE_CATEGORY, {"c": cid})
    assert codes(other["data"]["updateCategory"]) == ["NOT_FOUND"]
    for query in (
        "query($c: ID!) { category(id: $c) { name } }",
        "query($c: ID!) { categories(parentId: $c) { name } }",
    ):
        body = await world.gql(b, "agent", query, {"c": cid})
        assert world.codes(body) == ["NOT_FOUND"]
    body = await world.gql(a, "admin", UPDATE_CATEGORY, {"c": cid})
    assert body["data"]["updateCategory"]["category"] == {"name": "夜间噪音", "isActive": False}

    # routing rules
    variables = {
        "d": str(encode_id("Department", a.bureau.id)),
        "a": str(encode_id("Department", a.district.id)),
        "c": root,
    }
    body = await world.gql(a, "dispatcher", CREATE_RULE, variables)
    rule = body["data"]["createRoutingRule"]
    assert rule["errors"] == []
    assert rule["routingRule"]["keywords"] == ["噪音"]
    assert rule["routingRule"]["area"] == {"name": a.district.name}
    rid = rule["routingRule"]["id"]
    other = await world.gql(b, "dispatcher", CREATE_RULE, variables)
    assert codes(other["data"]["createRoutingRule"]) == ["NOT_FOUND"]
    other = await world.gql(b, "dispatcher", UPDATE_RULE, {"r": rid})
    assert codes(other["data"]["updateRoutingRule"]) == ["NOT_FOUND"]
    body = await world.gql(b, "dispatcher", "{ routingRules { name } }")
    # beta's own two rules of the world (tests/world.py), none of alpha's
    assert body["data"]["routingRules"] == [
        {"name": "construction in Lixia"},
        {"name": "urban management anywhere"},
    ]
    body = await world.gql(a, "dispatcher", UPDATE_RULE, {"r": rid})
    assert body["data"]["updateRoutingRule"]["routingRule"] == {"priority": 1, "area": None}
    body = await world.gql(a, "agent", "{ routingRules { name } }")
    assert world.codes(body) == ["PERMISSION_DENIED"]


CREATE_CODED = f"""mutation($n: String!, $c: String, $p: ID) {{ createCategory(input: {{
  name: $n, code: $c, parentId: $p }}) {{ category {{ id }} {ERR} }} }}"""


async def test_categories_are_ordered_by_code_at_every_level(world: World) -> None:
    a = world.alpha
    made: dict[str, str] = {}
    # created out of code order, so neither id nor name order gives the code order
    for name, code, parent in (
        ("c3", "T03", None),
        ("c1", "T01", None),
        ("c2", "T02", None),
        ("c2-b", "T0202", "c2"),
        ("c2-uncoded", None, "c2"),
        ("c2-a", "T0201", "c2"),
    ):
        variables = {"n": name, "c": code, "p": made.get(parent) if parent else None}
        body = await world.gql(a, "admin", CREATE_CODED, variables)
        assert body["data"]["createCategory"]["errors"] == [], body
        made[name] = body["data"]["createCategory"]["category"]["id"]
    body = await world.gql(a, "agent", "{ categories { name code depth } }")
    tree = [c["name"] for c in body["data"]["categories"]]
    assert [n for n in tree if n in made] == ["c1", "c2", "c2-a", "c2-b", "c2-uncoded", "c3"]
    # the city's uncoded root (urban management, with its child) comes after the coded ones
    assert tree.index("urban management") > tree.index("c3")
    assert tree.index("illegal construction") == tree.index("urban management") + 1
    body = await world.gql(
        a, "agent", "query($p: ID!) { categories(parentId: $p) { name } }", {"p": made["c2"]}
    )
    assert [c["name"] for c in body["data"]["categories"]] == ["c2-a", "c2-b", "c2-uncoded"]

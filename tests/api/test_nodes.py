"""Relay's node(id:) and nodes(ids:) across types: another city's ids are null with a
NOT_FOUND error (never data), each at its own path."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.api.conftest import Gql, World

NODE = """query($id: ID!) { node(id: $id) { __typename id
  ... on Department { name } ... on Tenant { slug } ... on User { username }
  ... on Province { code } } }"""
NODES = """query($ids: [ID!]!) { nodes(ids: $ids) { __typename id
  ... on Department { name } ... on Tenant { slug } ... on User { username }
  ... on Province { code } } }"""


async def test_node_answers_each_type_as_its_own_query(gql: Gql, world: World) -> None:
    a = world.alpha
    seen = {}
    for gid in (a.departments["d1"], a.id, a.handler.id):
        result = await gql(NODE, {"id": gid}, token=a.admin.token, tenant="alpha")
        node = result.ok()["node"]
        assert node["id"] == gid
        seen[node["__typename"]] = node
    for gid in (world.shandong, a.id):  # the province admin's view
        result = await gql(NODE, {"id": gid}, token=world.shandong_admin.token)
        node = result.ok()["node"]
        assert node["id"] == gid
        seen[node["__typename"]] = node
    assert seen["Department"]["name"] == "alpha district"
    assert seen["Tenant"]["slug"] == "alpha"
    assert seen["User"]["username"] == "alpha_handler@alpha"  # created in the city
    assert seen["Province"]["code"] == "370000"


async def test_another_citys_node_is_not_found(gql: Gql, world: World) -> None:
    a, b = world.alpha, world.beta
    for gid in (b.departments["d1"], b.id, b.handler.id, world.jiangsu, world.shandong):
        result = await gql(NODE, {"id": gid}, token=a.admin.token, tenant="alpha")
        assert result.body["data"] == {"node": None}, gid
        assert result.codes == ["NOT_FOUND"], result.body
        assert "beta" not in str(result.body)
    # a province admin: the other province's cities and the province itself
    for gid in (b.id, world.jiangsu, b.departments["d1"]):
        result = await gql(NODE, {"id": gid}, token=world.shandong_admin.token)
        assert result.body["data"] == {"node": None}, gid
        assert result.codes[0] in {"NOT_FOUND", "PERMISSION_DENIED"}, result.body


async def test_nodes_keep_order_and_fail_one_by_one(gql: Gql, world: World) -> None:
    a, b = world.alpha, world.beta
    ids = [a.departments["d1"], b.departments["d1"], a.id, "VGhpbmc6MQ==", b.handler.id]
    result = await gql(NODES, {"ids": ids}, token=a.admin.token, tenant="alpha")
    nodes = result.data["nodes"]
    assert [n and n["__typename"] for n in nodes] == [
        "Department",
        None,
        "Tenant",
        None,
        None,
    ]
    assert nodes[0]["name"] == "alpha district"
    assert sorted((e["path"][1], e["extensions"]["code"]) for e in result.errors) == [
        (1, "NOT_FOUND"),
        (3, "NOT_FOUND"),
        (4, "NOT_FOUND"),
    ]
    assert "beta" not in str(result.body)


async def test_nodes_need_the_same_rights_as_their_queries(gql: Gql, world: World) -> None:
    anonymous = await gql(NODE, {"id": world.alpha.id})
    assert anonymous.body["data"] == {"node": None}
    assert anonymous.codes == ["AUTH_FAILED"]
    # a department handler may not read the city's user directory
    handler = await gql(
        NODE, {"id": world.alpha.agent.id}, token=world.alpha.handler.token, tenant="alpha"
    )
    assert handler.body["data"] == {"node": None}
    assert handler.codes == ["PERMISSION_DENIED"]
    too_many = await gql(
        NODES, {"ids": [world.alpha.id] * 101}, token=world.alpha.admin.token, tenant="alpha"
    )
    assert too_many.codes == ["INVALID"]

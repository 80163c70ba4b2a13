"""Routing over GraphQL: the catalogue, department functions, the city's gazetteer
(edited by its admin, city-isolated), place resolution and the deployed routing
evaluated on labelled requests with its reliability curve."""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

from hotline.schema.ids import encode_id
from hotline.tenants.routing.province import shipped_model

if TYPE_CHECKING:
    from tests.tickets_api.conftest import World

ERR = "errors { field code message }"
SAVE = f"""mutation($id: ID, $d: ID!, $n: String!, $a: [String!]!) {{ saveGazetteerPlace(
  input: {{ id: $id, name: $n, kind: "landmark", aliases: $a, departmentId: $d }}) {{
  place {{ id name kind aliases department {{ name }} }} {ERR} }} }}"""
DELETE = f"""mutation($id: ID!) {{ deleteGazetteerPlace(id: $id) {{ deleted {ERR} }} }}"""
RESOLVE = """query($t: String!, $l: String) { resolvePlace(text: $t, location: $l) {
  department { name kind } matched } }"""
SET_FUNCTION = f"""mutation($d: ID!, $f: String!) {{ updateDepartment(input: {{
  departmentId: $d, function: $f }}) {{ department {{ name function }} {ERR} }} }}"""
EVALUATE = """query($j: String!) { evaluateRouting(jsonl: $j) { requests top1 top3
  functionTop1 perFunction { function requests top1 } confusions { expected suggested count }
  placeChecked placeAccuracy } }"""


def codes(payload: dict[str, Any]) -> list[str]:
    return [e["code"] for e in payload["errors"]]


async def test_the_catalogue_and_a_department_s_function(world: World) -> None:
    a, b = world.alpha, world.beta
    body = await world.gql(a, "agent", "{ departmentFunctions { code name dispatch routable } }")
    functions = {f["code"]: f for f in body["data"]["departmentFunctions"]}
    assert functions["medical_insurance"]["name"] == "医疗保障"
    assert functions["street_office"]["dispatch"] == "street"
    assert functions["hotline_center"]["routable"] is False
    bureau = str(encode_id("Department", a.bureau.id))
    body = await world.gql(a, "admin", SET_FUNCTION, {"d": bureau, "f": "water_supply"})
    assert body["data"]["updateDepartment"]["department"]["function"] == "water_supply"
    bad = await world.gql(a, "admin", SET_FUNCTION, {"d": bureau, "f": "astrology"})
    assert codes(bad["data"]["updateDepartment"]) == ["INVALID"]
    other = await world.gql(b, "admin", SET_FUNCTION, {"d": bureau, "f": "tax"})
    assert codes(other["data"]["updateDepartment"]) == ["NOT_FOUND"]


async def test_the_gazetteer_is_the_city_s_own(world: World) -> None:
    a, b = world.alpha, world.beta
    street = str(encode_id("Department", a.street.id))
    made = await world.gql(a, "admin", SAVE, {"d": street, "n": "大学城", "a": ["长清大学城"]})
    place = made["data"]["saveGazetteerPlace"]
    assert place["errors"] == []
    assert place["place"]["department"] == {"name": a.street.name}
    pid = place["place"]["id"]
    # validation and permission
    bureau = str(encode_id("Department", a.bureau.id))
    bad = await world.gql(a, "admin", SAVE, {"d": bureau, "n": "市政府", "a": []})
    assert codes(bad["data"]["saveGazetteerPlace"]) == ["INVALID"]
    denied = await world.gql(a, "agent", SAVE, {"d": street, "n": "软件园", "a": []})
    assert codes(denied["data"]["saveGazetteerPlace"]) == ["PERMISSION_DENIED"]
    # the landmark resolves to its unit, the location first
    body = await world.gql(a, "agent", RESOLVE, {"t": "住在长清大学城，门口摊贩太多"})
    assert body["data"]["resolvePlace"]["department"] == {"name": a.street.name, "kind": "STREET"}
    assert body["data"]["resolvePlace"]["matched"] == ["长清大学城"]
    body = await world.gql(a, "agent", RESOLVE, {"t": "路灯坏了", "l": f"{a.district.name}"})
    assert body["data"]["resolvePlace"]["department"]["name"] == a.district.name
    body = await world.gql(a, "admin", "{ gazetteer { name aliases } }")
    assert body["data"]["gazetteer"] == [{"name": "大学城", "aliases": ["长清大学城"]}]
    # beta sees none of it, and alpha's ids are missing there
    body = await world.gql(b, "admin", "{ gazetteer { name } }")
    assert body["data"]["gazetteer"] == []
    body = await world.gql(b, "agent", RESOLVE, {"t": "住在长清大学城"})
    assert body["data"]["resolvePlace"]["department"] is None
    other = await world.gql(b, "admin", SAVE, {"d": street, "n": "大学城", "a": []})
    assert codes(other["data"]["saveGazetteerPlace"]) == ["NOT_FOUND"]
    b_street = str(encode_id("Department", b.street.id))
    other = await world.gql(b, "admin", SAVE, {"id": pid, "d": b_street, "n": "大学城", "a": []})
    assert codes(other["data"]["saveGazetteerPlace"]) == ["NOT_FOUND"]
    other = await world.gql(b, "admin", DELETE, {"id": pid})
    assert codes(other["data"]["deleteGazetteerPlace"]) == ["NOT_FOUND"]
    # alpha changes and removes it, and resolution follows at once (the places routing
    # keeps per process and city are read again when a place changes)
    changed = await world.gql(a, "admin", SAVE, {"id": pid, "d": street, "n": "大学城", "a": []})
    assert changed["data"]["saveGazetteerPlace"]["place"]["aliases"] == []
    body = await world.gql(a, "agent", RESOLVE, {"t": "住在长清大学城，门口摊贩太多"})
    assert body["data"]["resolvePlace"]["matched"] == ["大学城"]
    gone = await world.gql(a, "admin", DELETE, {"id": pid})
    assert gone["data"]["deleteGazetteerPlace"] == {"deleted": True, "errors": []}
    body = await world.gql(a, "agent", RESOLVE, {"t": "住在长清大学城，门口摊贩太多"})
    assert body["data"]["resolvePlace"]["department"] is None


async def test_the_deployed_routing_evaluated_through_graphql(world: World) -> None:
    # the shipped model is fitted once per process (seconds): not inside a request's
    # deadline here; a deployment stores a province model (hotline routing train-province)
    await asyncio.to_thread(shipped_model)
    a = world.alpha
    bureau = str(encode_id("Department", a.bureau.id))
    await world.gql(a, "admin", SET_FUNCTION, {"d": bureau, "f": "water_supply"})
    rows = [
        {"text": "家里自来水发黄，还有铁锈味", "expected_function": "water_supply"},
        {"text": "水表走得飞快，水费一下子交了四百多", "expected_function": "water_supply"},
        {"text": "小区门口的摊贩占道经营", "expected_function": "urban_management"},
        {
            "text": "老院子楼道里堆满杂物",
            "location": a.street.name,
            "expected_function": "street_office",
            "expected_place": a.street.name,
        },
    ]
    body = await world.gql(
        a, "admin", EVALUATE, {"j": "\n".join(json.dumps(r, ensure_ascii=False) for r in rows)}
    )
    report = body["data"]["evaluateRouting"]
    assert report["requests"] == 4
    assert report["top1"] >= 0.5  # both water requests go to the only tagged bureau
    assert report["placeChecked"] == 1
    assert report["placeAccuracy"] == 1.0
    bad = await world.gql(a, "admin", EVALUATE, {"j": '{"text": "no function"}'})
    assert world.codes(bad) == ["INVALID"]
    denied = await world.gql(a, "agent", EVALUATE, {"j": ""})
    assert world.codes(denied) == ["PERMISSION_DENIED"]
    body = await world.gql(
        a,
        "admin",
        """{ provinceRoutingModel { version history top1Accuracy heldout
        reliability { samples thresholds { threshold precision coverage } } } }""",
    )
    model = body["data"]["provinceRoutingModel"]
    assert model["version"] == 0  # the shipped corpus + catalogue model
    assert model["heldout"] == model["reliability"]["samples"] > 300
    assert model["top1Accuracy"] > 0.7
    assert all(0 <= p["coverage"] <= 1 for p in model["reliability"]["thresholds"])

"""Every operation of the GraphQL schema fuzzed with generated inputs (schemathesis over
hypothesis-graphql), anonymously and as a logged-in city admin: no 5xx, no "Unexpected
error" anywhere in an answer, always a JSON object.

Queries and mutations alike, positive (valid by the schema) and negative (breaking it)
cases; ``ID`` arguments are drawn from the world's real ids of both cities (and junk), so
the fuzzer reaches past "not found". The budget is bounded: ``HOTLINE_FUZZ_EXAMPLES``
positive and half as many negative cases per operation (default 4), generated
deterministically unless ``HOTLINE_FUZZ_SEED`` is set (then that seed: explore locally
with a large budget, e.g. ``HOTLINE_FUZZ_EXAMPLES=100 HOTLINE_FUZZ_SEED=$RANDOM``).
A failure lists each offending operation once, with its query: the reproduction.
docs/security.md "Fuzzing" says how to run it and what it proves.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import graphql
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.graphql import nodes

from hotline.platform.tenancy import current_scope, set_scope
from tests.api.conftest import Gql, World

pytestmark = pytest.mark.fuzz

EXAMPLES = int(os.environ.get("HOTLINE_FUZZ_EXAMPLES", "4"))
SEED = os.environ.get("HOTLINE_FUZZ_SEED")

CREATE_TICKET = """mutation($input: CreateTicketInput!) { createTicket(input: $input) {
  ticket { id } errors { field code message } } }"""


def _json_node(value: Any) -> graphql.ValueNode:
    """A GraphQL literal for a JSON value (the ``JSON`` scalar takes any)."""
    if value is None:
        return graphql.NullValueNode()
    if isinstance(value, bool):
        return nodes.Boolean(value)
    if isinstance(value, int):
        return nodes.Int(value)
    if isinstance(value, float):
        return nodes.Float(value)
    if isinstance(value, str):
        return nodes.String(value)
    if isinstance(value, list):
        return nodes.List([_json_node(v) for v in value])
    fields = [
        graphql.ObjectFieldNode(name=graphql.NameNode(value=k), value=_json_node(v))
        for k, v in value.items()
    ]
    return nodes.Object(fields)


_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,10}", fullmatch=True), inner)
    ),
    max_leaves=8,
)


def _register_scalars(ids: list[str]) -> None:
    """Strategies for our scalars; ``ID`` mostly from the world's real ids."""
    text = st.text(max_size=40)
    schemathesis.graphql.scalar(
        "ID",
        st.sampled_from(ids).map(nodes.String)
        | text.map(nodes.String)
        | st.integers().map(nodes.Int),
    )
    schemathesis.graphql.scalar(
        "Date",
        st.dates().map(lambda d: nodes.String(d.isoformat())) | text.map(nodes.String),
    )
    schemathesis.graphql.scalar(
        "DateTime",
        st.datetimes(timezones=st.just(dt.UTC) | st.none()).map(
            lambda d: nodes.String(d.isoformat())
        )
        | text.map(nodes.String),
    )
    schemathesis.graphql.scalar(
        "Decimal",
        st.decimals(allow_nan=False, allow_infinity=False).map(lambda d: nodes.String(str(d)))
        | st.sampled_from([Decimal("0.5"), Decimal("1e400")]).map(nodes.String)
        | text.map(nodes.String),
    )
    schemathesis.graphql.scalar("JSON", _JSON.map(_json_node))


# Generated documents by (operation, mode, count), shared by the two roles: generation
# is deterministic (or seeded), so both roles were generating the same documents — only
# which of the world's real ids an ``ID`` names could differ — at a cost of the order of
# a role's requests. Both roles still send every document.
_GENERATED: dict[tuple[str, GenerationMode, int], list[str]] = {}


def _cases(operation: Any, mode: GenerationMode, count: int) -> list[str]:
    """``count`` generated documents for one operation (generation only, no I/O), made
    once per run (``_GENERATED``)."""
    key = (str(operation.label), mode, count)
    if key in _GENERATED:
        return _GENERATED[key]
    bodies: list[str] = []

    @settings(
        max_examples=count,
        database=None,
        deadline=None,
        derandomize=SEED is None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(operation.as_strategy(generation_mode=mode))
    def collect(case: Any) -> None:
        bodies.append(str(case.body))

    if SEED is not None:
        collect = seed(int(SEED))(collect)
    collect()
    _GENERATED[key] = bodies
    return bodies


@dataclass
class Finding:
    operation: str
    status: int
    answer: str
    query: str

    def __str__(self) -> str:
        return f"{self.operation}: HTTP {self.status} {self.answer[:300]}\n    {self.query[:600]}"


def _finding(label: str, query: str, status: int, text: str) -> Finding | None:
    try:
        body = json.loads(text)
    except ValueError:
        return Finding(label, status, "not JSON: " + text, query)
    if status >= 500 or not isinstance(body, dict) or "Unexpected error" in text:
        return Finding(label, status, text, query)
    if status == 200 and "data" not in body:
        return Finding(label, status, "200 without data: " + text, query)
    return None


@pytest.fixture(scope="module")
def fuzz_schema() -> Any:
    from hotline.schema.schema import build_schema

    introspection = graphql.introspection_from_schema(build_schema()._schema)
    return schemathesis.graphql.from_dict(dict(introspection))


async def _ids(gql: Gql, world: World) -> list[str]:
    """Real ids of both cities (the admin's own user and membership left out: the fuzzer
    revoking its own access would only end the run early)."""
    ids = [world.shandong, world.jiangsu]
    for city in (world.alpha, world.beta):
        ids += [city.id, city.center, city.api_key, city.handler.id, city.handler_membership]
        ids += [city.agent.id, *city.departments.values()]
        data = {
            "channel": "PHONE",
            "kind": "COMPLAINT",
            "citizenName": "张先生",
            "citizenPhone": "13800001234",
            "content": "路灯不亮，晚上出行不便",
        }
        made = await gql(CREATE_TICKET, {"input": data}, token=city.agent.token, tenant=city.slug)
        ids.append(made.ok()["createTicket"]["ticket"]["id"])
    return ids


@pytest.mark.parametrize("who", ["anonymous", "city_admin"])
async def test_every_operation_survives_generated_inputs(
    who: str, gql: Gql, world: World, fuzz_schema: Any
) -> None:
    _register_scalars(await _ids(gql, world))
    headers = {"X-Hotline-Tenant": world.alpha.slug}
    if who == "city_admin":
        headers["Authorization"] = f"Bearer {world.alpha.admin.token}"
    findings: dict[str, Finding] = {}
    operations = 0
    for result in fuzz_schema.get_all_operations():
        operation = result.ok()
        operations += 1
        label = operation.label
        bodies = _cases(operation, GenerationMode.POSITIVE, EXAMPLES)
        bodies += _cases(operation, GenerationMode.NEGATIVE, max(1, EXAMPLES // 2))
        assert bodies, label
        for query in bodies:
            saved = current_scope()  # the ASGI transport runs the app in this task
            try:
                response = await gql.client.post("/graphql", json={"query": query}, headers=headers)
            finally:
                set_scope(saved)
            found = _finding(label, query, response.status_code, response.text)
            if found is not None and label not in findings:
                findings[label] = found
    assert operations > 100  # the whole schema, not a filtered part of it
    assert not findings, "\n".join(str(f) for f in findings.values())

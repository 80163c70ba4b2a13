"""The API under attack (docs/security.md): queries that cost the server more than they
should, bodies that are too large or malformed, and the headers every answer carries."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, ClassVar

import asyncpg
import httpx
import pytest
import strawberry
from graphql import GraphQLError, parse
from graphql.validation import ValidationRule
from starlette.applications import Starlette
from strawberry.extensions import AddValidationRules

from hotline.platform.db.config import tortoise_config
from hotline.platform.settings import Settings
from hotline.schema.guards import (
    INLINE_FIELDS,
    GuardSettings,
    Limits,
    RequestGuard,
    query_cost,
)
from hotline.schema.schema import build_schema

if TYPE_CHECKING:
    from tests.api.conftest import Gql, World

# 300 copies of one field with conflicting arguments: ~13 KB, under every older limit
# (depth, aliases, tokens); graphql-core's overlap rule spends seconds comparing them.
ATTACK = (
    "{ "
    + " ".join(f'calendar {{ isWorkingDay(date: "2026-01-{i % 28 + 1:02d}") }}' for i in range(300))
    + " }"
)


def _code(body: dict[str, Any]) -> str | None:
    code = body["errors"][0].get("extensions", {}).get("code")
    return str(code) if code is not None else None


async def _client_for(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    from hotline.schema.app import create_app

    app: Starlette = create_app(settings, manage_orm=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


# --- 1. validation-time denial of service -------------------------------------------------


async def test_the_overlap_attack_is_refused_before_validation(gql: Gql) -> None:
    assert 13_000 < len(ATTACK) < 14_000
    result = await gql(ATTACK)  # no login needed
    assert result.status == 200
    assert result.body["data"] is None
    assert [e["extensions"]["code"] for e in result.errors] == ["QUERY_TOO_COMPLEX"]
    assert "selections" in result.errors[0]["message"]


async def test_repeated_fields_are_bounded_even_in_small_selections(gql: Gql) -> None:
    # 25 copies fit the per-set limit but make 300 pairs for the overlap rule
    repeated = "{ " + " ".join(["me { platformOperator }"] * 25) + " }"
    result = await gql(repeated)
    assert result.codes == ["QUERY_TOO_COMPLEX"]
    assert "repeats the same fields" in result.errors[0]["message"]
    # a few copies are ordinary GraphQL (fragments often repeat a field): answered
    few = "{ " + " ".join(["me { platformOperator }"] * 3) + " }"
    assert (await gql(few)).ok()["me"] == {"platformOperator": False}


async def test_fragments_count_expanded(gql: Gql, db: Settings) -> None:
    # 20 fields in a fragment, spread under 60 aliases: 1,200 fields once expanded
    fragment = "fragment F on Calendar { " + " ".join(
        f'd{j}: isWorkingDay(date: "2026-02-{j + 1:02d}")' for j in range(20)
    )
    query = fragment + " } { " + " ".join(f"c{i}: calendar {{ ...F }}" for i in range(60)) + " }"
    result = await gql(query)
    assert result.codes == ["QUERY_TOO_COMPLEX"]
    assert f"more than {db.graphql_max_fields} fields" in result.errors[0]["message"]


class _Recorder(ValidationRule):
    threads: ClassVar[list[int]] = []

    def enter_document(self, *_: Any) -> None:
        _Recorder.threads.append(threading.get_ident())


@strawberry.type
class _Query:
    @strawberry.field
    def hello(self) -> str:
        return "world"


async def test_validation_runs_off_the_event_loop() -> None:
    guard = GuardSettings(
        limits=Limits(max_selections=100, max_fields=100, max_overlapping_pairs=10),
        validation_seconds=5,
        budgets={"anonymous": 10, "user": 10, "admin": 10},
        hide_suggestions=False,
    )
    schema = strawberry.Schema(
        query=_Query,
        extensions=[lambda: AddValidationRules([_Recorder]), lambda: RequestGuard(guard)],
    )
    loop_thread = threading.get_ident()  # this test runs on the event loop
    # larger than INLINE_FIELDS: validated in a worker thread
    large = "{ " + " ".join(f"h{i}: hello" for i in range(INLINE_FIELDS + 1)) + " }"
    result = await schema.execute(large)
    assert result.errors is None
    assert result.data is not None
    assert len(result.data) == INLINE_FIELDS + 1
    assert len(_Recorder.threads) == 1
    assert _Recorder.threads[0] != loop_thread
    # the same document again: validated once, the answer is cached
    await schema.execute(large)
    assert len(_Recorder.threads) == 1
    # a small document is validated on the loop (quicker than a thread hop)
    assert (await schema.execute("{ hello }")).data == {"hello": "world"}
    assert _Recorder.threads[1:] == [loop_thread]
    # a refused shape never reaches validation
    wide = "{ " + " ".join(f"h{i}: hello" for i in range(101)) + " }"
    refused = await schema.execute(wide)
    assert refused.errors is not None
    assert isinstance(refused.errors[0], GraphQLError)
    assert refused.errors[0].extensions == {"code": "QUERY_TOO_COMPLEX"}
    assert len(_Recorder.threads) == 2


# --- 2. cost ------------------------------------------------------------------------------

# Six related objects per ticket: 1 + 100 × (1 + 6) = 701 with first: 100.
TICKETS = """query($n: Int) { tickets(first: $n) { nodes { number
  category { name } area { name } citizen { name } stages { receivedAt }
  location { lat } contact { phone } } } }"""


async def test_every_answer_carries_its_cost(gql: Gql, world: World) -> None:
    result = await gql(TICKETS, {"n": 10}, token=world.alpha.agent.token, tenant="alpha")
    result.ok()
    assert result.body["extensions"]["cost"] == {"requested": 71, "budget": 5000}


def test_cost_multiplies_by_page_sizes_and_id_lists() -> None:
    schema = build_schema()._schema
    nested = "query($n: Int) { tickets(first: $n) { nodes { category { name } } } }"
    # tickets 1 + n × (nodes 1 + category 1)
    assert query_cost(schema, parse(nested), None, {"n": 7}) == 15
    assert query_cost(schema, parse(nested), None, {}) == 1 + 50 * 2  # the default page
    by_ids = "query($i: [ID!]!) { nodes(ids: $i) { id ... on Ticket { category { name } } } }"
    assert query_cost(schema, parse(by_ids), None, {"i": ["x"] * 40}) == 41
    # unpaginated lists count ten items; leaves are free
    assert query_cost(schema, parse("{ provinces { code tenants { slug } } }"), None, {}) == (
        1 + 10 * (1 + 10 * 0)
    )


async def test_budgets_follow_the_caller(gql: Gql, world: World, db: Settings) -> None:
    # anonymous: 701 is over its budget, refused before anything runs
    anonymous = await gql(TICKETS, {"n": 100}, tenant="alpha")
    assert anonymous.codes == ["QUERY_TOO_COSTLY"]
    assert anonymous.errors[0]["extensions"] == {
        "code": "QUERY_TOO_COSTLY",
        "cost": 701,
        "budget": db.graphql_cost_anonymous,
    }
    assert anonymous.body["data"] is None
    # an agent (and the city's API key) may
    agent = await gql(TICKETS, {"n": 100}, token=world.alpha.agent.token, tenant="alpha")
    assert agent.ok()["tickets"]["nodes"] == []
    keyed = await gql(TICKETS, {"n": 100}, api_key=world.alpha.api_key_secret)
    assert keyed.ok()["tickets"]["nodes"] == []
    # the agent's attack: 30 aliases × a page of 100 with relations
    attack = (
        "{ "
        + " ".join(
            f"t{i}: tickets(first: 100) {{ nodes {{ category {{ name }} area {{ name }} "
            f"assignments {{ department {{ name }} }} }} }}"
            for i in range(30)
        )
        + " }"
    )
    for token, key in ((world.alpha.agent.token, None), (None, world.alpha.api_key_secret)):
        refused = await gql(attack, tenant="alpha" if token else None, token=token, api_key=key)
        assert refused.codes == ["QUERY_TOO_COSTLY"], refused.body
        assert refused.errors[0]["extensions"]["cost"] > db.graphql_cost_admin
    # between the user and the admin budgets: the city's admin only
    middle = (
        "{ "
        + " ".join(
            f"t{i}: tickets(first: 100) {{ nodes {{ category {{ name }} area {{ name }} }} }}"
            for i in range(20)
        )
        + " }"
    )
    assert (await gql(middle, token=world.alpha.agent.token, tenant="alpha")).codes == [
        "QUERY_TOO_COSTLY"
    ]
    admin = await gql(middle, token=world.alpha.admin.token, tenant="alpha")
    admin.ok()
    assert db.graphql_cost_user < admin.body["extensions"]["cost"]["requested"]


async def test_the_request_deadline(db: Settings, world: World) -> None:
    # any query that waits on the database passes a deadline this short
    async for http in _client_for(db.model_copy(update={"request_deadline_seconds": 1e-9})):
        response = await http.post(
            "/graphql",
            json={"query": "{ tenants { code } }"},
            headers={"Authorization": f"Bearer {world.shandong_admin.token}"},
        )
        assert response.status_code == 503
        assert _code(response.json()) == "DEADLINE_EXCEEDED"


async def test_statement_timeout_on_the_runtime_pool(db: Settings) -> None:
    def connect_args(settings: Settings) -> dict[str, Any]:
        creds = tortoise_config(settings)["connections"]["default"]["credentials"]
        keys = ("host", "port", "user", "password", "database", "server_settings")
        return {k: creds[k] for k in keys}

    connection = await asyncpg.connect(**connect_args(db))
    try:
        assert await connection.fetchval("SHOW statement_timeout") == "15s"
    finally:
        await connection.close()
    short = db.model_copy(update={"database_statement_timeout_seconds": 0.05})
    connection = await asyncpg.connect(**connect_args(short))
    try:
        await connection.execute("RESET ALL")  # what every acquire does: the limit stays
        with pytest.raises(asyncpg.QueryCanceledError):
            await connection.execute("SELECT pg_sleep(2)")
    finally:
        await connection.close()


# --- bodies -------------------------------------------------------------------------------


async def test_large_bodies_are_refused_before_reading(
    client: httpx.AsyncClient, db: Settings
) -> None:
    big = b'{"query": "{ me { platformOperator } }", "pad": "' + b"x" * db.max_body_bytes + b'"}'
    declared = await client.post(
        "/graphql", content=big, headers={"content-type": "application/json"}
    )
    assert declared.status_code == 413
    assert _code(declared.json()) == "PAYLOAD_TOO_LARGE"

    read: list[int] = []

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(big), 65536):
            read.append(start)
            yield big[start : start + 65536]

    streamed = await client.post(
        "/graphql", content=chunks(), headers={"content-type": "application/json"}
    )
    assert streamed.status_code == 413
    assert _code(streamed.json()) == "PAYLOAD_TOO_LARGE"


@pytest.mark.parametrize(
    "body",
    [
        b'{"query": "{ me { platformOperator } }", "x": "\xff\xfe"}',
        b"[1, 2]",
        b'"a string"',
        b"42",
        b"[" * 10_000 + b"]" * 10_000,
        b'{"query": ' + b"[" * 10_000 + b"]" * 10_000 + b"}",
        b'{"query": "{ me',
        b'{"query": 42}',
        b'{"query": "{ me { platformOperator } }", "variables": [1]}',
    ],
    ids=["utf8", "list", "string", "number", "deep", "deep-in-object", "cut", "query", "vars"],
)
async def test_malformed_bodies_are_400_graphql_errors(
    client: httpx.AsyncClient, body: bytes
) -> None:
    response = await client.post(
        "/graphql", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400, response.text
    document = response.json()
    assert document["data"] is None
    assert _code(document) == "BAD_REQUEST"
    assert document["errors"][0]["message"]


async def test_suggestions_do_not_leak_the_schema_without_introspection(
    gql: Gql, db: Settings
) -> None:
    typo = "{ me { platformOperater } }"
    open_result = await gql(typo)
    assert "Did you mean" in open_result.errors[0]["message"]
    async for http in _client_for(db.model_copy(update={"graphql_introspection": False})):
        closed = (await http.post("/graphql", json={"query": typo})).json()
        messages = " ".join(e["message"] for e in closed["errors"])
        assert "Cannot query field 'platformOperater'" in messages
        assert "Did you mean" not in messages
        assert "platformOperator" not in messages


# --- headers ------------------------------------------------------------------------------


async def test_security_headers(client: httpx.AsyncClient, db: Settings) -> None:
    health = await client.get("/healthz")
    assert health.headers["x-content-type-options"] == "nosniff"
    assert health.headers["referrer-policy"] == "no-referrer"
    csp = health.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp
    assert "default-src 'self'" in csp
    assert "strict-transport-security" not in health.headers  # plain HTTP
    assert "server" not in health.headers
    graphql = await client.post("/graphql", json={"query": "{ me { platformOperator } }"})
    assert graphql.headers["cache-control"] == "no-store"
    async for http in _client_for(db):
        # over TLS (directly, or as a trusted proxy's X-Forwarded-Proto makes it)
        secure = await http.get("https://testserver/healthz")
        assert secure.headers["strict-transport-security"].startswith("max-age=")

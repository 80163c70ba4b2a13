"""CORS for browser frontends: configured origins and a city's own, refused origins get
no CORS header, preflight caching, and the WebSocket handshake's origin check."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import httpx
import pytest
import pytest_asyncio
import uvicorn
from starlette.applications import Starlette
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from hotline.platform.settings import Settings

if TYPE_CHECKING:
    from tests.api.conftest import Gql, World

FRONTEND = "https://app.example.org"
CITY_FRONTEND = "https://alpha-portal.example.org"
STRANGER = "https://evil.example.net"
QUERY = {"query": "{ me { platformOperator } }"}


def _app(db: Settings) -> Starlette:
    from hotline.schema.app import create_app

    return create_app(db.model_copy(update={"cors_origins": FRONTEND}), manage_orm=False)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def http(db: Settings, world: World, gql: Gql) -> AsyncIterator[httpx.AsyncClient]:
    # alpha hosts its own frontend (set before the app reads the cities' origins)
    update = """mutation($id: ID!, $f: JSON!) { updateTenant(input: { tenantId: $id,
        features: $f }) { tenant { features } errors { field code message } } }"""
    result = await gql(
        update,
        {"id": world.alpha.id, "f": {"cors_origins": [CITY_FRONTEND]}},
        token=world.shandong_admin.token,
    )
    assert result.ok()["updateTenant"]["tenant"]["features"]["cors_origins"] == [CITY_FRONTEND]
    transport = httpx.ASGITransport(app=_app(db))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


def _cors_headers(response: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k.startswith("access-control-")}


@pytest.mark.parametrize("origin", [FRONTEND, CITY_FRONTEND])
async def test_allowed_origins(http: httpx.AsyncClient, origin: str) -> None:
    response = await http.post("/graphql", json=QUERY, headers={"Origin": origin})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == origin
    assert "origin" in response.headers["vary"].lower()
    # bearer tokens, not cookies: no credentials unless configured
    assert "access-control-allow-credentials" not in response.headers


async def test_refused_origins_get_no_cors_headers(http: httpx.AsyncClient) -> None:
    response = await http.post("/graphql", json=QUERY, headers={"Origin": STRANGER})
    assert _cors_headers(response) == {}
    assert "origin" in response.headers["vary"].lower()
    preflight = await http.options(
        "/graphql",
        headers={"Origin": STRANGER, "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 403
    assert _cors_headers(preflight) == {}


async def test_preflight_is_answered_and_cached(http: httpx.AsyncClient, db: Settings) -> None:
    response = await http.options(
        "/graphql",
        headers={
            "Origin": CITY_FRONTEND,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type, x-hotline-tenant",
        },
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == CITY_FRONTEND
    assert response.headers["access-control-max-age"] == str(db.cors_max_age)
    allowed = {h.strip() for h in response.headers["access-control-allow-headers"].split(",")}
    assert {"authorization", "content-type", "x-hotline-tenant"} <= allowed
    assert "POST" in response.headers["access-control-allow-methods"]
    # a method the API does not take
    refused = await http.options(
        "/graphql", headers={"Origin": FRONTEND, "Access-Control-Request-Method": "DELETE"}
    )
    assert refused.status_code == 400


async def test_a_city_cannot_list_nonsense_origins(gql: Gql, world: World) -> None:
    update = """mutation($id: ID!, $f: JSON!) { updateTenant(input: { tenantId: $id,
        features: $f }) { tenant { id } errors { field code } } }"""
    for bad in (["javascript:alert(1)"], ["http://alpha.example.org"], "https://x.org", ["*"]):
        result = await gql(
            update,
            {"id": world.alpha.id, "f": {"cors_origins": bad}},
            token=world.shandong_admin.token,
        )
        assert result.data["updateTenant"]["errors"] == [{"field": "features", "code": "INVALID"}]


async def test_websocket_origin_check(db: Settings, http: httpx.AsyncClient) -> None:
    config = uvicorn.Config(_app(db), host="127.0.0.1", port=0, lifespan="off", log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:  # noqa: ASYNC110 — uvicorn offers no event to wait on
            await asyncio.sleep(0.02)
        port = server.servers[0].sockets[0].getsockname()[1]
        url = f"ws://127.0.0.1:{port}/graphql"
        for origin in (None, f"http://127.0.0.1:{port}", FRONTEND, CITY_FRONTEND):
            async with connect(
                url,
                subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
                origin=origin,  # type: ignore[arg-type]
            ) as ws:
                await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
                answer = json.loads(await asyncio.wait_for(ws.recv(), timeout=5))
                assert answer["type"] == "connection_ack", origin
        with pytest.raises(InvalidStatus) as refused:
            async with connect(
                url,
                subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
                origin=STRANGER,  # type: ignore[arg-type]
            ):
                pass
        assert refused.value.response.status_code == 403
    finally:
        server.should_exit = True
        await task

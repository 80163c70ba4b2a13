"""The two cities of the ticket API tests (alpha, beta), the app on a real HTTP server
(third-party clients speak to it over a socket), and per-city API keys."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest_asyncio
import uvicorn

from hotline.platform.tenancy import use_scope
from hotline.schema.app import create_app
from hotline.tenants.accounts.api_keys import create_api_key
from hotline.tenants.kernel.access import Actor
from hotline.tenants.kernel.roles import Role
from tests.tickets_api.conftest import City, World, world  # noqa: F401 — the fixture


@dataclass
class Served:
    world: World
    url: str  # http://127.0.0.1:<port>
    keys: dict[str, str]  # "<city>" an agent's key; "<city>-auditor" one that may not create


async def key_for(city: City, role: Role) -> str:
    admin = Actor(
        user_id=city.users["admin"],
        tenant_id=city.tenant.id,
        province_id=city.tenant.province_id,
        roles=frozenset({Role.TENANT_ADMIN}),
    )
    with use_scope(city.scope(city.users["admin"])):
        _, plaintext = await create_api_key(actor=admin, name=f"{role.value} gateway", roles=[role])
    return plaintext


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def served(world: World) -> AsyncIterator[Served]:  # noqa: F811
    config = uvicorn.Config(
        create_app(world.settings, manage_orm=False),
        host="127.0.0.1",
        port=0,
        lifespan="off",
        log_level="warning",
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 — uvicorn offers no event to wait on
        await asyncio.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    keys = {}
    for city in (world.alpha, world.beta):
        keys[city.slug] = await key_for(city, Role.AGENT)
        keys[f"{city.slug}-auditor"] = await key_for(city, Role.AUDITOR)
    yield Served(world=world, url=f"http://127.0.0.1:{port}", keys=keys)
    server.should_exit = True
    await task

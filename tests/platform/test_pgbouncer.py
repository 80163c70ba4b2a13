"""The runtime behind a real PgBouncer in transaction mode (docs/operations.md "PgBouncer").

A PgBouncer 1.18 of this module's own (transaction pooling, its own port, two server
connections for the whole module's database) in front of the test PostgreSQL:

- the hazard: the session-level scope (``apply_scope``, the default for a direct
  connection) set by one client is read by another client's statement through the
  bouncer — a cross-tenant read. This is why ``HOTLINE_DATABASE_POOLING`` exists;
- with ``HOTLINE_DATABASE_POOLING=transaction``, three cities write and read concurrently
  through more client connections than the bouncer has server connections: every
  statement sees its own city's scope, no read returns another city's row, every write
  lands in its own city, a province sees only its cities;
- a transaction keeps its own isolation level and read-only mode, and the connection
  stays scoped after a commit or a rollback; asyncpg's statement cache is off.

Skipped, saying so, where the ``pgbouncer`` binary is not installed
(``apt-get install pgbouncer``; ``.ci/run`` installs it).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, cast

import asyncpg
import pytest
import pytest_asyncio
from tortoise import Tortoise, connections
from tortoise.transactions import in_transaction

from hotline.platform.db.config import apply_scope, credentials, init_orm
from hotline.platform.db.pooling import TransactionPooledConnection
from hotline.platform.redis import close_redis
from hotline.platform.settings import Settings
from hotline.platform.tenancy import Scope, use_scope
from hotline.tenants.tickets.models import Ticket
from tests.world import City, World

PGBOUNCER = shutil.which("pgbouncer") or (
    "/usr/sbin/pgbouncer" if os.path.exists("/usr/sbin/pgbouncer") else None
)
pytestmark = pytest.mark.skipif(
    PGBOUNCER is None, reason="pgbouncer is not installed (apt-get install -y pgbouncer)"
)
SERVER_CONNECTIONS = 2


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _let_nobody_reach(host: str) -> None:
    """The embedded test stack's PostgreSQL listens on a Unix socket in a private temporary
    directory (mode 0700, root's): PgBouncer, dropped to nobody, was refused it
    ("sbuf_connect failed: Permission denied"). Let others traverse the directories from
    the temporary root down to the socket (search only, not list)."""
    if not host.startswith("/"):
        return  # TCP: nothing to reach on disk
    root = Path(tempfile.gettempdir()).resolve()
    directory = Path(host).resolve()
    while directory != root and root in directory.parents:
        directory.chmod(directory.stat().st_mode | 0o001)
        directory = directory.parent


@pytest.fixture(scope="module")
def bouncer(module_settings: Settings) -> Iterator[str]:
    """A transaction-mode PgBouncer before the module's database: its runtime URL."""
    assert PGBOUNCER is not None
    app = credentials(module_settings.app_database_url())
    home = Path(tempfile.mkdtemp(prefix="hotline-pgbouncer-"))
    port = _free_port()
    (home / "users.txt").write_text(f'"{app["user"]}" ""\n')
    (home / "pgbouncer.ini").write_text(
        f"""[databases]
{app["database"]} = host={app["host"]} port={app["port"]} dbname={app["database"]}
single = host={app["host"]} port={app["port"]} dbname={app["database"]} pool_size=1

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {home}/users.txt
pool_mode = transaction
default_pool_size = {SERVER_CONNECTIONS}
max_client_conn = 200
logfile = {home}/pgbouncer.log
"""
    )
    # PgBouncer refuses to run as root; then it runs as nobody (who must read its files)
    as_root = os.geteuid() == 0
    if as_root:
        shutil.chown(home, user="nobody")
        for path in home.iterdir():
            shutil.chown(path, user="nobody")
        _let_nobody_reach(str(app["host"]))
    command = [PGBOUNCER, *(["-u", "nobody"] if as_root else []), str(home / "pgbouncer.ini")]
    with (home / "stdout.txt").open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while True:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                said = [p.read_text() for p in home.glob("*.txt") if p.name != "users.txt"]
                logfile = home / "pgbouncer.log"
                log = logfile.read_text() if logfile.exists() else ""
                raise AssertionError(f"pgbouncer did not start: {said} {log}")
            time.sleep(0.05)
        yield f"postgres://{app['user']}@127.0.0.1:{port}/{app['database']}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        shutil.rmtree(home, ignore_errors=True)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def through_bouncer(
    world: World, module_settings: Settings, bouncer: str
) -> AsyncIterator[Settings]:
    """The ORM re-initialised through the bouncer, transaction pooling, 8 client
    connections for its 2 server connections."""
    settings = module_settings.model_copy(
        update={
            "database_app_url": bouncer,
            "database_pooling": "transaction",
            "database_pool_min": 1,
            "database_pool_max": 8,
        }
    )
    await Tortoise.close_connections()
    await init_orm(settings)
    try:
        yield settings
    finally:
        await close_redis()
        await Tortoise.close_connections()
        await init_orm(module_settings)  # the module's direct pool again (the db fixture)


async def test_session_scope_leaks_through_a_transaction_pooler(world: World, bouncer: str) -> None:
    """The hazard: what the default (session) scheme does behind PgBouncer in
    transaction mode. One client's scope is read by another client's statement."""
    alpha, beta = world.alpha, world.beta
    with use_scope(beta.scope()):
        await beta.ticket()
    # the bouncer's "single" database: one server connection, so the order is certain
    creds = {**credentials(bouncer), "database": "single", "statement_cache_size": 0}
    a = await asyncpg.connect(**creds)
    b = await asyncpg.connect(**creds)
    try:
        with use_scope(alpha.scope()):
            await apply_scope(a)  # what the pool's setup hook does on acquire
        with use_scope(beta.scope()):
            await apply_scope(b)
        # alpha's next statement runs on the server connection beta's setup wrote to
        assert await a.fetchval("SELECT current_setting('app.tenant_id', true)") == str(beta.id)
        leaked = await a.fetchval(
            "SELECT count(*) FROM tickets WHERE tenant_id = $1 AND"
            " current_setting('app.tenant_id', true) = $1::text",
            beta.id,
        )
        assert leaked > 0  # alpha's client read beta's work orders
    finally:
        await a.close()
        await b.close()


async def _city_round(city: City, rounds: int, made: list[int], errors: list[str]) -> None:
    """Writes and reads of one city, interleaved with the others' by the event loop."""
    with use_scope(city.scope()):
        for i in range(rounds):
            ticket = await city.ticket(f"路灯不亮 {city.slug} {i}")  # transactions
            made.append(ticket.id)
            db = connections.get("default")
            [row] = await db.execute_query_dict(
                "SELECT current_setting('app.tenant_id') AS tenant,"
                " current_setting('app.scope') AS scope,"
                " count(DISTINCT tenant_id) AS cities, min(tenant_id) AS tenant_id"
                " FROM tickets"
            )
            if row["tenant"] != str(city.id) or row["scope"] != "city":
                errors.append(f"{city.slug}: scope {row['scope']} {row['tenant']}")
            if row["cities"] != 1 or row["tenant_id"] != city.id:
                errors.append(f"{city.slug}: read rows of {row}")
            # the ORM's reads (autocommit: one scoped transaction per statement)
            tenants = set(cast(list[int], await Ticket.all().values_list("tenant_id", flat=True)))
            if tenants != {city.id}:
                errors.append(f"{city.slug}: listed tickets of {tenants}")
            if not await Ticket.filter(id=ticket.id).exists():
                errors.append(f"{city.slug}: its own ticket {ticket.id} is missing")


async def test_cities_read_and_write_concurrently_through_transaction_pooling(
    world: World, through_bouncer: Settings
) -> None:
    with use_scope(world.alpha.scope()):
        await Ticket.all().count()  # the pool is made on first use
    pool: Any = getattr(connections.get("default"), "_pool", None)
    assert pool is not None
    assert pool._connect_kwargs["statement_cache_size"] == 0
    cities = world.cities
    counts: dict[int, int] = {}
    for city in cities:
        with use_scope(city.scope()):
            counts[city.id] = await Ticket.all().count()
    made: dict[int, list[int]] = {city.id: [] for city in cities}
    errors: list[str] = []
    # 3 cities x 2 tasks, each round several statements and transactions: more client
    # connections busy than the bouncer's 2 server connections, so they are shared
    await asyncio.wait_for(
        asyncio.gather(
            *(_city_round(city, 6, made[city.id], errors) for city in cities for _ in range(2))
        ),
        timeout=120,
    )
    assert errors == []
    for city in cities:
        with use_scope(city.scope()):
            assert await Ticket.all().count() == counts[city.id] + len(made[city.id])
            written = await Ticket.filter(id__in=made[city.id]).values_list("tenant_id", flat=True)
            assert set(cast(list[int], written)) == {city.id}
            others = [t for c in cities if c is not city for t in made[c.id]]
            assert not await Ticket.filter(id__in=others).exists()  # NOT another city's
    # a province scope sees its own cities only (Shandong: alpha and gamma)
    with use_scope(Scope.province(world.alpha.province_id)):
        seen = set(
            cast(list[int], await Ticket.across_tenants().all().values_list("tenant_id", flat=True))
        )
    assert seen == {world.alpha.id, world.gamma.id}


async def test_transactions_keep_their_modes_and_the_scope_after_they_end(
    world: World, through_bouncer: Settings
) -> None:
    alpha = world.alpha
    db: Any = connections.get("default")
    with use_scope(alpha.scope()):
        async with db.acquire_connection() as raw:
            assert isinstance(raw._con, TransactionPooledConnection)
            async with raw.transaction(isolation="repeatable_read", readonly=True):
                [iso, ro, tenant] = await raw.fetchrow(
                    "SELECT current_setting('transaction_isolation'),"
                    " current_setting('transaction_read_only'),"
                    " current_setting('app.tenant_id')"
                )
                assert (iso, ro, tenant) == ("repeatable read", "on", str(alpha.id))
                async with raw.transaction():  # a savepoint inside
                    assert await raw.fetchval("SELECT current_setting('app.tenant_id')") == str(
                        alpha.id
                    )
            # after the commit the connection is in a scoped transaction again
            assert await raw.fetchval("SELECT current_setting('app.tenant_id')") == str(alpha.id)
            with pytest.raises(asyncpg.DivisionByZeroError):
                async with raw.transaction():
                    await raw.fetchval("SELECT 1/0")
            assert await raw.fetchval("SELECT current_setting('app.tenant_id')") == str(alpha.id)
            assert await raw.fetchval("SELECT current_setting('statement_timeout')") != "0"
        # a rolled-back Tortoise transaction leaves nothing behind, a committed one stays
        before = await Ticket.all().count()

        async def undone() -> None:
            async with in_transaction("default"):
                await alpha.ticket("rolled back")
                raise RuntimeError("undo")

        with pytest.raises(RuntimeError):
            await undone()
        assert await Ticket.all().count() == before
        async with in_transaction("default"):
            await alpha.ticket("committed")
        assert await Ticket.all().count() == before + 1

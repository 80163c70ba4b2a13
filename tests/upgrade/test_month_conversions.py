"""The migrations that convert a filled table into monthly partitions keep every row:
tickets 0002 (timeline), kernel 0002 (audit log), notify 0003 (notices). A database is
migrated to the state before them, given rows of several months in two cities, then the
conversions run — as the superuser the other tests migrate as, and as a production owner
without BYPASSRLS, who owns every table and function (each old table forces row security
on its owner too: a copy without ``NO FORCE`` would read no row and drop them all).

Each converted table is a partitioned parent with row security forced and every row, by
id and time, in its month's partition; the partitions are the owner's. A notice whose
message still waits in the outbox takes the message's time (the new release's
redelivery then finds it); the previous release's in-app insert, ``ON CONFLICT
(tenant_id, send_key)``, fails on the converted table — which is why its workers are
stopped for this upgrade (docs/operations.md "Partitioning")."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import asyncpg
import pytest
import pytest_asyncio
from tortoise import Tortoise
from tortoise.migrations.api import migrate

from hotline.platform.db.config import tortoise_config
from hotline.platform.db.migrate import drop_database, ensure_database
from hotline.platform.settings import Settings
from tests.channels.test_migration_0003 import _drop_role as drop_role
from tests.channels.test_migration_0003 import _url

BEFORE = (
    "platform.0003_month_partitions",
    "kernel.0001_initial",
    "tickets.0001_initial",
    "notify.0002_tenancy",
)
CONVERSIONS = (
    "tickets.0002_timeline_by_month",
    "kernel.0002_audit_by_month",
    "notify.0003_notices_by_month",
)
TABLES = ("timeline_events", "audit_events", "notices")
NOW = datetime.now(UTC)


def _month(day: date, shift: int = 0) -> date:
    index = day.year * 12 + day.month - 1 + shift
    return date(index // 12, index % 12 + 1, 1)


def _at(shift: int, day: int = 10) -> datetime:
    """Noon UTC on ``day`` of the month ``shift`` months from now."""
    month = _month(NOW.date(), shift)
    return datetime(month.year, month.month, day, 12, tzinfo=UTC)


async def _migrate(url: str, target: str) -> None:
    settings = Settings(database_url=url)
    try:
        await migrate(config=tortoise_config(settings, url=url, app_scoped=False), target=target)
    finally:
        await Tortoise.close_connections()


_FILLER: dict[str, Any] = {
    "bigint": 0,
    "integer": 0,
    "smallint": 0,
    "numeric": Decimal(0),
    "double precision": 0.0,
    "real": 0.0,
    "boolean": False,
    "text": "",
    "character varying": "",
    "character": "",
    "jsonb": "{}",
    "json": "{}",
    "timestamp with time zone": NOW,
    "date": NOW.date(),
    "time without time zone": time(0),
    "interval": timedelta(0),
    "bytea": b"",
    "ARRAY": [],
}


async def _insert(conn: asyncpg.Connection, table: str, **given: Any) -> int:
    """A row with ``given`` and a plain value of its type in every other required column
    (the old schema's columns, whatever they were then); its id."""
    required = await conn.fetch(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema ="
        " 'public' AND table_name = $1 AND is_nullable = 'NO' AND column_default IS NULL",
        table,
    )
    values = {r["column_name"]: _FILLER[r["data_type"]] for r in required} | given
    names = ", ".join(f'"{n}"' for n in values)
    marks = ", ".join(f"${i}" for i in range(1, len(values) + 1))
    row_id: int = await conn.fetchval(
        f'INSERT INTO "{table}" ({names}) VALUES ({marks}) RETURNING id',  # noqa: S608
        *values.values(),
    )
    return row_id


async def _fill(conn: asyncpg.Connection) -> dict[str, dict[int, datetime]]:
    """Rows of several months in two cities; each table's ids and times."""
    province = await _insert(conn, "provinces", code="370000", slug="sd", name="山东省")
    a = await _insert(conn, "tenants", province_id=province, code="370100", slug="a", name="A")
    b = await _insert(conn, "tenants", province_id=province, code="370200", slug="b", name="B")
    ta = await _insert(conn, "tickets", tenant_id=a, province_id=province, number="A1")
    tb = await _insert(conn, "tickets", tenant_id=b, province_id=province, number="B1")
    rows: dict[str, dict[int, datetime]] = {t: {} for t in TABLES}
    for city, ticket, seq, at in ((a, ta, 1, _at(-5)), (a, ta, 2, _at(0)), (b, tb, 1, _at(-1))):
        event = await _insert(
            conn, "timeline_events", tenant_id=city, province_id=province, ticket_id=ticket,
            seq=seq, action="create", created_at=at,
        )  # fmt: skip
        rows["timeline_events"][event] = at
    audits: tuple[tuple[int | None, datetime], ...] = ((a, _at(-2)), (b, _at(0)), (None, _at(-1)))
    for scope, at in audits:  # None: the province's row
        audit = await _insert(
            conn, "audit_events", tenant_id=scope, province_id=province, action="login",
            created_at=at,
        )  # fmt: skip
        rows["audit_events"][audit] = at
    notices: tuple[tuple[int, int | None, str, datetime], ...] = (
        (a, ta, "a:old", _at(-7)),
        (a, None, "a:sent", _at(-1)),
        (b, tb, "b:now", _at(0)),
    )
    for owner, about, key, at in notices:
        notice = await _insert(
            conn, "notices", tenant_id=owner, province_id=province, user_id=1, event="dispatch",
            title="t", send_key=key, created_at=at, ticket_id=about,
        )  # fmt: skip
        rows["notices"][notice] = at
    return rows


async def _owner_without_bypass(admin: asyncpg.Connection, database: str) -> str:
    """A production owner: owns the database (so, in PostgreSQL 15, its public schema)
    and everything the migrations make; no superuser, no BYPASSRLS."""
    role = f"hl_conv_{secrets.token_hex(3)}"
    await admin.execute(f"CREATE ROLE {role} LOGIN NOSUPERUSER NOBYPASSRLS")
    await admin.execute(f"ALTER DATABASE {database} OWNER TO {role}")
    return role


@dataclass(frozen=True)
class Before:
    """A database migrated to just before a change, by its owner (``role``; None: the
    superuser)."""

    server: str
    name: str
    role: str | None

    @property
    def owner_url(self) -> str:
        return _url(self.server, self.name, self.role)

    @asynccontextmanager
    async def superuser(self) -> AsyncIterator[asyncpg.Connection]:
        """A connection as the superuser, which sees every row (to fill and to check)."""
        conn = await asyncpg.connect(_url(self.server, self.name))
        try:
            yield conn
        finally:
            await conn.close()

    async def migrate(self, target: str) -> None:
        """Migrate on to ``target`` as the owner, as a release's migration Job does."""
        await _migrate(self.owner_url, target)


@asynccontextmanager
async def database_before(
    server: str, owner: str, prefix: str, targets: tuple[str, ...]
) -> AsyncIterator[Before]:
    """A database migrated to ``targets`` by ``owner`` ("superuser", or a production
    owner without BYPASSRLS made for it); dropped, with the role, afterwards."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    await ensure_database(Settings(database_url=_url(server, name)))
    role = None
    try:
        if owner != "superuser":
            admin = await asyncpg.connect(_url(server, "postgres"))
            try:
                role = await _owner_without_bypass(admin, name)
            finally:
                await admin.close()
        made = Before(server, name, role)
        for target in targets:
            await made.migrate(target)
        yield made
    finally:
        await drop_database(server, name)  # the role owns nothing after that
        if role is not None:
            await drop_role(server, role)


OWNERS = ["superuser", "owner without BYPASSRLS"]


def databases_before(prefix: str, targets: tuple[str, ...]) -> Any:
    """A module's ``before`` fixture: a database migrated to ``targets`` by each owner of
    :data:`OWNERS` in turn (:func:`database_before`)."""

    @pytest_asyncio.fixture(loop_scope="session", params=OWNERS)
    async def before(
        services: dict[str, str], request: pytest.FixtureRequest
    ) -> AsyncIterator[Before]:
        server = services["HOTLINE_DATABASE_URL"]
        async with database_before(server, request.param, prefix, targets) as made:
            yield made

    return before


# a database migrated to just before the conversions
before = databases_before("hotline_conv", BEFORE)


def _part(table: str, at: datetime) -> str:
    return f"{table}_p{at:%Y%m}"


async def test_the_conversions_keep_every_row_in_its_month(
    before: Before,
) -> None:
    async with before.superuser() as conn:
        rows = await _fill(conn)
        # a's "sent" notice was delivered by the previous release, which died before
        # settling its message (pending); b's message was settled (sent)
        waiting = _at(-1) - timedelta(seconds=90)
        for key, status, at in (("a:sent", "pending", waiting), ("b:now", "sent", _at(0, 9))):
            await _insert(
                conn, "outbox", tenant_id=None, kind="inapp", payload="{}", send_key=key,
                status=status, created_at=at, next_attempt_at=at, updated_at=at,
            )  # fmt: skip
        await conn.execute(
            "UPDATE outbox o SET tenant_id = n.tenant_id, province_id = n.province_id"
            " FROM notices n WHERE n.send_key = o.send_key"
        )
        [a_sent] = [i for i, at in rows["notices"].items() if at == _at(-1)]
        rows["notices"][a_sent] = waiting  # takes its message's time

        for target in CONVERSIONS:
            await before.migrate(target)

        owner = before.role or await conn.fetchval("SELECT current_user")
        for table, expected in rows.items():
            [parent] = await conn.fetch(
                "SELECT c.relkind::text AS kind, c.relforcerowsecurity AS force,"
                " pg_get_userbyid(c.relowner) AS owner FROM pg_class c WHERE c.oid = $1::regclass",
                table,
            )
            assert dict(parent) == {"kind": "p", "force": True, "owner": owner}, table
            found = await conn.fetch(
                f"SELECT id, created_at, tableoid::regclass::text AS p FROM {table}"  # noqa: S608
            )
            assert {r["id"]: (r["created_at"], r["p"]) for r in found} == {
                i: (at, _part(table, at)) for i, at in expected.items()
            }, table
            parts = await conn.fetch(
                "SELECT c.relname, c.relrowsecurity AS rls, pg_get_userbyid(c.relowner) AS owner"
                " FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
                " WHERE i.inhparent = $1::regclass",
                table,
            )
            oldest = min(expected.values())
            months = {
                _part(table, datetime.combine(_month(oldest.date(), s), time(0), UTC))
                for s in range(
                    (NOW.year - oldest.year) * 12 + NOW.month - oldest.month + 4
                )  # from the oldest row's month to three ahead
            }
            assert {p["relname"] for p in parts} == months | {f"{table}_default"}, table
            assert {(p["rls"], p["owner"]) for p in parts} == {(True, owner)}, table

        # the previous release's in-app insert names a key no index of the partitioned
        # table can arbitrate: its workers are stopped for this upgrade
        with pytest.raises(asyncpg.InvalidColumnReferenceError, match="ON CONFLICT"):
            await conn.execute(
                "INSERT INTO notices (tenant_id, province_id, user_id, event, title, body,"
                " ticket_id, send_key, created_at) SELECT tenant_id, province_id, 1, 'x', 'x',"
                " '', NULL, send_key, now() FROM notices WHERE send_key = 'a:sent'"
                " ON CONFLICT (tenant_id, send_key) DO NOTHING"
            )
        # the new one, with its message's time, finds the notice the old one delivered
        again = await conn.fetch(
            "INSERT INTO notices (tenant_id, province_id, user_id, event, title, body,"
            " ticket_id, send_key, created_at) SELECT tenant_id, province_id, 1, 'x', 'x',"
            " '', NULL, send_key, created_at FROM outbox WHERE send_key = 'a:sent'"
            " ON CONFLICT (tenant_id, send_key, created_at) DO NOTHING RETURNING id"
        )
        assert again == []

        # the owner's maintenance moves a waiting row into its new month (its foreign
        # keys to tickets checked past the tickets' forced row security)
        far = _at(7)
        ticket_row = await conn.fetchrow(
            "SELECT tenant_id, province_id, ticket_id FROM timeline_events LIMIT 1"
        )
        event = await _insert(
            conn, "timeline_events", tenant_id=ticket_row["tenant_id"],
            province_id=ticket_row["province_id"], ticket_id=ticket_row["ticket_id"], seq=9,
            action="urge", created_at=far,
        )  # fmt: skip
        where = "SELECT tableoid::regclass::text FROM timeline_events WHERE id = $1"
        assert await conn.fetchval(where, event) == "timeline_events_default"
        keeper = await asyncpg.connect(before.owner_url)
        try:
            assert (
                await keeper.fetchval("SELECT hotline_make_month_partitions('timeline_events', 8)")
                == 5
            )  # months 4 to 8
        finally:
            await keeper.close()
        assert await conn.fetchval(where, event) == _part("timeline_events", far)

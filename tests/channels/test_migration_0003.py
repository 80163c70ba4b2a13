"""channels/migrations/0003: the SMS place names (channel_place_names) move into
routing's gazetteer as name-only places — unless the city's gazetteer has the name
already — and the old table is dropped. A database is migrated to the state before
(channels 0002, routing 0003), given rows in two cities, then 0003 runs: as the
superuser the tests use, and as an owner without BYPASSRLS (both tables force row
security for their owner too: a move with no city's scope would see nothing)."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
import pytest_asyncio
from tortoise import Tortoise
from tortoise.migrations.api import migrate

from hotline.platform.db.config import tortoise_config
from hotline.platform.db.migrate import drop_database, ensure_database
from hotline.platform.settings import Settings

BEFORE = ("routing.0003_name_only_places", "channels.0002_wechat_secure_media")
MOVE = "channels.0003_place_names_to_gazetteer"


def _url(server: str, database: str, user: str | None = None) -> str:
    parts = urlsplit(server)
    netloc = parts.netloc if user is None else f"{user}@{parts.netloc.rsplit('@', 1)[-1]}"
    return urlunsplit((parts.scheme, netloc, "/" + database, parts.query, parts.fragment))


async def _migrate(url: str, target: str) -> None:
    settings = Settings(database_url=url)
    try:
        await migrate(config=tortoise_config(settings, url=url, app_scoped=False), target=target)
    finally:
        await Tortoise.close_connections()


@pytest_asyncio.fixture(loop_scope="session")
async def before_0003(services: dict[str, str]) -> AsyncIterator[str]:
    """A database migrated to just before channels 0003 (its name)."""
    server = services["HOTLINE_DATABASE_URL"]
    name = f"hotline_m0003_{secrets.token_hex(4)}"
    await ensure_database(Settings(database_url=_url(server, name)))
    try:
        for target in BEFORE:
            await _migrate(_url(server, name), target)
        yield name
    finally:
        await drop_database(server, name)


async def _city(conn: asyncpg.Connection, province: int, code: str) -> int:
    city: int = await conn.fetchval(
        "INSERT INTO tenants (created_at, province_id, code, slug, name, number_prefix, "
        "timezone, locales, sla_overrides, working_hours, features, is_active, updated_at, "
        "settings, rest_day_start) VALUES (now(), $1, $2, $3, $3, 'C', 'Asia/Shanghai', "
        "'[\"zh-CN\"]', '{}', '{}', '{}', true, now(), '{}', 'official') RETURNING id",
        province,
        code,
        f"city-{code}",
    )
    return city


async def _fill(conn: asyncpg.Connection) -> tuple[int, int]:
    """Two cities: A with two SMS names, one of which its gazetteer has already (a
    scenic spot with an alias, which must stay as it is); B with one."""
    province = await conn.fetchval(
        "INSERT INTO provinces (created_at, code, slug, name, timezone, locales, "
        "sla_defaults, working_hours, oidc) VALUES (now(), '370000', 'sd', 'sd', "
        "'Asia/Shanghai', '[\"zh-CN\"]', '{}', '{}', '{}') RETURNING id"
    )
    a, b = await _city(conn, province, "370100"), await _city(conn, province, "370200")
    await conn.executemany(
        "INSERT INTO channel_place_names (created_at, tenant_id, province_id, name) "
        "VALUES ('2026-01-02T03:04:05Z', $1, $2, $3)",
        [(a, province, "大明湖"), (a, province, "千佛山"), (b, province, "栈桥")],
    )
    await conn.execute(
        "INSERT INTO gazetteer_places (created_at, tenant_id, province_id, name, kind, "
        "aliases, department_id, updated_at) "
        "VALUES ('2026-02-03T04:05:06Z', $1, $2, '千佛山', 'scenic', '[\"千佛山景区\"]', NULL, "
        "now())",
        a,
        province,
    )
    return a, b


async def _owner_without_bypass(conn: asyncpg.Connection, database: str) -> str:
    """A login role that owns the moved table (so FORCE applies to it) and may write the
    gazetteer and the migrations' record, with no BYPASSRLS: a production owner."""
    role = f"hl_mig_{secrets.token_hex(3)}"
    await conn.execute(f"CREATE ROLE {role} LOGIN NOSUPERUSER NOBYPASSRLS")
    await conn.execute(f"GRANT CONNECT ON DATABASE {database} TO {role}")
    await conn.execute(f"GRANT USAGE, CREATE ON SCHEMA public TO {role}")
    await conn.execute(f"ALTER TABLE channel_place_names OWNER TO {role}")
    await conn.execute(f"GRANT SELECT ON tenants TO {role}")
    await conn.execute(f"GRANT SELECT, INSERT ON gazetteer_places TO {role}")
    await conn.execute(f"GRANT SELECT, INSERT, UPDATE ON tortoise_migrations TO {role}")
    await conn.execute(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {role}")
    return role


async def _drop_role(server: str, role: str) -> None:
    conn = await asyncpg.connect(_url(server, "postgres"))
    try:
        await conn.execute(f"DROP ROLE IF EXISTS {role}")
    finally:
        await conn.close()


@pytest.mark.parametrize("owner", ["superuser", "owner without BYPASSRLS"])
async def test_0003_moves_the_place_names_into_the_gazetteer_and_drops_the_table(
    services: dict[str, str], before_0003: str, owner: str
) -> None:
    server = services["HOTLINE_DATABASE_URL"]
    url = _url(server, before_0003)
    conn = await asyncpg.connect(url)
    role = None
    try:
        a, b = await _fill(conn)
        if owner != "superuser":
            role = await _owner_without_bypass(conn, before_0003)
        await _migrate(url if role is None else _url(server, before_0003, role), MOVE)
        assert await conn.fetchval("SELECT to_regclass('channel_place_names')") is None
        rows = await conn.fetch(
            "SELECT tenant_id, name, kind, aliases::text AS aliases, department_id, "
            "created_at::text AS created FROM gazetteer_places ORDER BY tenant_id, name"
        )
        assert [tuple(r) for r in rows] == [
            (a, "千佛山", "scenic", '["千佛山景区"]', None, "2026-02-03 04:05:06+00"),
            (a, "大明湖", "landmark", "[]", None, "2026-01-02 03:04:05+00"),
            (b, "栈桥", "landmark", "[]", None, "2026-01-02 03:04:05+00"),
        ]
        assert await conn.fetchval(
            "SELECT count(*) FROM tortoise_migrations WHERE app = 'channels' AND name = $1",
            MOVE.split(".", 1)[1],
        )
    finally:
        await conn.close()
        if role is not None:
            await drop_database(server, before_0003)  # the role owns nothing after that
            await _drop_role(server, role)

"""``hotline migrate``: database, app role, Tortoise migrations and grants."""

from __future__ import annotations

import contextlib
from typing import Any

import asyncpg
import structlog
from tortoise import Tortoise
from tortoise.migrations.api import migrate as tortoise_migrate

from hotline.platform.db.config import credentials, tortoise_config
from hotline.platform.settings import Settings

log = structlog.get_logger(__name__)


# Written on every database ``ensure_database`` creates: ``hotline migrate --reset-dev``
# drops only a database that carries it (docs/operations.md "Resetting a development
# database").
MARKER = "created by hotline migrate"


class NotOurs(Exception):
    """``--reset-dev`` refused: the database was not created by this project."""


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def ensure_database(settings: Settings, *, template: str | None = None) -> bool:
    """Create the configured database if it is missing; True when it was created."""
    creds = credentials(settings.database_url)
    name = creds["database"]
    admin = await asyncpg.connect(**{**creds, "database": "postgres"})
    try:
        if await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            return False
        sql = f"CREATE DATABASE {_ident(name)} ENCODING 'UTF8' TEMPLATE "
        if template:
            sql += _ident(template)
        else:
            # template0 with a UTF-8 ctype, so trigrams of CJK text are not empty.
            sql += "template0 LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'"
        await admin.execute(sql)
        await admin.execute(f"COMMENT ON DATABASE {_ident(name)} IS {_literal(MARKER)}")
        return True
    finally:
        await admin.close()


async def drop_database(server_url: str, name: str) -> None:
    """Drop a throwaway database (test modules, benchmarks), closing its connections."""
    admin = await asyncpg.connect(**{**credentials(server_url), "database": "postgres"})
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {_ident(name)} WITH (FORCE)")
    finally:
        await admin.close()


async def _created_by_us(admin: asyncpg.Connection, creds: dict[str, Any]) -> bool:
    """The marker comment; or, for a database made before markers existed, the Tortoise
    history of this project's former ``hotline`` app (nothing else writes that row)."""
    comment = await admin.fetchval(
        "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1",
        creds["database"],
    )
    if comment == MARKER:
        return True
    conn = await asyncpg.connect(**creds)
    try:
        return bool(
            await conn.fetchval(
                "SELECT to_regclass('tortoise_migrations') IS NOT NULL AND EXISTS ("
                "SELECT 1 FROM tortoise_migrations WHERE app = 'hotline' AND name = '0001_initial')"
            )
        )
    except asyncpg.PostgresError:
        return False
    finally:
        await conn.close()


async def reset_dev_database(settings: Settings) -> bool:
    """Drop the configured database so ``run_migrations`` makes it afresh; only in
    development and only a database this project created. False when there was none."""
    creds = credentials(settings.database_url)
    name = creds["database"]
    if settings.is_production:
        raise NotOurs(f"refusing to reset {name!r}: HOTLINE_ENV is production")
    admin = await asyncpg.connect(**{**creds, "database": "postgres"})
    try:
        if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            return False
        if not await _created_by_us(admin, creds):
            raise NotOurs(
                f"refusing to reset {name!r}: it was not created by `hotline migrate` "
                "(no marker); drop it yourself if you mean it"
            )
        await admin.execute(f"DROP DATABASE {_ident(name)} WITH (FORCE)")
        log.warning("database dropped for a fresh migration", database=name)
        return True
    finally:
        await admin.close()


async def ensure_app_role(settings: Settings) -> None:
    """The non-owner role the runtime connects as: no BYPASSRLS, so policies hold."""
    role = credentials(settings.app_database_url())["user"]
    password = (
        settings.database_app_password.get_secret_value()
        if settings.database_app_password
        else None
    )
    conn = await asyncpg.connect(**credentials(settings.database_url))
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role)
        if not exists:
            # another process may create it between the check and now
            with contextlib.suppress(asyncpg.DuplicateObjectError):
                await conn.execute(f"CREATE ROLE {_ident(role)} LOGIN NOBYPASSRLS")
        if password:
            await conn.execute(f"ALTER ROLE {_ident(role)} PASSWORD {_literal(password)}")
        db = _ident(credentials(settings.database_url)["database"])
        r = _ident(role)
        for sql in (
            f"GRANT CONNECT, TEMPORARY ON DATABASE {db} TO {r}",
            f"GRANT USAGE ON SCHEMA public TO {r}",
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {r}",
            f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {r}",
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA public "
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {r}",
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {r}",
        ):
            await conn.execute(sql)
    finally:
        await conn.close()


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


async def run_migrations(settings: Settings) -> None:
    await ensure_database(settings)
    config = tortoise_config(settings, url=settings.database_url, app_scoped=False)
    try:
        await tortoise_migrate(config=config)
    finally:
        await Tortoise.close_connections()
    await ensure_app_role(settings)
    log.info("migrated", database=credentials(settings.database_url)["database"])


async def analyze(settings: Settings, tables: list[str]) -> bool:
    """Refresh the planner's statistics after a bulk load (PostgreSQL's advice after
    COPY or a large INSERT … SELECT): until autovacuum gets to it, a table filled in one
    statement looks empty to the planner, and a join over it picks nested loops that
    take minutes (the demo seed's province training query: 51 s before, 0.1 s after).
    ANALYZE needs the table's owner, so this uses the owner connection; where that is
    not ours to use, autovacuum will do it later and this says so."""
    try:
        conn = await asyncpg.connect(**credentials(settings.database_url))
    except (OSError, asyncpg.PostgresError) as error:
        log.warning("analyze.skipped", reason=str(error))
        return False
    try:
        for table in tables:
            await conn.execute(f"ANALYZE {_ident(table)}")
    except asyncpg.InsufficientPrivilegeError as error:
        log.warning("analyze.skipped", reason=str(error))
        return False
    finally:
        await conn.close()
    return True

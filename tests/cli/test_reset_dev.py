"""``hotline migrate --reset-dev`` drops only a database this project created: one
``hotline migrate`` made (its marker comment) or one holding the former ``hotline`` app's
migration history; never any other database, never in production."""

from __future__ import annotations

import asyncio
import secrets
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from click.testing import CliRunner

from hotline.platform.cli import main
from hotline.platform.db.config import credentials
from hotline.platform.db.migrate import (
    NotOurs,
    drop_database,
    ensure_database,
    reset_dev_database,
)
from hotline.platform.settings import Settings, reset_settings


def _settings(services: dict[str, str], **extra: str) -> Settings:
    parts = urlsplit(services["HOTLINE_DATABASE_URL"])
    name = f"hotline_reset_{secrets.token_hex(4)}"
    url = urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, ""))
    return Settings(database_url=url, **extra)  # type: ignore[arg-type]


async def _exists(settings: Settings) -> bool:
    creds = credentials(settings.database_url)
    admin = await asyncpg.connect(**{**creds, "database": "postgres"})
    try:
        found = await admin.fetchval(
            "SELECT 1 FROM pg_database WHERE datname = $1", creds["database"]
        )
        return bool(found)
    finally:
        await admin.close()


async def _create_foreign(settings: Settings, *sql: str) -> None:
    """A database someone else made (plain CREATE DATABASE), with some content."""
    creds = credentials(settings.database_url)
    admin = await asyncpg.connect(**{**creds, "database": "postgres"})
    try:
        await admin.execute(f'CREATE DATABASE "{creds["database"]}"')
    finally:
        await admin.close()
    conn = await asyncpg.connect(**creds)
    try:
        for statement in sql:
            await conn.execute(statement)
    finally:
        await conn.close()


async def test_a_database_hotline_created_is_dropped(services: dict[str, str]) -> None:
    settings = _settings(services)
    assert await ensure_database(settings)
    assert await reset_dev_database(settings)
    assert not await _exists(settings)
    assert not await reset_dev_database(settings)  # nothing there: nothing to do


async def test_a_database_it_did_not_create_is_refused(services: dict[str, str]) -> None:
    settings = _settings(services)
    await _create_foreign(settings, "CREATE TABLE precious (id int)")
    try:
        with pytest.raises(NotOurs, match="not created by `hotline migrate`"):
            await reset_dev_database(settings)
        assert await _exists(settings)
    finally:
        await drop_database(settings.database_url, credentials(settings.database_url)["database"])


async def test_a_database_migrated_before_markers_is_recognised(services: dict[str, str]) -> None:
    settings = _settings(services)
    await _create_foreign(
        settings,
        "CREATE TABLE tortoise_migrations (app varchar(255), name varchar(255))",
        "INSERT INTO tortoise_migrations VALUES ('hotline', '0001_initial')",
    )
    assert await reset_dev_database(settings)
    assert not await _exists(settings)


async def test_production_is_refused(services: dict[str, str]) -> None:
    settings = _settings(services, env="production")
    assert await ensure_database(settings)
    try:
        with pytest.raises(NotOurs, match="production"):
            await reset_dev_database(settings)
        assert await _exists(settings)
    finally:
        await drop_database(settings.database_url, credentials(settings.database_url)["database"])


def test_the_command_refuses_with_a_message(
    services: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:

    settings = _settings(services)
    asyncio.run(_create_foreign(settings))
    monkeypatch.setenv("HOTLINE_DATABASE_URL", settings.database_url)
    reset_settings()
    try:
        result = CliRunner().invoke(main, ["migrate", "--reset-dev"])
        assert result.exit_code == 1
        assert "not created by `hotline migrate`" in result.output
        assert asyncio.run(_exists(settings))
    finally:
        monkeypatch.undo()
        reset_settings()
        asyncio.run(
            drop_database(settings.database_url, credentials(settings.database_url)["database"])
        )

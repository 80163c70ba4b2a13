"""``hotline migrate``."""

from __future__ import annotations

import asyncio

import click

from hotline.platform.db.migrate import run_migrations
from hotline.platform.settings import get_settings
from hotline.platform.storage import ensure_bucket


@click.command()
def migrate() -> None:
    """Create the database and app role if missing, apply migrations, grant the app role;
    create the evidence bucket if missing."""
    settings = get_settings()
    asyncio.run(run_migrations(settings))
    asyncio.run(ensure_bucket(settings))

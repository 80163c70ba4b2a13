"""``hotline migrate``."""

from __future__ import annotations

import asyncio

import click

from hotline.platform.db.migrate import NotOurs, reset_dev_database, run_migrations
from hotline.platform.settings import get_settings
from hotline.platform.storage import ensure_bucket


@click.command()
@click.option(
    "--reset-dev",
    is_flag=True,
    help="Development only: drop the database first (only one `hotline migrate` created) "
    "and migrate afresh.",
)
def migrate(reset_dev: bool) -> None:
    """Create the database and app role if missing, apply migrations, grant the app role;
    create the evidence bucket if missing."""
    settings = get_settings()
    if reset_dev:
        try:
            asyncio.run(reset_dev_database(settings))
        except NotOurs as refused:
            raise click.ClickException(str(refused)) from refused
    asyncio.run(run_migrations(settings))
    asyncio.run(ensure_bucket(settings))

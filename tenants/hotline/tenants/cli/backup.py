"""``hotline backup DIR`` and ``hotline restore DIR``: the database, the evidence objects
and a manifest (``hotline.platform.backup``) plus what only the domain knows: each city's
timeline chain heads, and after a restore every ticket's timeline chain verified and every
evidence object's sha256 compared with the one recorded at upload (docs/operations.md)."""

from __future__ import annotations

import asyncio
import hashlib
from collections import defaultdict
from pathlib import Path
from typing import Any

import asyncpg
import click
from tortoise import Tortoise

from hotline.platform import backup as backups
from hotline.platform.db.config import credentials, init_orm
from hotline.platform.settings import Settings, get_settings
from hotline.platform.tenancy import Scope, use_scope
from hotline.tenants.evidence.models import Evidence
from hotline.tenants.provinces.models import Tenant
from hotline.tenants.tickets.models import TimelineEvent
from hotline.tenants.tickets.timeline import verify_chain


async def chain_heads(settings: Settings) -> dict[str, dict[str, Any]]:
    """Per city: tickets, and a digest over every ticket's (id, timeline seq, head hash)."""
    connection = await asyncpg.connect(**credentials(settings.database_url))
    try:
        await connection.execute("SET row_security = off")
        rows = await connection.fetch(
            "SELECT tenant_id, id, timeline_seq, timeline_hash FROM tickets ORDER BY tenant_id, id"
        )
    finally:
        await connection.close()
    digests: dict[str, Any] = defaultdict(hashlib.sha256)
    tickets: dict[str, int] = defaultdict(int)
    for row in rows:
        city = str(row["tenant_id"])
        digests[city].update(f"{row['id']}:{row['timeline_seq']}:{row['timeline_hash']}\n".encode())
        tickets[city] += 1
    return {city: {"tickets": tickets[city], "heads": d.hexdigest()} for city, d in digests.items()}


async def verify_restored(settings: Settings, manifest: dict[str, Any]) -> list[str]:
    """Chain heads as in the manifest, every timeline chain unbroken, every evidence
    object's sha256 the one its row recorded at upload."""
    problems: list[str] = []
    heads = await chain_heads(settings)
    if heads != manifest.get("timeline_heads"):
        problems.append("timeline chain heads differ from the backup's")
    objects = manifest["objects"]
    await init_orm(settings)
    try:
        with use_scope(Scope.platform()):
            cities = await Tenant.all().order_by("id")
        for city in cities:
            with use_scope(Scope.city(city.id, city.province_id)):
                events = await TimelineEvent.all().order_by("ticket_id", "seq")
                by_ticket: dict[int, list[TimelineEvent]] = defaultdict(list)
                for event in events:
                    by_ticket[event.ticket_id].append(event)
                for ticket_id, chain in by_ticket.items():
                    if not verify_chain(chain):
                        problems.append(
                            f"city {city.slug}: ticket {ticket_id}'s timeline chain breaks"
                        )
                for item in await Evidence.filter(object_key__not_isnull=True):
                    found = objects.get(item.object_key)
                    if found is None:
                        problems.append(f"evidence {item.id}: object missing")
                    elif item.status == "verified" and found["sha256"] != item.sha256:
                        problems.append(f"evidence {item.id}: sha256 differs")
    finally:
        await Tortoise.close_connections()
    return problems


@click.command()
@click.argument("directory", type=click.Path(path_type=Path))
@click.option(
    "--pg-bin",
    type=click.Path(path_type=Path),
    default=None,
    help="Directory of pg_dump (default: HOTLINE_PG_BIN, then PATH).",
)
def backup(directory: Path, pg_bin: Path | None) -> None:
    """Back up the database, the evidence bucket and a manifest into DIRECTORY (new)."""
    settings = get_settings()

    async def work() -> dict[str, Any]:
        heads = await chain_heads(settings)
        return await backups.backup(
            settings, directory, extra={"timeline_heads": heads}, bin_dir=pg_bin
        )

    manifest = asyncio.run(work())
    click.echo(
        f"backed up {sum(manifest['counts'].values())} rows in {len(manifest['counts'])} tables"
        f" and {len(manifest['objects'])} objects to {directory}"
    )


@click.command()
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--pg-bin",
    type=click.Path(path_type=Path),
    default=None,
    help="Directory of pg_restore (default: HOTLINE_PG_BIN, then PATH).",
)
def restore(directory: Path, pg_bin: Path | None) -> None:
    """Restore DIRECTORY into the (empty) database and bucket of HOTLINE_*, then compare
    with the manifest: row counts, chain heads, timeline chains, object sha256."""
    settings = get_settings()

    async def work() -> backups.Report:
        manifest, report = await backups.restore(settings, directory, bin_dir=pg_bin)
        if not report.problems:
            report.problems += await verify_restored(settings, manifest)
        return report

    report = asyncio.run(work())
    if report.problems:
        raise click.ClickException("restored with differences: " + "; ".join(report.problems))
    click.echo(
        f"restored {report.rows} rows in {report.tables} tables and {report.objects} objects;"
        " counts, timeline chains and object digests match the backup"
    )

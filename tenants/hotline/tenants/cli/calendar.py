"""``hotline calendar import FILE``: publish a year's official arrangement from a shell.

Runs as the platform (like ``hotline province``); the file format is in docs/calendar.md.
"""

from __future__ import annotations

from pathlib import Path

import click

from hotline.platform.tenancy import Scope, use_scope
from hotline.tenants.cli import _run
from hotline.tenants.kernel.errors import NotFound
from hotline.tenants.provinces.calendar_years import import_calendar_year, parse_notice
from hotline.tenants.provinces.models import Province


@click.group()
def calendar() -> None:
    """Working calendars."""


@calendar.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--province",
    "province_codes",
    multiple=True,
    help="A province's code or slug; repeat for several. Default: every province.",
)
def import_year(file: Path, province_codes: tuple[str, ...]) -> None:
    """Publish the State Council's holiday arrangement of one year (JSON FILE).

    Replaces the provinces' own entries of that year, keeps the cities' overrides, and
    enqueues the recompute of provisional deadlines of open work in every city."""
    text = file.read_text(encoding="utf-8")

    async def work() -> list[str]:
        arrangement = parse_notice(text)
        with use_scope(Scope.platform()):
            provinces = await Province.all().order_by("code")
        if province_codes:
            wanted = set(province_codes)
            chosen = [p for p in provinces if p.code in wanted or p.slug in wanted]
            known = {p.code for p in chosen} | {p.slug for p in chosen}
            if unknown := sorted(wanted - known):
                raise NotFound(f"province {', '.join(unknown)}", field="province")
            provinces = chosen
        lines = []
        for province in provinces:
            done = await import_calendar_year(
                actor=None, province_id=province.id, arrangement=arrangement
            )
            lines.append(
                f"{done.year}: {done.holidays} holiday dates, {done.workdays} make-up "
                f"workdays -> province {province.code} {province.name} "
                f"({done.jobs} recompute jobs)"
            )
        return lines

    for line in _run(work):
        click.echo(line)

"""``hotline stats recompute --city X --from D --to D``: rebuild a city's daily
aggregates from the work orders (repair, or history from before statistics existed).

Runs in the city's own scope, like the worker (docs/statistics.md)."""

from __future__ import annotations

import time
from datetime import date

import click

from hotline.platform.tenancy import Scope, use_scope
from hotline.tenants.cli import _run
from hotline.tenants.kernel.errors import Invalid, NotFound
from hotline.tenants.provinces.models import Tenant
from hotline.tenants.statistics.aggregates import city_clock, recompute_range


@click.group()
def stats() -> None:
    """Statistics."""


def _day(value: str, name: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)", param_hint=name) from exc


@stats.command("recompute")
@click.option("--city", "city", required=True, help="The city's code or slug.")
@click.option("--from", "first", required=True, help="First city-local day, YYYY-MM-DD.")
@click.option("--to", "last", required=True, help="Last city-local day, YYYY-MM-DD.")
def recompute(city: str, first: str, last: str) -> None:
    """Recompute every ended day of [FROM, TO] of the city (today is always live)."""
    start, end = _day(first, "--from"), _day(last, "--to")

    async def work() -> int:
        if end < start:
            raise Invalid("--to is before --from", field="to")
        with use_scope(Scope.platform()):
            query = Tenant.filter(code=city) if city.isdigit() else Tenant.filter(slug=city)
            tenant = await query.first()
        if tenant is None:
            raise NotFound("city", field="city")
        with use_scope(Scope.city(tenant.id, tenant.province_id)):
            return await recompute_range(await city_clock(tenant), start, end)

    started = time.monotonic()
    days = _run(work)
    took = time.monotonic() - started
    click.echo(f"{days} days recomputed for {city} in {took:.1f} s")

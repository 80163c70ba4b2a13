"""``hotline province|tenant|user|seed|token|permissions``: maintenance from a shell.

These run as the platform itself (a system actor), so they are for operators with
shell access to a deployment, not for end users.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import click
from tortoise import Tortoise

from hotline.platform.db.config import init_orm
from hotline.platform.redis import close_redis
from hotline.platform.settings import get_settings
from hotline.platform.tenancy import Scope, use_scope
from hotline.tenants.kernel.access import Actor, permissions_markdown
from hotline.tenants.kernel.errors import DomainError

T = TypeVar("T")
SYSTEM = Actor(user_id=None, platform_operator=True, username="system")


def _run(work: Callable[[], Awaitable[T]]) -> T:
    async def main() -> T:
        await init_orm(get_settings())
        try:
            return await work()
        finally:
            await close_redis()
            await Tortoise.close_connections()

    try:
        return asyncio.run(main())
    except DomainError as exc:
        where = f" ({exc.field})" if exc.field else ""
        raise click.ClickException(f"{exc.code.value}{where}: {exc.message}") from exc


@click.group()
def province() -> None:
    """Provinces."""


@province.command("create")
@click.option("--code", required=True, help="GB/T 2260 code, e.g. 370000.")
@click.option("--slug", required=True)
@click.option("--name", required=True)
@click.option("--timezone", default="Asia/Shanghai", show_default=True)
def province_create(code: str, slug: str, name: str, timezone: str) -> None:
    """Create a province (seeded with the official national calendar)."""
    from hotline.tenants.provinces.calendar import seed_official_calendar
    from hotline.tenants.provinces.service import create_province

    async def work() -> str:
        with use_scope(Scope.platform()):
            row = await create_province(
                actor=SYSTEM, code=code, slug=slug, name=name, timezone=timezone
            )
        with use_scope(Scope.province(row.id)):
            await seed_official_calendar(province_id=row.id)
        return f"province {row.code} {row.name} (id {row.id})"

    click.echo(_run(work))


@click.group()
def tenant() -> None:
    """Cities (tenants)."""


@tenant.command("create")
@click.option("--province", "province_code", required=True, help="The province's code.")
@click.option("--code", required=True, help="GB/T 2260 code, e.g. 370800.")
@click.option("--slug", required=True)
@click.option("--name", required=True)
@click.option("--prefix", required=True, help="Ticket number prefix, e.g. JNG.")
def tenant_create(province_code: str, code: str, slug: str, name: str, prefix: str) -> None:
    """Create a city with its hotline center."""
    from hotline.tenants.provinces.models import Province
    from hotline.tenants.provinces.service import create_tenant

    async def work() -> str:
        with use_scope(Scope.platform()):
            prov = await Province.get_or_none(code=province_code)
            if prov is None:
                raise click.ClickException(f"no province {province_code}")
            row = await create_tenant(
                actor=SYSTEM,
                province_id=prov.id,
                code=code,
                slug=slug,
                name=name,
                number_prefix=prefix,
            )
        host = f"{row.slug}.{get_settings().base_domain}"
        return f"city {row.code} {row.name} (id {row.id}, host {host})"

    click.echo(_run(work))


@click.group()
def user() -> None:
    """Users."""


@user.command("create")
@click.option("--username", required=True)
@click.option("--name", "display_name", required=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--email", default=None)
@click.option("--operator", is_flag=True, help="A platform operator.")
@click.option(
    "--province-admin", "province_code", default=None, help="Province admin of this code."
)
@click.option("--tenant", "tenant_code", default=None, help="Member of this city (code or slug)…")
@click.option("--role", default=None, help="… with this role.")
def user_create(
    username: str,
    display_name: str,
    password: str,
    email: str | None,
    operator: bool,
    province_code: str | None,
    tenant_code: str | None,
    role: str | None,
) -> None:
    """Create a user, optionally a province admin or a member of a city."""
    from hotline.tenants.accounts import memberships, users
    from hotline.tenants.kernel.roles import Role
    from hotline.tenants.provinces.models import Province, Tenant

    if (tenant_code is None) != (role is None):
        raise click.UsageError("--tenant and --role go together")

    async def work() -> str:
        with use_scope(Scope.platform()):
            row = await users.create_user(
                actor=None,
                username=username,
                display_name=display_name,
                password=password,
                email=email,
                platform_operator=operator,
            )
            if province_code:
                prov = await Province.get(code=province_code)
                await memberships.grant_province_role(
                    actor=SYSTEM, user_id=row.id, province_id=prov.id
                )
            city = await Tenant.get_or_none(slug=tenant_code) or await Tenant.get_or_none(
                code=tenant_code
            )
        if tenant_code and role:
            if city is None:
                raise click.ClickException(f"no city {tenant_code}")
            admin = Actor(
                user_id=None,
                tenant_id=city.id,
                province_id=city.province_id,
                province_admin_of=frozenset({city.province_id}),
            )
            with use_scope(Scope.city(city.id, city.province_id)):
                await memberships.grant_membership(actor=admin, user_id=row.id, role=Role(role))
        return f"user {row.username} (id {row.id})"

    click.echo(_run(work))


@click.command()
@click.option("--demo", is_flag=True, required=True, help="Seed the demo province (idempotent).")
def seed(demo: bool) -> None:
    """Seed the demo province Shandong with Jinan and Dezhou."""
    from hotline.tenants.seed.data import DEMO_PASSWORD
    from hotline.tenants.seed.demo import seed_demo

    def progress(step: str) -> None:
        click.echo(f"  seeding {step}…")

    report = _run(lambda: seed_demo(progress=progress))
    click.echo(f"Demo province {report.province}: {', '.join(report.cities)}")
    click.echo(f"  ({report.created} rows created this time)")
    for line in report.routing:
        click.echo(f"  {line}")
    click.echo(f"Demo users (password {DEMO_PASSWORD!r}):")
    for username, role, where in report.users:
        click.echo(f"  {username:<22} {role:<18} {where}")
    click.echo("Log in with the `login` mutation, or `hotline token --user NAME --tenant CITY`")
    click.echo("(prints the headers to paste into GraphiQL); pick a city with")
    click.echo('the header "X-Hotline-Tenant: jinan" (or dezhou).')


@click.command()
@click.option("--user", "username", required=True)
@click.option(
    "--tenant",
    default=None,
    help="City slug for X-Hotline-Tenant (e.g. jinan); refused unless USER works there.",
)
@click.option("--minutes", type=int, default=None, help="Lifetime; default the configured one.")
@click.option("--raw", is_flag=True, help="Print the bare token (scripts).")
def token(username: str, tenant: str | None, minutes: int | None, raw: bool) -> None:
    """Print the request headers (JSON, ready to paste into GraphiQL) for USER."""
    import json
    from datetime import timedelta

    from hotline.tenants.accounts.sessions import issue_token_for

    async def work() -> str:
        with use_scope(Scope.platform()):
            return await issue_token_for(
                username=username,
                ttl=timedelta(minutes=minutes or get_settings().access_token_minutes),
                tenant_ref=tenant,
            )

    access = _run(work)
    if raw:
        click.echo(access)
        return
    headers = {"Authorization": f"Bearer {access}"}
    if tenant:
        headers["X-Hotline-Tenant"] = tenant
    click.echo(json.dumps(headers))


@click.command()
@click.option("--output", "-o", type=click.Path(path_type=Path), default=None)
def permissions(output: Path | None) -> None:
    """Write the role × action table (docs/permissions.md)."""
    text = permissions_markdown()
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}")

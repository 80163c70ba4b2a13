"""The ``hotline`` command: every subcommand's help, schema export, the permissions doc,
and the demo seed (idempotent, realistic trees)."""

from __future__ import annotations

import asyncio
import json
import sys
from asyncio.subprocess import PIPE
from importlib.metadata import entry_points
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from hotline.platform.cli import main
from hotline.platform.settings import Settings
from hotline.platform.tenancy import Scope, use_scope
from hotline.tenants.departments.models import Department, DepartmentKind
from hotline.tenants.provinces.models import Tenant
from hotline.tenants.seed.demo import seed_demo

ROOT = Path(__file__).resolve().parents[2]
COMMANDS = sorted({ep.name for ep in entry_points(group="hotline.commands")})


def _paths() -> list[list[str]]:
    """Every command path: ``["serve"]``, ``["schema", "export"]``…"""
    paths: list[list[str]] = []
    for name in COMMANDS:
        command = main.get_command(click.Context(main), name)
        assert command is not None, name
        paths.append([name])
        if isinstance(command, click.Group):
            paths += [[name, sub] for sub in command.list_commands(click.Context(command))]
    return paths


def test_the_issue_commands_exist() -> None:
    assert {
        "run",
        "serve",
        "worker",
        "migrate",
        "province",
        "tenant",
        "user",
        "seed",
        "schema",
        "token",
        "permissions",
    } <= set(COMMANDS)
    paths = _paths()
    for nested in (["province", "create"], ["tenant", "create"], ["user", "create"]):
        assert nested in paths
    assert ["schema", "export"] in paths


def test_root_help_lists_every_command() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0, result.output
    for name in COMMANDS:
        assert name in result.output


@pytest.mark.parametrize("path", _paths(), ids=" ".join)
def test_help(path: list[str]) -> None:
    result = CliRunner().invoke(main, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Usage: ")


def test_schema_export_writes_the_sdl(tmp_path: Path) -> None:
    out = tmp_path / "schema.graphql"
    result = CliRunner().invoke(main, ["schema", "export", "-o", str(out)])
    assert result.exit_code == 0, result.output
    sdl = out.read_text(encoding="utf-8")
    for operation in (
        "me: Me!",
        "provinces:",
        "tenants(",
        "tenant(code: String!)",
        "departments(",
        "calendar: Calendar!",
        "login(",
        "refreshToken(",
        "logout(",
        "createTenant(",
        "updateTenant(",
        "setCalendarDays(",
        "setProvinceSla(",
        "createDepartment(",
        "moveDepartment(",
        "deactivateDepartment(",
        "createUser(",
        "grantMembership(",
        "revokeMembership(",
        "createApiKey(",
        "revokeApiKey(",
    ):
        assert operation in sdl, operation
    stdout = CliRunner().invoke(main, ["schema", "export"])
    assert stdout.output == sdl


def test_permissions_doc_is_generated() -> None:
    result = CliRunner().invoke(main, ["permissions"])
    assert result.exit_code == 0, result.output
    doc = (ROOT / "docs" / "permissions.md").read_text(encoding="utf-8")
    assert result.output == doc, "regenerate: .venv/bin/hotline permissions -o docs/permissions.md"


async def test_demo_seed_is_idempotent_and_realistic(db: Settings) -> None:
    first = await seed_demo()
    assert first.created > 0
    second = await seed_demo()
    assert second.created == 0
    assert second.cities == first.cities
    with use_scope(Scope.platform()):
        cities = {t.slug: t for t in await Tenant.filter(slug__in=["jinan", "dezhou"])}
    assert {(t.slug, t.code) for t in cities.values()} == {
        ("jinan", "370100"),
        ("dezhou", "371400"),
    }
    for tenant in cities.values():
        with use_scope(Scope.city(tenant.id, tenant.province_id)):
            kinds = [d.kind for d in await Department.all()]
            duty = await Department.filter(kind=DepartmentKind.DUTY_ROOM).first()
        count = {kind: kinds.count(kind) for kind in DepartmentKind}
        assert count[DepartmentKind.CENTER] == 1
        assert count[DepartmentKind.BUREAU] >= 10
        assert count[DepartmentKind.DISTRICT] >= 3
        assert count[DepartmentKind.STREET] >= count[DepartmentKind.DISTRICT]
        assert count[DepartmentKind.COMMUNITY] >= count[DepartmentKind.STREET]
        assert count[DepartmentKind.UTILITY] >= 3
        assert count[DepartmentKind.DUTY_ROOM] == 1
        assert duty is not None
        assert duty.is_duty_room
    assert {u for u, _, _ in first.users} >= {"operator", "shandong_admin", "jinan_admin"}


async def test_token_prints_the_headers_to_paste(db: Settings) -> None:
    await seed_demo()
    hotline = str(Path(sys.executable).parent / "hotline")

    async def run(*args: str) -> tuple[int, str]:
        process = await asyncio.create_subprocess_exec(
            hotline, "token", *args, stdout=PIPE, stderr=PIPE
        )
        output, errors = await process.communicate()
        return process.returncode or 0, (output or errors).decode()

    code, output = await run("--user", "jinan_agent", "--tenant", "jinan")
    assert code == 0, output
    headers = json.loads(output)
    assert set(headers) == {"Authorization", "X-Hotline-Tenant"}
    assert headers["X-Hotline-Tenant"] == "jinan"
    scheme, token = headers["Authorization"].split(" ")
    assert scheme == "Bearer"
    assert token.count(".") == 2  # a JWT
    code, output = await run("--user", "jinan_agent", "--raw")
    assert code == 0, output
    assert output.strip().count(".") == 2
    assert not output.startswith("{")
    code, output = await run("--user", "nobody_at_all")
    assert code != 0
    assert "NOT_FOUND" in output

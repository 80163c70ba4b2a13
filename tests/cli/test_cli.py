"""The ``hotline`` command: every subcommand's help, schema export, the permissions doc,
and the demo seed (idempotent, realistic trees)."""

from __future__ import annotations

from importlib.metadata import entry_points
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from hotline.platform.cli import main

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

"""The ``hotline`` command: subcommands come from the ``hotline.commands`` entry points.

Each part declares its own commands, so the root knows none of them and no part
imports one above it (docs/architecture.md §2).
"""

from __future__ import annotations

from importlib.metadata import entry_points

import click

from hotline.platform.logging import configure_logging


class EntryPointGroup(click.Group):
    """Loads subcommands lazily, so ``hotline serve --help`` imports only ``serve``."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({ep.name for ep in entry_points(group="hotline.commands")})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        for ep in entry_points(group="hotline.commands", name=cmd_name):
            command = ep.load()
            if not isinstance(command, click.Command):
                raise TypeError(f"entry point {ep.value} is not a click command")
            return command
        return None


@click.group(cls=EntryPointGroup)
@click.version_option(package_name="hotline")
def main() -> None:
    """Hotline: the 12345 citizen service hotline platform."""
    configure_logging()

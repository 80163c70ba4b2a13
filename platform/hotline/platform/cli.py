"""The ``hotline`` command: subcommands come from the ``hotline.commands`` entry points.

Each part declares its own commands, so the root knows none of them and no part
imports one above it (docs/architecture.md §2).
"""

from __future__ import annotations

from importlib.metadata import entry_points

import click

from hotline.platform.logging import configure_logging
from hotline.platform.stackenv import use_running_stack

# These start the embedded stack themselves (or are its children, with the URLs set).
_OWN_STACK = frozenset({"run"})


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
@click.pass_context
def main(ctx: click.Context) -> None:
    """Hotline: the 12345 citizen service hotline platform.

    With no HOTLINE_DATABASE_URL (REDIS_URL, S3_ENDPOINT) set, commands use the embedded
    stack that `hotline run` keeps running in HOTLINE_HOME (default .hotline/), if any."""
    configure_logging()
    if ctx.invoked_subcommand not in _OWN_STACK:
        use_running_stack()

"""``hotline serve`` and ``hotline schema export``."""

from __future__ import annotations

from pathlib import Path

import click

from hotline.platform.settings import get_settings


@click.command()
@click.option("--host", default=None, help="Default: HOTLINE_HOST (127.0.0.1).")
@click.option("--port", type=int, default=None, help="Default: HOTLINE_PORT (8000).")
@click.option("--workers", type=int, default=1, show_default=True)
@click.option("--reload", is_flag=True, help="Restart on code changes (development).")
def serve(host: str | None, port: int | None, workers: int, reload: bool) -> None:
    """Serve the API (GraphQL at /graphql) with uvicorn."""
    import uvicorn

    settings = get_settings()
    problems = settings.production_problems()
    if problems:
        raise click.ClickException("refusing to start: " + "; ".join(problems))
    uvicorn.run(
        "hotline.schema.app:app",
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        reload=reload,
        # The app applies X-Forwarded-* itself, from HOTLINE_TRUSTED_PROXIES only
        # (hotline.schema.app); uvicorn must not apply them a second time.
        proxy_headers=False,
        server_header=False,
        log_level=settings.log_level.lower(),
        # SIGTERM: stop accepting, finish in-flight requests within this, then close
        timeout_graceful_shutdown=max(1, round(settings.shutdown_grace_seconds)),
    )


@click.group()
def schema() -> None:
    """The GraphQL schema."""


@schema.command("export")
@click.option(
    "--output", "-o", type=click.Path(path_type=Path), default=None, help="Default: stdout."
)
def export(output: Path | None) -> None:
    """Write the schema as SDL."""
    from hotline.schema.schema import build_schema

    sdl = build_schema().as_str() + "\n"
    if output is None:
        click.echo(sdl, nl=False)
    else:
        output.write_text(sdl, encoding="utf-8")
        click.echo(f"wrote {output}")

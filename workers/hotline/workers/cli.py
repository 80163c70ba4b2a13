"""``hotline worker``."""

from __future__ import annotations

import time

import click
import structlog

log = structlog.get_logger(__name__)
RECONNECT_MAX_SECONDS = 30.0


@click.command()
@click.option("--burst", is_flag=True, help="Process the queue, then exit.")
@click.option(
    "--queue",
    type=click.Choice(["default", "bulk"]),
    default="default",
    show_default=True,
    help="bulk: only the bulk queue (with HOTLINE_BULK_QUEUE=true; docs/operations.md).",
)
def worker(burst: bool, queue: str) -> None:
    """Run an arq worker with hotline.workers.settings.WorkerSettings.

    When Redis goes away (or cannot be reached at start) the worker does not exit: it
    reconnects with backoff (1 s, 2 s … 30 s) and carries on once Redis is back.
    """
    from hotline.platform.faults import is_transient
    from hotline.workers.runner import run
    from hotline.workers.settings import BulkWorkerSettings, WorkerSettings

    settings_class = BulkWorkerSettings if queue == "bulk" else WorkerSettings

    delay = 1.0
    while True:
        started = time.monotonic()
        try:
            run(settings_class, burst=burst)
            return
        except Exception as exc:
            if burst or not is_transient(exc):
                raise
            if time.monotonic() - started > 60:
                delay = 1.0
            log.warning(
                "worker.redis_unavailable", error=type(exc).__name__, reconnect_in_seconds=delay
            )
            time.sleep(delay)
            delay = min(RECONNECT_MAX_SECONDS, delay * 2)

"""``hotline worker``."""

from __future__ import annotations

import click


@click.command()
@click.option("--burst", is_flag=True, help="Process the queue, then exit.")
def worker(burst: bool) -> None:
    """Run an arq worker with hotline.workers.settings.WorkerSettings."""
    from arq.worker import run_worker

    from hotline.workers.settings import WorkerSettings

    run_worker(WorkerSettings, burst=burst)  # type: ignore[arg-type]

"""Two cities with people and a GraphQL client over the real app (tests/tickets_api), a
real burst worker, and Prometheus text parsed into samples."""

from __future__ import annotations

from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from hotline.platform.jobs import pool, queue_name
from hotline.workers.relay import relay_outbox
from hotline.workers.runner import Worker
from hotline.workers.settings import WorkerSettings
from tests.tickets_api.conftest import world  # noqa: F401  (the fixture)


async def drain_outbox() -> int:
    """Relay the due outbox rows and run a real burst worker until the queue is empty."""
    handed = await relay_outbox({})
    worker = Worker(
        functions=WorkerSettings.functions,
        queue_name=queue_name(),
        redis_pool=await pool(),
        burst=True,
        max_burst_jobs=50,
        handle_signals=False,
        poll_delay=0.05,
        keep_result=60,
    )
    await worker.async_run()
    return handed


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of a Prometheus text exposition, keyed by name and labels."""
    out: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return out


def value(found: dict[Any, float], name: str, **labels: str) -> float | None:
    return found.get((name, frozenset(labels.items())))

"""Bulk work on its own queue (HOTLINE_BULK_QUEUE): enqueued there, run by the bulk
worker (real arq worker), never by the default one; off, everything stays on one queue."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hotline.platform import jobs
from hotline.platform.settings import get_settings
from hotline.workers.runner import Worker
from hotline.workers.settings import BulkWorkerSettings, WorkerSettings

if TYPE_CHECKING:
    from tests.tickets_api.conftest import World


def test_one_queue_unless_asked(world: World) -> None:
    settings = get_settings()
    assert not settings.bulk_queue
    assert jobs.queue_for("process_evidence") == jobs.queue_name()
    assert BulkWorkerSettings.cron_jobs == []
    assert {_name(f) for f in BulkWorkerSettings.functions} == {
        _name(f) for f in WorkerSettings.functions
    }


def _name(task: Any) -> str:
    """A task's name: a plain coroutine function, or arq's ``func(…)`` wrapper."""
    return str(getattr(task, "name", None) or task.__name__)


async def _burst(queue: str) -> Worker:
    worker = Worker(
        functions=WorkerSettings.functions,
        queue_name=queue,
        redis_pool=await jobs.pool(),
        burst=True,
        max_burst_jobs=10,
        handle_signals=False,
        poll_delay=0.05,
        keep_result=60,
    )
    await worker.async_run()
    return worker


async def test_bulk_jobs_go_to_the_bulk_queue(world: World) -> None:
    settings = get_settings()
    settings.bulk_queue = True
    try:
        bulk = jobs.queue_name(bulk=True)
        assert jobs.queue_for("process_evidence") == bulk
        assert jobs.queue_for("deliver_batch") == jobs.queue_name()
        # a statistics refresh (bulk) and a ping (latency-sensitive)
        refresh = await jobs.enqueue("refresh_statistics", tenant_id=world.alpha.tenant.id)
        ping = await jobs.enqueue("ping", tenant_id=world.alpha.tenant.id)
        assert refresh is not None
        assert ping is not None
        default_worker = await _burst(jobs.queue_name())
        assert default_worker.jobs_complete == 1  # the ping only
        assert await refresh.status() != "complete"
        bulk_worker = await _burst(bulk)
        assert bulk_worker.jobs_complete == 1
        assert (await refresh.result_info()) is not None
    finally:
        settings.bulk_queue = False

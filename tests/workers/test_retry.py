"""Jobs retry transient failures with backoff and stop on permanent ones, in a real arq
worker: the failures are real (a refused TCP connection, a PostgreSQL connection
terminated under the job), only the test tasks are test-only."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
from arq.jobs import Job, JobStatus
from arq.worker import func
from tortoise import connections

from hotline.platform.jobs import enqueue, pool, queue_name
from hotline.platform.settings import Settings, get_settings, reset_settings
from hotline.platform.tenancy import current_scope
from hotline.tenants.kernel.errors import NotFound
from hotline.workers.retry import RETRYING, backoff_seconds, retrying
from hotline.workers.runner import Worker
from hotline.workers.scoped import tenant_job
from hotline.workers.settings import WorkerSettings

if TYPE_CHECKING:
    from tests.workers.conftest import World


def _closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


CLOSED_PORT = _closed_port()
tries: dict[str, list[int]] = {}


@tenant_job
async def reach_service(ctx: dict[str, Any], *, label: str, fail_tries: int) -> dict[str, Any]:
    """Connects to a closed port on the first ``fail_tries`` tries (a real refused
    connection), then succeeds; records each try and the city scope it ran in."""
    tries.setdefault(label, []).append(ctx["job_try"])
    if ctx["job_try"] <= fail_tries:
        _, writer = await asyncio.open_connection("127.0.0.1", CLOSED_PORT)
        writer.close()
    return {"job_try": ctx["job_try"], "tenant_id": current_scope().tenant_id}


@tenant_job
async def lose_database(ctx: dict[str, Any], *, label: str) -> int:
    """First try: PostgreSQL terminates the job's own connection mid-query."""
    tries.setdefault(label, []).append(ctx["job_try"])
    conn = connections.get("default")
    if ctx["job_try"] == 1:
        await conn.execute_query("SELECT pg_terminate_backend(pg_backend_pid())")
    _, rows = await conn.execute_query("SELECT 41 + 1 AS answer")
    return int(rows[0]["answer"])


@tenant_job
async def refuse(ctx: dict[str, Any], *, label: str) -> None:
    """A permanent failure: our own typed domain error."""
    tries.setdefault(label, []).append(ctx["job_try"])
    raise NotFound("ticket")


@retrying
async def broken(ctx: dict[str, Any], *, label: str, tenant_id: int | None = None) -> None:
    """A programming error is permanent too."""
    tries.setdefault(label, []).append(ctx["job_try"])
    raise KeyError("missing")


@pytest.fixture(scope="module", autouse=True)
def quick_backoff(db: Settings) -> Iterator[None]:
    env = {"HOTLINE_JOB_RETRY_BASE_SECONDS": "0.05", "HOTLINE_JOB_MAX_TRIES": "4"}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    reset_settings()
    yield
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    reset_settings()


async def _run(*names: str) -> None:
    functions: dict[str, Any] = {
        "reach_service": reach_service,
        "lose_database": lose_database,
        "refuse": refuse,
        "broken": broken,
    }
    worker = Worker(
        functions=[func(functions[n], name=n) for n in names],
        queue_name=queue_name(),
        redis_pool=await pool(),
        burst=True,
        handle_signals=False,
        poll_delay=0.02,
        keep_result=60,
        max_tries=get_settings().job_max_tries,
    )
    await worker.async_run()


async def _outcome(job: Job | None) -> Any:
    assert job is not None
    info = await job.result_info()
    assert info is not None
    assert await job.status() == JobStatus.complete
    return info


async def test_a_refused_connection_is_retried_until_it_succeeds(world: World) -> None:
    job = await enqueue("reach_service", tenant_id=world.alpha.id, label="refused", fail_tries=2)
    await _run("reach_service")
    info = await _outcome(job)
    assert info.success, info.result
    assert info.result == {"job_try": 3, "tenant_id": world.alpha.id}
    assert tries["refused"] == [1, 2, 3]


async def test_a_terminated_database_connection_is_retried(world: World) -> None:
    job = await enqueue("lose_database", tenant_id=world.alpha.id, label="db")
    await _run("lose_database")
    info = await _outcome(job)
    assert info.success, info.result
    assert info.result == 42
    assert tries["db"] == [1, 2]


async def test_a_transient_failure_stops_at_max_tries_with_the_real_error(world: World) -> None:
    job = await enqueue("reach_service", tenant_id=world.alpha.id, label="down", fail_tries=99)
    await _run("reach_service")
    info = await _outcome(job)
    assert not info.success
    assert isinstance(info.result, ConnectionRefusedError)
    assert tries["down"] == [1, 2, 3, 4]


@pytest.mark.parametrize(("task", "error"), [("refuse", NotFound), ("broken", KeyError)])
async def test_permanent_failures_are_not_retried(
    world: World, task: str, error: type[Exception]
) -> None:
    job = await enqueue(task, tenant_id=world.alpha.id, label=task)
    await _run(task)
    info = await _outcome(job)
    assert not info.success
    assert isinstance(info.result, error)
    assert tries[task] == [1]


def test_backoff_doubles_and_is_capped(quick_backoff: None) -> None:
    assert [backoff_seconds(n) for n in (1, 2, 3)] == [0.05, 0.1, 0.2]
    assert backoff_seconds(40) == get_settings().job_retry_max_seconds


def test_every_registered_task_retries() -> None:
    tasks = [
        *(getattr(f, "coroutine", f) for f in WorkerSettings.functions),  # func(…) or plain
        *(c.coroutine for c in WorkerSettings.cron_jobs),
    ]
    assert len(tasks) >= 12
    unwrapped = [t.__name__ for t in tasks if not getattr(t, RETRYING, False)]
    assert unwrapped == []

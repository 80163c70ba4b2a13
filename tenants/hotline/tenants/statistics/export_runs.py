"""An export's runs (docs/statistics.md, "A worker that dies"): each run **claims** the
row (one live run at a time), proves it is alive with a **heartbeat**, and **releases**
the row when it stops without finishing (cancelled, a transient failure arq retries);
the stale-job sweep sends again what waits — a queued row whose enqueue was lost, and a
running row whose heartbeat stopped (a worker killed hard, a lost machine) — under a job
id stable for that attempt, and fails a row after ``MAX_ATTEMPTS`` runs with the reason
the requester reads.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import structlog

from hotline.platform import clock, jobs
from hotline.platform.tenancy import ScopeKind, current_scope
from hotline.tenants.statistics.export_files import announce_row
from hotline.tenants.statistics.models import ExportJob

# A running export writes its heartbeat every HEARTBEAT_SECONDS (whatever it is doing:
# the first FETCH of a big selection sorts for minutes); one silent for STALE_RUNNING
# has died. The bound is well above the beat so a busy database is not taken for a
# dead worker.
HEARTBEAT_SECONDS = 60.0
STALE_RUNNING = timedelta(minutes=10)
MAX_ATTEMPTS = 3  # runs started; the sweep fails the export after the last one stops
INTERRUPTED = "the export stopped {attempts} times before it finished; ask for it again"
log = structlog.get_logger(__name__)


class ExportStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


def job_id(export_id: int, attempts: int = 0) -> str:
    """``export:<id>`` for the first run, ``export:<id>:retry<n>`` for the run after the
    n-th stopped one: stable per attempt, so however often the sweep sends it, arq runs
    it once; and a new id per attempt, so an id arq still holds (a killed worker's job
    stays in arq's queue until its in-progress mark expires, an hour) never blocks it."""
    return f"export:{export_id}" if attempts == 0 else f"export:{export_id}:retry{attempts}"


_CLAIM = """
UPDATE export_jobs SET status = 'running', rows_done = 0, attempts = attempts + 1,
       heartbeat_at = $2
WHERE id = $1 AND (status = 'queued'
                   OR (status = 'running' AND coalesce(heartbeat_at, created_at) < $3))
RETURNING attempts"""


async def claim(export_id: int) -> int | None:
    """Start a run: the attempt's number, or None when the export is done, failed or
    has a live run (its heartbeat is recent) — then this run writes nothing."""
    now = clock.now()
    rows = await ExportJob._meta.db.execute_query_dict(
        _CLAIM, [export_id, now, now - STALE_RUNNING]
    )
    return int(rows[0]["attempts"]) if rows else None


async def release(export_id: int, attempt: int) -> None:
    """The run stops without finishing (cancelled, or failing in a way arq retries): the
    row waits again, so the next run — arq's retry, or the sweep's — claims it at once."""
    await (
        ExportJob.across_tenants()
        .filter(id=export_id, attempts=attempt, status=ExportStatus.RUNNING.value)
        .update(status=ExportStatus.QUEUED.value, heartbeat_at=None)
    )


async def _beat(export_id: int, attempt: int) -> None:
    while True:
        await asyncio.sleep(HEARTBEAT_SECONDS)
        try:
            await (
                ExportJob.across_tenants()
                .filter(id=export_id, attempts=attempt, status=ExportStatus.RUNNING.value)
                .update(heartbeat_at=clock.now())
            )
        except Exception as exc:  # a missed beat is no failure; STALE_RUNNING allows ten
            log.warning("export.heartbeat_failed", export_id=export_id, error=repr(exc))


@contextlib.asynccontextmanager
async def heartbeat(export_id: int, attempt: int) -> AsyncIterator[None]:
    """Beat while the body runs (a task beside it, in the same scope)."""
    task = asyncio.create_task(_beat(export_id, attempt))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _scoped() -> tuple[str, list[Any]]:
    """The current scope's exports: a city's own, or the province-wide ones (a province
    scope also reads its cities' rows: those are their cities' sweeps')."""
    scope = current_scope()
    if scope.kind is ScopeKind.PROVINCE:
        return "tenant_id IS NULL AND province_id = $1", [scope.province_id]
    return "tenant_id = $1", [scope.tenant_id]


_WAITING = (
    "((status = 'queued' AND created_at < $2)"
    " OR (status = 'running' AND coalesce(heartbeat_at, created_at) < $3))"
)


async def waiting_exports(older_than: datetime) -> list[jobs.Recorded]:
    """The current scope's exports owed a run: queued before ``older_than``, or running
    with no heartbeat for ``STALE_RUNNING``. Those that have had ``MAX_ATTEMPTS`` runs
    are failed here with the reason; the others are what the sweep enqueues, each under
    the job id of its next attempt."""
    where, params = _scoped()
    now = clock.now()
    params = [*params, older_than, now - STALE_RUNNING]
    db = ExportJob._meta.db
    failed = await db.execute_query_dict(
        "UPDATE export_jobs SET status = 'failed', error = "
        f"replace($4, '{{attempts}}', attempts::text), finished_at = $5 "
        f"WHERE {where} AND {_WAITING} AND attempts >= $6 "
        "RETURNING id, tenant_id, province_id",
        [*params, INTERRUPTED, now, MAX_ATTEMPTS],
    )
    for row in failed:
        log.warning("export.abandoned", export_id=row["id"], attempts=MAX_ATTEMPTS)
        await announce_row(row["id"], row["tenant_id"], row["province_id"])
    rows = await db.execute_query_dict(
        f"SELECT id, attempts FROM export_jobs WHERE {where} AND {_WAITING} ORDER BY id",
        params,
    )
    extra: dict[str, Any] = {}
    if current_scope().kind is ScopeKind.PROVINCE:
        extra = {"province_id": current_scope().province_id}
    return [
        jobs.Recorded(
            "run_export",
            job_id(int(r["id"]), int(r["attempts"])),
            {"export_id": int(r["id"]), **extra},
        )
        for r in rows
    ]

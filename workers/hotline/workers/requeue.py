"""The stale-job sweep: work recorded in a committed row (an export, a registry import,
a published policy's notices) whose job never reached the queue — Redis unreachable
between the commit and the enqueue — or was lost from it, is enqueued again.

A cron fans out one ``requeue_stale`` per active city and per province (province-wide
exports have no city); each looks at its own rows under its own scope, and enqueues
every row waiting longer than ``STALE_AFTER`` under the row's stable job id. arq
refuses an id it already holds (queued, running, or finished within ``keep_result``),
so a row that was merely slow to start, or is running, is not run twice; the jobs
themselves skip a row that is already done (docs/operations.md, "Queues")."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hotline.platform import clock, jobs
from hotline.platform.tenancy import Scope, ScopeKind, current_scope, use_scope
from hotline.tenants.business.notify import waiting_policies
from hotline.tenants.business.registry_import import waiting_imports
from hotline.tenants.provinces.models import Province, Tenant
from hotline.tenants.statistics.export_runs import waiting_exports
from hotline.workers.retry import retrying
from hotline.workers.scoped import tenant_job

STALE_AFTER = timedelta(minutes=2)  # longer than an enqueue right after a commit takes


@retrying
async def requeue_stale_all(ctx: dict[str, Any]) -> int:
    """Enqueue ``requeue_stale`` per active city and per province, once per minute."""
    minute = clock.now().strftime("%Y%m%d%H%M")
    with use_scope(Scope.platform()):
        tenants: list[Any] = await Tenant.filter(is_active=True).values_list("id", flat=True)
        provinces: list[Any] = await Province.all().values_list("id", flat=True)
    for tenant_id in tenants:
        await jobs.enqueue(
            "requeue_stale", tenant_id=int(tenant_id), job_id=f"requeue:{tenant_id}:{minute}"
        )
    for province_id in provinces:
        await jobs.enqueue(
            "requeue_stale",
            tenant_id=None,
            province_id=int(province_id),
            job_id=f"requeue:p{province_id}:{minute}",
        )
    return len(tenants) + len(provinces)


async def requeue_current_scope() -> int:
    """Enqueue again what the current scope's rows still wait for; how many went to the
    queue now (an id arq still holds counts nothing)."""
    older_than = clock.now() - STALE_AFTER
    scope = current_scope()
    waiting = await waiting_exports(older_than)
    if scope.kind is ScopeKind.CITY:
        waiting += await waiting_imports(older_than)
        waiting += await waiting_policies(older_than)
    sent = 0
    for row in waiting:
        job = await jobs.enqueue(
            row.function, tenant_id=scope.tenant_id, job_id=row.job_id, **row.kwargs
        )
        sent += job is not None
    return sent


@tenant_job
async def requeue_stale(ctx: dict[str, Any]) -> int:
    """The job's city (or province): its stale rows enqueued again."""
    return await requeue_current_scope()

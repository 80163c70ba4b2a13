"""Statistics: a cron job fans out one refresh per city; each recomputes the city's
dirty days that have ended (docs/statistics.md, "Aggregates")."""

from __future__ import annotations

from typing import Any

from hotline.platform import clock, jobs
from hotline.platform.tenancy import Scope, use_scope
from hotline.tenants.provinces.models import Tenant
from hotline.tenants.statistics.aggregates import refresh_current_city
from hotline.workers.retry import retrying
from hotline.workers.scoped import tenant_job


@retrying
async def refresh_statistics_all(ctx: dict[str, Any]) -> int:
    """Enqueue ``refresh_statistics`` per active city, once per city and minute."""
    minute = clock.now().strftime("%Y%m%d%H%M")
    with use_scope(Scope.platform()):
        tenants = await Tenant.filter(is_active=True).only("id")
    for tenant in tenants:
        await jobs.enqueue(
            "refresh_statistics", tenant_id=tenant.id, job_id=f"stats:{tenant.id}:{minute}"
        )
    return len(tenants)


@tenant_job
async def refresh_statistics(ctx: dict[str, Any]) -> int:
    """The dirty, ended days of the job's city, recomputed (idempotent)."""
    return await refresh_current_city()

"""Deadline sweeps: a cron job fans out one job per active city and minute."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from hotline.platform import clock, jobs
from hotline.tenants.tickets.sweep import active_tenants, sweep_deadlines
from hotline.workers.retry import retrying
from hotline.workers.scoped import tenant_job


@retrying
async def sweep_all(ctx: dict[str, Any]) -> int:
    """Enqueue ``sweep_tenant`` per active city; the job id (city + minute) makes a second
    scheduler, or a repeated cron run, enqueue nothing more."""
    minute = clock.now().strftime("%Y%m%d%H%M")
    tenants = await active_tenants()
    for tenant in tenants:
        await jobs.enqueue(
            "sweep_tenant", tenant_id=tenant.id, job_id=f"sweep:{tenant.id}:{minute}"
        )
    return len(tenants)


@tenant_job
async def sweep_tenant(ctx: dict[str, Any]) -> dict[str, int]:
    return asdict(await sweep_deadlines())

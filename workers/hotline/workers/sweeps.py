"""Deadline sweeps: a cron job fans out one job per active city and minute."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import structlog

from hotline.platform import clock, jobs
from hotline.platform.observability import state
from hotline.platform.tenancy import Scope, current_tenant_id, use_scope
from hotline.tenants.business.warnings import warn_managers
from hotline.tenants.evidence.sweeps import processing_queue
from hotline.tenants.provinces.models import Tenant
from hotline.tenants.tickets.backlog import backlog
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


log = structlog.get_logger(__name__)


@tenant_job
async def sweep_tenant(ctx: dict[str, Any]) -> dict[str, int]:
    report = asdict(await sweep_deadlines())
    # the business extension's managers: a warning before their first-response deadline
    report["business_warned"] = await warn_managers()
    await publish_backlog()
    return report


async def publish_backlog() -> None:
    """The city's open/overdue work orders and evidence queue for ``/metrics``
    (``hotline.platform.observability.state``); a failure here never fails the sweep."""
    try:
        now = clock.now()
        counts = await backlog(now)
        waiting = await processing_queue(now)
        tenant_id = current_tenant_id()
        with use_scope(Scope.platform()):
            slug = (await Tenant.get(id=tenant_id)).slug
        await state.publish_city(
            slug, open_=counts.open, overdue=counts.overdue, evidence_queue=waiting
        )
    except Exception as exc:
        log.warning("metrics.backlog_failed", error=f"{type(exc).__name__}: {exc}")

"""Sweeps: unfinalized uploads after a few hours, and evidence past the city's retention
(counted from the ticket's closure; never evidence of an open ticket)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from tortoise.expressions import Subquery

from hotline.platform import clock, jobs, storage
from hotline.platform.tenancy import Scope, current_tenant_id, use_scope
from hotline.tenants.evidence import rules
from hotline.tenants.evidence.models import (
    Evidence,
    EvidenceStatus,
)
from hotline.tenants.evidence.policy import current_policy, job_id
from hotline.tenants.evidence.processing import PROCESS_TASK
from hotline.tenants.evidence.verification import VERIFY_TASK
from hotline.tenants.provinces.models import Tenant
from hotline.tenants.tickets.models import Ticket

_BATCH = 200


async def sweep_unfinalized(*, now: datetime | None = None) -> int:
    """In the current city: delete uploads never finalized; re-enqueue lost verifications
    and lost copy jobs of published evidence (publishing enqueues after its update)."""
    now = now or clock.now()
    swept = 0
    while rows := await Evidence.filter(
        status=EvidenceStatus.PENDING, upload_expires_at__lt=now - rules.UNFINALIZED_AFTER
    ).limit(_BATCH):
        await storage.delete(*[k for row in rows for k in row.stored_keys()])
        swept += await Evidence.filter(
            id__in=[r.id for r in rows], status=EvidenceStatus.PENDING
        ).update(status=EvidenceStatus.ABANDONED, object_key=None)
    stale = await Evidence.filter(
        status=EvidenceStatus.VERIFYING, finalized_at__lt=now - rules.VERIFY_STALE_AFTER
    ).only("id", "tenant_id")
    for row in stale:
        await jobs.enqueue(
            VERIFY_TASK,
            tenant_id=row.tenant_id,
            job_id=job_id("verify", row.id),
            evidence_id=row.id,
        )
    uncopied = await Evidence.filter(
        status=EvidenceStatus.VERIFIED,
        published=True,
        public_key=None,
        published_at__lt=now - rules.VERIFY_STALE_AFTER,
    ).only("id", "tenant_id")
    for row in uncopied:
        await jobs.enqueue(
            PROCESS_TASK,
            tenant_id=row.tenant_id,
            job_id=job_id(f"publish-{now:%Y%m%d%H}", row.id),
            evidence_id=row.id,
        )
    return swept


async def apply_retention(*, now: datetime | None = None) -> int:
    """In the current city: remove the objects of evidence whose ticket closed longer ago
    than the city's retention; the rows stay, as `expired`. Open tickets are never touched."""
    now = now or clock.now()
    policy = await current_policy()
    cutoff = rules.retention_cutoff(now, policy.retention_days)
    expired = 0
    while True:
        ticket_ids = Subquery(
            Ticket.filter(closed_at__lt=cutoff)
            .exclude(status__in=list(rules.OPEN_TICKET_STATUSES))
            .values("id")
        )
        rows = await Evidence.filter(
            status=EvidenceStatus.VERIFIED, ticket_id__in=ticket_ids
        ).limit(_BATCH)
        if not rows:
            return expired
        await storage.delete(*[k for row in rows for k in row.stored_keys()])
        expired += await Evidence.filter(id__in=[r.id for r in rows]).update(
            status=EvidenceStatus.EXPIRED,
            expired_at=now,
            object_key=None,
            thumbnail_key=None,
            poster_key=None,
            public_key=None,
        )


async def _in_every_city(step: Callable[[], Awaitable[int]]) -> int:
    with use_scope(Scope.platform()):
        cities = await Tenant.all()
    total = 0
    for city in cities:
        with use_scope(Scope.city(city.id, city.province_id)):
            total += await step()
    return total


async def sweep_unfinalized_everywhere() -> int:
    return await _in_every_city(sweep_unfinalized)


async def apply_retention_everywhere() -> int:
    return await _in_every_city(apply_retention)


_QUEUE = """
SELECT count(*) AS waiting FROM evidence
WHERE tenant_id = $1 AND (
    status = 'verifying'
    OR (status = 'verified' AND upload_expires_at > $2 AND processed_at IS NULL)
)
"""


async def processing_queue(now: datetime) -> int:
    """The current city's evidence waiting to be hashed or processed (the gauge
    ``hotline_evidence_queue``): read through ``evidence_status`` by the minute sweep;
    an item verified more than a day ago and never processed counts no more (its job
    failed for good: the job metrics say so)."""
    rows = await Evidence._meta.db.execute_query_dict(
        _QUEUE, [current_tenant_id(), now - timedelta(days=1)]
    )
    return int(rows[0]["waiting"])

"""The outbox relay: hands due outbox rows to delivery jobs (cron, every few seconds)."""

from __future__ import annotations

from typing import Any

from hotline.platform import jobs, outbox
from hotline.platform.tenancy import Scope, use_scope
from hotline.workers.retry import retrying


async def _enqueue(row: outbox.Relayed) -> None:
    # One job id per (message, attempt): a row handed out twice (its lease ran out while
    # the job still waited in the queue) is enqueued once. arq's job keys are global to
    # the Redis database, so the id carries the deployment prefix.
    await jobs.enqueue(
        "deliver_message",
        tenant_id=row.tenant_id,
        job_id=f"outbox:{row.outbox_id}:{row.attempt}",
        outbox_id=row.outbox_id,
    )


@retrying
async def relay_outbox(ctx: dict[str, Any], *, limit: int = 500) -> int:
    """Relay due rows until fewer than ``limit`` are due; returns how many were handed out."""
    total = 0
    with use_scope(Scope.platform()):
        while True:
            handed = await outbox.relay_due(_enqueue, limit=limit)
            total += handed
            if handed < limit:
                return total

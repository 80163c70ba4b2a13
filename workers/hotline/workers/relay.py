"""The outbox relay: hands due outbox rows to delivery jobs (cron, every few seconds)."""

from __future__ import annotations

from typing import Any

from hotline.platform import jobs, outbox
from hotline.platform.tenancy import Scope, use_scope
from hotline.workers.retry import retrying


async def _enqueue(row: outbox.Relayed) -> None:
    # One job id per claim (message, attempt, lease): a row handed out again because its
    # worker vanished gets a new job at once — the dead worker's job stays blocked in
    # arq until arq's own timeout. Two jobs for one message never deliver at once: each
    # takes the message's lease lock first (hotline.platform.outbox.lease).
    lease_ms = int(row.lease_until.timestamp() * 1000)
    await jobs.enqueue(
        "deliver_message",
        tenant_id=row.tenant_id,
        job_id=f"outbox:{row.outbox_id}:{row.attempt}:{lease_ms}",
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

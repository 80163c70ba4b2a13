"""Delivering outbox messages, in the messages' city: a batch per job (one message per job
for jobs enqueued before batches existed). Each job holds its messages' leases while it
delivers (renewed as it runs); messages another live job holds are left to it."""

from __future__ import annotations

from typing import Any

from hotline.platform.outbox.lease import holding
from hotline.tenants.notifications.delivery import deliver_batch as deliver_outbox_batch
from hotline.tenants.notifications.delivery import deliver_outbox
from hotline.workers.scoped import tenant_job


@tenant_job
async def deliver_message(ctx: dict[str, Any], *, outbox_id: int) -> str:
    async with holding([outbox_id]) as held:
        if not held:
            return "busy"
        return await deliver_outbox(outbox_id=outbox_id)


@tenant_job
async def deliver_batch(ctx: dict[str, Any], *, outbox_ids: list[int]) -> dict[str, int]:
    async with holding(outbox_ids) as held:
        counts = await deliver_outbox_batch(outbox_ids=held) if held else {}
    busy = len(set(outbox_ids)) - len(held)
    return {**counts, "busy": busy} if busy else counts
